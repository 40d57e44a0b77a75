"""The search space of `flexseg tune`: the architecture itself (when several are searched),
each architecture's own declared space, the learning rate, the loss and the batch size.

An architecture's settings are conditional on it being chosen (KerasTuner's conditional
scopes), and named `ARCHITECTURE/NAME` when several architectures are searched, so two
architectures' `base_filters` never mix. `[tune.settings.ARCHITECTURE]` fixes a setting
(`num_layers = 4`) or narrows its choices (`base_filters = [8, 16]`); [tune] does the same
for `learning_rate`, `loss` and `batch_size`.

Example:
    >>> import keras_tuner
    >>> from flexseg.config import config_from_dict
    >>> config = config_from_dict({"data": {"root": "d", "palette": "mvtec_screw"},
    ...     "tune": {"architectures": ["flexunet", "unet"], "loss": "cce+dice",
    ...              "settings": {"unet": {"num_layers": 3}}}})
    >>> space = SearchSpace(config, image_size=(64, 64))
    >>> hp = keras_tuner.HyperParameters()
    >>> plan = space.plan(hp)
    >>> plan.architecture, plan.train["loss"], sorted(plan.model)[:3]
    ('flexunet', 'cce+dice', ['base_filters', 'base_kernels', 'dropout_rate'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flexseg.config import Config, ConfigError
from flexseg.models.catalogue.registry import architecture_of, model_entry

ARCHITECTURE = "architecture"  # the name of the hyperparameter that picks one


@dataclass(frozen=True)
class TrialPlan:
    """What a trial changes in the config: its architecture, [model] and [train] values."""

    architecture: str
    model: dict[str, Any]
    train: dict[str, Any]


class SearchSpace:
    """The space of a config's [tune] section, at the training images' size."""

    def __init__(self, config: Config, image_size: tuple[int, int]):
        self.config = config
        self.tune = config.tune
        self.shape = (*image_size, config.data["channels"])
        own, _ = architecture_of(config.model["name"])
        self.own_architecture = own.name
        self.architectures = list(self.tune["architectures"] or [own.name])
        self.prefixed = len(self.architectures) > 1
        for name in self.architectures:
            self._check_declared(name)

    def plan(self, hp) -> TrialPlan:
        """Declare the space in `hp` and return the values chosen for this trial."""
        if self.prefixed:
            architecture = hp.Choice(ARCHITECTURE, self.architectures)
        else:
            architecture = hp.Fixed(ARCHITECTURE, self.architectures[0])
        with hp.conditional_scope(ARCHITECTURE, [architecture]):
            narrowing = self._narrowing(architecture)
            view = ArchitectureChoices(hp, architecture, narrowing, prefixed=self.prefixed)
            settings = model_entry(architecture).search_space(view, self.shape)
        batch_sizes = self.tune["batch_size"] or [self.config.train["batch_size"]]
        train = {
            "learning_rate": self._learning_rate(hp),
            "loss": _choose(hp, "loss", self.tune["loss"]),
            "batch_size": _choose(hp, "batch_size", batch_sizes),
        }
        corrections = self.tune["class_weight_correction"]
        if corrections not in ([], None):  # otherwise train's value stays
            train["class_weight_correction"] = _choose(hp, "class_weight_correction", corrections)
        return TrialPlan(architecture, self._model_section(architecture, settings), train)

    def _model_section(self, architecture: str, settings: dict[str, Any]) -> dict[str, Any]:
        """The config's [model] with the searched settings; another architecture's starts empty
        (the config's settings are for its own architecture)."""
        if architecture == self.own_architecture:
            return {**self.config.model, **settings}
        return {"name": architecture, **settings}

    def _learning_rate(self, hp) -> float:
        rate = self.tune["learning_rate"]
        if isinstance(rate, list) and len(rate) == 2:
            return hp.Float("learning_rate", rate[0], rate[1], sampling="log")
        return hp.Fixed("learning_rate", rate[0] if isinstance(rate, list) else rate)

    def _narrowing(self, architecture: str) -> dict[str, Any]:
        return dict(self.tune["settings"].get(architecture, {}))

    def _check_declared(self, architecture: str) -> None:
        """The architecture declares a space, and [tune.settings] names only its choices."""
        import keras_tuner

        entry = model_entry(architecture)
        if entry.search_space is None:
            raise ConfigError(
                f"{self.config.source}: architecture {architecture!r} declares no search "
                "space; search one that does, or register one with "
                "register_model(..., search_space=...)."
            )
        view = ArchitectureChoices(
            keras_tuner.HyperParameters(), architecture, self._narrowing(architecture)
        )
        entry.search_space(view, self.shape)
        unknown = sorted(set(self._narrowing(architecture)) - view.asked)
        if unknown:
            raise ConfigError(
                f"{self.config.source}: tune.settings.{architecture}: {', '.join(unknown)} "
                f"is not among what {architecture}'s search varies: "
                f"{', '.join(sorted(view.asked))}."
            )


class ArchitectureChoices:
    """An architecture's view of KerasTuner's `HyperParameters`: what its search space asks
    for, named `ARCHITECTURE/NAME` when several architectures are searched, and fixed or
    narrowed by [tune.settings]."""

    def __init__(self, hp, architecture: str, narrowing: dict[str, Any], prefixed: bool = False):
        self.hp, self.architecture, self.narrowing = hp, architecture, narrowing
        self.prefixed = prefixed
        self.asked: set[str] = set()

    # KerasTuner's method names, so that a search space takes this view or the real thing.

    def Choice(self, name: str, values, **kwargs):
        def declare():
            return self.hp.Choice(self._name(name), values, **kwargs)

        return self._pick(name, list(values), declare)

    def Int(self, name: str, min_value: int, max_value: int, step: int = 1, **kwargs):
        def declare():
            return self.hp.Int(self._name(name), min_value, max_value, step=step, **kwargs)

        return self._pick(name, list(range(min_value, max_value + 1, step or 1)), declare)

    def Float(self, name: str, min_value: float, max_value: float, **kwargs):
        return self._pick(
            name,
            lambda value: min_value <= value <= max_value,
            lambda: self.hp.Float(self._name(name), min_value, max_value, **kwargs),
            shown=f"[{min_value}, {max_value}]",
        )

    def Boolean(self, name: str, default: bool = False, **kwargs):
        return self._pick(
            name, [False, True], lambda: self.hp.Boolean(self._name(name), default, **kwargs)
        )

    def Fixed(self, name: str, value, **kwargs):
        self.asked.add(name)
        return self.hp.Fixed(self._name(name), value, **kwargs)

    def _name(self, name: str) -> str:
        return f"{self.architecture}/{name}" if self.prefixed else name

    def _pick(self, name: str, allowed, declare, shown: str | None = None):
        """The declared hyperparameter, or the user's value or narrowed choices of it."""
        self.asked.add(name)
        if name not in self.narrowing:
            return declare()
        given = self.narrowing[name]
        values = given if isinstance(given, list) else [given]
        fits = allowed if callable(allowed) else (lambda value: value in allowed)
        outside = [value for value in values if not fits(value)]
        if not values or outside:
            raise ConfigError(
                f"tune.settings.{self.architecture}.{name} = {given!r}: "
                f"{outside or 'no value'} outside what the search allows "
                f"({shown or allowed})."
            )
        return _choose(self.hp, self._name(name), values)


def _choose(hp, name: str, values):
    """A choice among `values`, or a fixed value when there is only one."""
    values = values if isinstance(values, list) else [values]
    return hp.Choice(name, values) if len(values) > 1 else hp.Fixed(name, values[0])
