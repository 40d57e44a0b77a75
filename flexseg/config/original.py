"""Read TensorFlow-FlexUNet's `train_eval_infer.config` and convert it to flexseg's sections.

Values are parsed with `ast.literal_eval` (never `eval`); a value that is no Python literal is
an error naming its section and key. Every key the original reads maps to its flexseg
equivalent; the others are returned as warnings, one per key.
"""

from __future__ import annotations

import ast
import configparser
from pathlib import Path, PurePosixPath
from typing import Any

from flexseg.data.palette import Palette
from flexseg.errors import FlexsegError
from flexseg.models.catalogue.registry import model_entry

ARCHITECTURES = {
    "TensorFlowFlexUNet": "flexunet",
    "TensorFlowUNet": "unet",
    "TensorFlowAttentionUNet": "attention_unet",
    "TensorFlowUNet3Plus": "unet3plus",
    "TensorFlowMultiResUNet": "multires_unet",
    "TensorFlowSharpUNet": "sharp_unet",
    "TensorFlowU2Net": "u2net",
    "TensorFlowSwinUNet": "swin_unet",
    "TensorFlowTransUNet": "transunet",
    "TensorFlowDeepLabV3Plus": "deeplabv3plus",
    "TensorFlowEfficientUNet": "efficient_unet",
    "TensorFlowEfficientNetB7UNet": "efficient_unet",
}
LOSSES = {
    "categorical_crossentropy": "cce",
    "dice_loss": "dice",
    "bce_dice_loss": "cce+dice",
    "focal_loss": "focal",
    "tversky_loss": "tversky",
}
MODEL_SETTINGS = (
    "num_classes", "base_filters", "base_kernels", "num_layers", "dropout_rate", "dilation",
    "activation", "normalization", "input_normalize", "final_activation",
)  # fmt: skip


def read_original(path: Path) -> dict[str, dict[str, Any]]:
    """The ini file as {section: {key: Python value}}."""
    parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
    except (OSError, configparser.Error) as error:
        raise FlexsegError(f"{path}: cannot read the ini config: {error}") from error
    values: dict[str, dict[str, Any]] = {}
    for section in parser.sections():
        try:
            items = parser.items(section)
        except configparser.Error as error:
            raise FlexsegError(f"{path}: [{section}]: {error}") from None
        for key, text in items:
            try:
                value = ast.literal_eval(text)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise FlexsegError(
                    f"{path}: [{section}] {key} = {text!r} is not a Python literal "
                    "(numbers, quoted strings, tuples, lists, dicts, True/False)."
                ) from None
            values.setdefault(section, {})[key] = value
    return values


def convert_original(path: str | Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """(flexseg config sections, warnings about keys flexseg does not use)."""
    path = Path(path)
    old = read_original(path)
    new: dict[str, dict[str, Any]] = {s: {} for s in ("model", "data", "train", "eval", "infer")}
    warnings: list[str] = []
    used: set[tuple[str, str]] = set()

    def take(section: str, key: str, default: Any = None, expect: tuple[type, ...] = ()) -> Any:
        """The value of [section] key (marked used), checked to be one of `expect`'s types."""
        if key not in old.get(section, {}):
            return default
        used.add((section, key))
        value = old[section][key]
        wrong_bool = isinstance(value, bool) and bool not in expect
        if expect and (wrong_bool or not isinstance(value, expect)):
            names = " or ".join(t.__name__ for t in expect)
            raise FlexsegError(f"{path}: [{section}] {key} = {value!r} must be a {names}.")
        return value

    model, data, train, infer = new["model"], new["data"], new["train"], new["infer"]
    class_name = take("model", "model", "TensorFlowFlexUNet", (str,))
    if class_name not in ARCHITECTURES:
        raise FlexsegError(
            f"{path}: [model] model = {class_name!r} is not one of the original's models "
            f"({', '.join(ARCHITECTURES)})."
        )
    model["name"] = ARCHITECTURES[class_name]
    if class_name == "TensorFlowEfficientNetB7UNet":
        model["backbone"] = "efficientnetb7"
    accepted = model_entry(model["name"]).setting_names()
    for key in MODEL_SETTINGS:
        value = take("model", key)
        if value is None:
            continue
        if key not in accepted:
            warnings.append(
                f"[model] {key}: {model['name']} has no such setting (FlexUNet's); ignored."
            )
            continue
        model[key] = list(value) if isinstance(value, tuple) else value
    height, width = (
        take("model", "image_height", None, (int,)),
        take("model", "image_width", None, (int,)),
    )
    if height is not None and width is not None:
        data["image_size"] = [height, width]
    channels = take("model", "image_channels", None, (int,))
    if channels is not None:
        data["channels"] = channels

    optimizer = take("model", "optimizer", None, (str,))
    if optimizer is not None:
        train["optimizer"] = str(optimizer).lower()
    for key in ("learning_rate", "clipvalue"):
        if take("model", key) is not None:
            train[key] = old["model"][key]
    loss = take("model", "loss", None, (str,))
    if loss is not None:
        train["loss"] = LOSSES.get(loss, loss)
    metrics = take("model", "metrics", [], (list, tuple))
    if "dice_coef_multiclass" in metrics:
        train["legacy_dice_metric"] = True
        warnings.append(
            "[model] metrics: flexseg reports foreground mIoU and per-class IoU; the original's "
            "dice_coef_multiclass (soft pixel accuracy) is kept only as a labelled legacy metric."
        )

    for key in ("epochs", "batch_size", "patience"):
        if take("train", key) is not None:
            train[key] = old["train"][key]
    if take("train", "learning_rate_reducer", False, (bool, int)):
        train["reduce_lr_factor"] = take("train", "reducer_factor", 0.5)
        train["reduce_lr_patience"] = take("train", "reducer_patience", 4)
    else:
        train["reduce_lr_patience"] = 0
        for key in ("reducer_factor", "reducer_patience"):
            take("train", key)
    if take("train", "epoch_change_infer", False, (bool, int)):
        train["epoch_change_images"] = take("train", "num_infer_images", 6)
    else:
        train["epoch_change_images"] = 0
        take("train", "num_infer_images")
    take("train", "epoch_change_infer_dir")
    train["run_dir"] = f"runs/{path.resolve().parent.name}"
    for key in ("model_dir", "eval_dir"):
        if take("train", key) is not None:
            warnings.append(f"[train] {key}: flexseg writes models and logs under train.run_dir.")

    data["root"] = _dataset_root(path, old, take, warnings)
    data["palette"] = _palette(path, take)
    for section, target in (("infer", "input"), ("tiledinfer", "input")):
        if take(section, "images_dir") is not None:
            infer[target] = old[section]["images_dir"]
        if take(section, "output_dir") is not None:
            infer["output"] = old[section]["output_dir"]
    if take("tiledinfer", "overlapping") is not None:
        infer["tile_overlap"] = old["tiledinfer"]["overlapping"]
        infer["tile_size"] = width or 512
    if take("image", "color_order", "RGB") != "RGB":
        warnings.append("[image] color_order: flexseg reads images as RGB.")
    if take("mask", "mask_file_format", ".png") != ".png":
        warnings.append("[mask] mask_file_format: flexseg reads .png masks.")
    take("mask", "mask_datatype")
    take("dataset", "class_name")
    if take("model", "generator", False):
        data["augmentation"] = _augmentation(path, old, take, warnings)

    for section, keys in old.items():
        for key in keys:
            if (section, key) not in used:
                warnings.append(f"[{section}] {key}: not supported by flexseg; ignored.")
    return {name: values for name, values in new.items() if values}, warnings


def _dataset_root(path, old, take, warnings) -> str:
    images = take("train", "images_dir", None, (str,)) or take(
        "train", "image_datapath", None, (str,)
    )
    take("train", "masks_dir")
    take("train", "mask_datapath")
    for section in ("valid", "test"):
        for key in ("images_dir", "masks_dir", "image_datapath", "mask_datapath"):
            take(section, key)
    if not images:
        raise FlexsegError(
            f"{path}: [train] images_dir is missing; flexseg needs the dataset root."
        )
    parts = PurePosixPath(str(images).rstrip("/"))
    if parts.name != "images" or parts.parent.name != "train":
        raise FlexsegError(
            f"{path}: [train] images_dir = {images!r} is not ROOT/train/images; flexseg datasets "
            "are ROOT/{train,valid,test}/{images,masks}."
        )
    return str(parts.parent.parent)


def _palette(path, take) -> list[dict[str, Any]]:
    """The ini palette, inline; its names are class_<id> (the ini has none): rename them."""
    for key in ("rgb_map", "color_map"):
        take("mask", key)
    take("mask", "classes")
    palette = Palette.from_ini(path)
    return [{"id": c.id, "name": c.name, "color": list(c.color)} for c in palette.classes]


def _augmentation(path, old, take, warnings) -> dict[str, Any]:
    augmentation: dict[str, Any] = {}
    if take("augmentor", "hflip", False):
        augmentation["hflip"] = True
    if take("augmentor", "vflip", False):
        augmentation["vflip"] = True
    angles = take("augmentor", "angles", [], (list, tuple))
    if any(isinstance(a, bool) or not isinstance(a, int | float) for a in angles):
        raise FlexsegError(f"{path}: [augmentor] angles = {angles!r} must be numbers (degrees).")
    if take("augmentor", "rotation", False) and angles:
        if all(angle % 90 == 0 for angle in angles):
            augmentation["rot90"] = True
        else:
            augmentation["rotation"] = float(max(abs(a) for a in angles))
    if take("augmentor", "deformation", False):
        augmentation["elastic"] = 0.3
    return augmentation
