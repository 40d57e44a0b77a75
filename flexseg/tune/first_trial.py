"""The config's own model and training as a search's first trial (`tune.start_from_config`).

A search that starts from what the user already has shows, in its own table and under the
same training, whether anything it found beats it. `config_values` finds the hyperparameter
values whose trial builds exactly the config's model and trains with its [train] values (an
architecture's space need not name its hyperparameters after its settings: flexunet's
`base_kernel` sets `base_kernels`); `start_with` makes an oracle propose them first.

Example:
    >>> from flexseg.config import config_from_dict
    >>> config = config_from_dict({"model": {"name": "flexunet", "base_filters": 8,
    ...     "num_layers": 3, "base_kernels": [5, 5], "dropout_rate": 0.0},
    ...     "data": {"root": "d", "palette": "mvtec_screw"},
    ...     "train": {"learning_rate": 3e-3, "loss": "cce+dice"},
    ...     "tune": {"start_from_config": True}})
    >>> values = config_values(SearchSpace(config, image_size=(64, 64)))
    >>> values["base_filters"], values["base_kernel"], values["learning_rate"]
    (8, 5, 0.003)
"""

from __future__ import annotations

import inspect
import json
import math
from typing import Any

from flexseg.config import ConfigError
from flexseg.models.catalogue.registry import architecture_of
from flexseg.tune.records import TrialRecord
from flexseg.tune.space import ARCHITECTURE, SearchSpace, TrialPlan

PASSES = 3  # rounds over the hyperparameters (one does where each setting has its own)


def config_values(space: SearchSpace) -> dict[str, Any]:
    """The values of `space`'s hyperparameters whose trial is the config's own model and
    training; raises ConfigError naming each setting the space cannot reach."""
    import keras_tuner

    config = space.config  # its architecture is among those searched (checked on loading)
    own = _settings(config.model)
    wanted = {**own, **config.train}

    def attempt(values: dict[str, Any]) -> tuple[Any, list[str]]:
        hp = keras_tuner.HyperParameters()
        hp.values = dict(values)
        return hp, _differences(space.plan(hp), own, config.train)

    hp, differences = attempt({ARCHITECTURE: space.own_architecture})
    for _ in range(PASSES):
        before = len(differences)
        for parameter in [p for p in hp.space if hp.is_active(p) and p.name != ARCHITECTURE]:
            for value in _candidates(parameter, wanted):
                tried, left = attempt({**hp.values, parameter.name: value})
                if len(left) < len(differences):
                    hp, differences = tried, left
        if not differences or len(differences) == before:
            break
    if differences:
        raise ConfigError(
            f"{config.source}: tune.start_from_config: the search space cannot reach the "
            f"config's own {'; '.join(differences)}. Widen [tune] or "
            f"[tune.settings.{space.own_architecture}] to include them, or set "
            "tune.start_from_config = false."
        )
    return dict(hp.values)


def start_with(oracle, values: dict[str, Any]) -> None:
    """Make `oracle` (KerasTuner's random, Bayesian or Hyperband) propose `values` as its next
    random sample unless a trial has tried them (a resumed search does not repeat it)."""
    space = oracle.get_space()
    space.values = dict(values)
    space.ensure_active_values()  # as the oracle records a trial's values
    first = dict(space.values)
    sample = oracle._random_values  # what all three oracles draw new values from

    def first_then_sampled():
        return dict(first) if not oracle._duplicate(first) else sample()

    oracle._random_values = first_then_sampled


def started_from(records: list[TrialRecord], values: dict[str, Any]) -> TrialRecord | None:
    """The record of the trial that ran `values` (Hyperband adds its own `tuner/` values)."""
    return next(
        (r for r in records if all(r.hyperparameters.get(k) == v for k, v in values.items())),
        None,
    )


def _settings(model: dict[str, Any]) -> dict[str, Any]:
    """Every setting a [model] section builds with: its own, its preset's and the defaults."""
    entry, preset = architecture_of(model["name"])
    given = {k: v for k, v in model.items() if k != "name" and v is not None}  # None: default
    settings = entry.resolve_settings({**(preset.settings if preset else {}), **given})
    known = {k: v for k, v in settings.items() if v is not inspect.Parameter.empty}
    return json.loads(json.dumps(known, default=repr))  # tuples as lists


def _differences(plan: TrialPlan, wanted: dict[str, Any], train: dict[str, Any]) -> list[str]:
    """`section.key = the config's value (the nearest trial: the plan's)` for each value the
    plan's trial would change; `wanted`: the config's model settings, as `_settings` gives."""
    built = _settings(plan.model)
    found = [
        f"model.{key} = {wanted.get(key)!r} (the nearest trial: {built.get(key)!r})"
        for key in sorted(set(built) | set(wanted))
        if not _same(built.get(key), wanted.get(key))
    ]
    return found + [
        f"train.{key} = {train.get(key)!r} (the nearest trial: {value!r})"
        for key, value in plan.train.items()
        if not _same(value, train.get(key))
    ]


def _candidates(parameter, wanted: dict[str, Any]) -> list[Any]:
    """The values worth trying for a hyperparameter: a setting of the same name first (where
    the hyperparameter allows it), then every value it can take (a stepless float: its
    default)."""
    from keras_tuner.src.engine.hyperparameters import hp_types

    name = parameter.name.rsplit("/", 1)[-1]
    same = [wanted[name]] if name in wanted else []
    if isinstance(parameter, hp_types.Fixed):
        return [parameter.value]
    if isinstance(parameter, hp_types.Boolean):
        return [value for value in same if isinstance(value, bool)] + [False, True]
    if isinstance(parameter, hp_types.Choice):
        return [value for value in same if value in parameter.values] + list(parameter.values)
    low, high, step = parameter.min_value, parameter.max_value, parameter.step
    inside = [v for v in same if isinstance(v, int | float) and low <= v <= high]
    if step is None or getattr(parameter, "sampling", "linear") != "linear":
        return [*inside, parameter.default]
    count = round((high - low) / step) + 1
    grid = [low + index * step for index in range(count) if low + index * step <= high + 1e-12]
    return inside + grid


def _same(a: Any, b: Any) -> bool:
    """Equal, floats to rounding and lists element by element."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return not isinstance(b, bool) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b
