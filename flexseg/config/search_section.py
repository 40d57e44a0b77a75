"""The checks of a config's [tune] section that its schema cannot express: registered
architectures (the config's own among them to start from it), constraint syntax,
learning-rate range, loss names, batch sizes, class-weight corrections, and the
per-architecture [tune.settings] tables. They run when the config loads, before any trial.

Example:
    >>> check_search_section({"architectures": ["unet"], "constraints": ["macs<=5e9"],
    ...     "learning_rate": [1e-4, 1e-2], "loss": "cce", "batch_size": [2, 4],
    ...     "class_weight_correction": [0, 0.5],
    ...     "settings": {"unet": {"num_layers": 4}}}, "flexunet", "run.toml")
"""

from __future__ import annotations

from typing import Any

from flexseg.errors import ConfigError, FlexsegError


def check_search_section(tune: dict[str, Any], model_name: str, source: str) -> None:
    """Raise naming the first [tune] value that a search could not use."""
    from flexseg.models.catalogue.registry import architecture_of, list_models
    from flexseg.run.losses import get_loss
    from flexseg.tune.costs import Constraint

    def fail(key: str, problem: str):
        raise ConfigError(f"{source}: tune.{key}: {problem}")

    architectures = tune["architectures"] or [architecture_of(model_name)[0].name]
    for name in architectures:
        if not isinstance(name, str) or name not in list_models():
            fail("architectures", f"{name!r} is not a registered architecture ({_known()}).")
    own = architecture_of(model_name)[0].name
    if tune.get("start_from_config") and own not in architectures:
        fail(
            "start_from_config",
            f"the config's model is a {own}, which the search does not include "
            f"({', '.join(architectures)}); add it to tune.architectures or set "
            "tune.start_from_config = false.",
        )
    for text in tune["constraints"]:
        try:
            Constraint.parse(text)
        except FlexsegError as error:
            fail("constraints", str(error))
    rate = tune["learning_rate"]
    rates = rate if isinstance(rate, list) else [rate]
    numbers = all(isinstance(r, int | float) and not isinstance(r, bool) for r in rates)
    valid_range = numbers and len(rates) == 2 and 0 < rates[0] < rates[1]
    if not numbers or not (valid_range or (len(rates) == 1 and rates[0] > 0)):
        fail("learning_rate", f"expected [low, high] with 0 < low < high, or one positive "
                              f"number; got {rate!r}.")  # fmt: skip
    for loss in tune["loss"] if isinstance(tune["loss"], list) else [tune["loss"]]:
        if not isinstance(loss, str):
            fail("loss", f"expected loss names such as 'cce+dice'; got {loss!r}.")
        try:
            get_loss(loss)
        except FlexsegError as error:
            fail("loss", str(error))
    sizes = tune["batch_size"] if isinstance(tune["batch_size"], list) else [tune["batch_size"]]
    if not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in sizes):
        fail("batch_size", f"expected a batch size or a list of them (>= 1); got {sizes!r}.")
    corrections = tune["class_weight_correction"]
    corrections = corrections if isinstance(corrections, list) else [corrections]
    if not all(isinstance(c, int | float) and not isinstance(c, bool) and c >= 0
               for c in corrections):  # fmt: skip
        fail(
            "class_weight_correction",
            f"expected a number >= 0 or a list of them (0: no correction); got {corrections!r}.",
        )
    for name, table in tune["settings"].items():
        if name not in architectures:
            fail(
                "settings",
                f"[tune.settings.{name}] is for an architecture the search does not include "
                f"({', '.join(architectures)}); add it to tune.architectures or drop it.",
            )
        if not isinstance(table, dict):
            fail("settings", f"[tune.settings.{name}] must be a table; got {table!r}.")


def _known() -> str:
    from flexseg.models.catalogue.registry import list_models

    return "registered: " + ", ".join(list_models())
