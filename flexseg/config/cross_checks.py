"""The checks of a config that involve two keys or more: they run when the config loads, so
a run never starts with settings that its later steps would refuse.

Example:
    >>> from flexseg.config import ConfigError, config_from_dict
    >>> try:
    ...     config_from_dict({"data": {"root": "d", "palette": "mvtec_screw"},
    ...                       "infer": {"tile_size": 64, "tile_overlap": 64}})
    ... except ConfigError as error:
    ...     print(str(error).split(": ", 1)[1][:60])
    infer.tile_overlap=64 must be smaller than infer.tile_size=6
"""

from __future__ import annotations

from typing import Any

from flexseg.data.palette import Palette
from flexseg.errors import ConfigError, FlexsegError


def check_across_keys(sections: dict[str, dict[str, Any]], palette: Palette, source: str) -> None:
    """Raise a ConfigError naming the first pair of keys in a config's checked `sections`
    (with its parsed `palette`; `source` names the file) that cannot work together."""
    problems = (
        _train(sections["train"]),
        _distribution(sections["train"]),
        _infer(sections["infer"]),
        _data(sections["data"], sections["model"], palette),
        _correction(sections["train"], sections["tune"], sections["data"], palette),
    )
    for problem in problems:
        if problem:
            raise ConfigError(f"{source}: {problem}")


def _train(train: dict) -> str | None:
    if train["weight_decay"] is not None and train["optimizer"] != "adamw":
        return (
            f"train.weight_decay={train['weight_decay']} applies to optimizer adamw only; set "
            'train.optimizer = "adamw" or remove train.weight_decay.'
        )
    if train["lr_schedule"] == "cosine" and train["reduce_lr_patience"]:
        return (
            'train.lr_schedule = "cosine" sets the learning rate at every step, so '
            "train.reduce_lr_patience cannot also change it; set train.reduce_lr_patience = 0."
        )
    if train["clipvalue"] is not None and train["clipnorm"] is not None:
        return (
            "train.clipvalue and train.clipnorm are both set; Keras clips one way only: "
            "remove one of them."
        )
    if train["reduce_lr_patience"] and train["min_learning_rate"] > train["learning_rate"]:
        return (
            f"train.min_learning_rate={train['min_learning_rate']:g} is above "
            f"train.learning_rate={train['learning_rate']:g}, so the rate could never be "
            "reduced; lower train.min_learning_rate."
        )
    return None


PROCESS_KEYS = ("coordinator", "num_processes", "process_id")


def _correction(train: dict, tune: dict, data: dict, palette: Palette) -> str | None:
    """A class-weight correction needs positive class weights to correct for."""
    searched = tune["class_weight_correction"]
    searched = searched if isinstance(searched, list) else [searched]
    key = "train" if train["class_weight_correction"] else "tune"
    if not any([train["class_weight_correction"], *searched]):
        return None
    if data["class_weights"] is None:
        return (
            f"{key}.class_weight_correction is set but data.class_weights is not: there is no "
            "weighting to correct. Set data.class_weights, or remove the correction."
        )
    try:
        weights = palette.weights(data["class_weights"])
    except FlexsegError:
        return None  # _data names the problem
    if not all(isinstance(w, int | float) and w > 0 for w in weights):
        return (
            f"{key}.class_weight_correction divides by data.class_weights, which must then "
            f"all be positive; got {weights}."
        )
    return None


def _distribution(train: dict) -> str | None:
    chosen = [k for k in ("devices", *PROCESS_KEYS) if train[k] is not None]
    if train["distribution"] == "none" and chosen:
        return (
            f"train.{chosen[0]} applies to data-parallel training only; set "
            f'train.distribution = "data_parallel" or remove train.{chosen[0]}.'
        )
    devices = train["devices"]
    if isinstance(devices, list) and (
        not devices
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in devices)
        or len(set(devices)) != len(devices)
    ):
        return (
            f"train.devices {devices!r} must be a number of devices, or a list of distinct "
            "local device indices (0, 1, ...)."
        )
    given = [k for k in PROCESS_KEYS if train[k] is not None]
    if given and len(given) != len(PROCESS_KEYS):
        missing = [f"train.{k}" for k in PROCESS_KEYS if train[k] is None]
        return (
            f"train.{given[0]} needs {' and '.join(missing)} too: several processes need "
            "all three (or none, and Keras's KERAS_DISTRIBUTION_* environment variables)."
        )
    if given and train["process_id"] >= train["num_processes"]:
        return (
            f"train.process_id={train['process_id']} must be below "
            f"train.num_processes={train['num_processes']} (ids count from 0)."
        )
    return None


def _infer(infer: dict) -> str | None:
    tile, overlap = infer["tile_size"], infer["tile_overlap"]
    if tile is not None and overlap >= tile:
        return (
            f"infer.tile_overlap={overlap} must be smaller than infer.tile_size={tile} "
            "(tiles would not advance); lower infer.tile_overlap or raise infer.tile_size."
        )
    return None


def _data(data: dict, model: dict, palette: Palette) -> str | None:
    if data["mask_format"] == "index" and data["off_palette"] != "error":
        return (
            f'data.off_palette = "{data["off_palette"]}" applies to color masks only; index '
            "masks hold class ids (255: ignored) and any other value is an error. Remove "
            'data.off_palette, or use mask_format = "color".'
        )
    if data["scale"] == "unit" and _model_settings(model).get("input_normalize"):
        return (
            'data.scale = "unit" gives the model 0-1 pixels, and the model divides them by '
            "255 again (model.input_normalize is true, its default): set "
            'model.input_normalize = false, or data.scale = "raw".'
        )
    size = data["image_size"]
    if size is not None and not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size
    ):
        return f"data.image_size {size!r} must be two positive integers [height, width]."
    if data["class_weights"] is not None:
        try:
            palette.weights(data["class_weights"])
        except FlexsegError as error:
            return f"data.class_weights {error}"
    shape = model.get("input_shape")
    if shape is None or len(shape) != 3:
        return None
    if shape[-1] != data["channels"]:
        return (
            f"model.input_shape {list(shape)} has {shape[-1]} channels but data.channels is "
            f"{data['channels']}; make them agree, or drop model.input_shape (the data sets it)."
        )
    if size is not None and list(shape[:2]) != list(size):
        return (
            f"model.input_shape {list(shape)} disagrees with data.image_size {list(size)}; "
            "drop model.input_shape (the data sets it) or make them agree."
        )
    return None


def _model_settings(model: dict) -> dict:
    """Every setting the model will be built with: the config's, its preset's, the defaults."""
    from flexseg.models.catalogue.registry import architecture_of

    entry, preset = architecture_of(model["name"])
    given = {k: v for k, v in model.items() if k != "name"}
    return entry.resolve_settings({**(preset.settings if preset else {}), **given})
