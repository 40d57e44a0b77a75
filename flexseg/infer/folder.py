"""Predict every image of a folder (recursively) and write masks, overlays, panels, probabilities.

For IMAGE at input/a/b.jpg the output folder gets a/b.png (the colorized mask at the image's
own size, named like a ground-truth mask), overlays/a/b.png, and on request panels/a/b.png
(image | overlay | mask) and probabilities/a/b.npz. Nothing is ever written into the input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from flexseg.config import Config
from flexseg.data.images import read_image, scale_pixels
from flexseg.data.masks import colorize
from flexseg.data.overlay import overlay
from flexseg.data.pairs import IMAGE_SUFFIXES
from flexseg.errors import FlexsegError
from flexseg.infer.predict import Predictor
from flexseg.outputs import save_png, staged_folder
from flexseg.progress import progress as progress_bar
from flexseg.run.setup import RunSetup
from flexseg.runtime import speed_up_process


def find_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise FlexsegError(f"{folder}: input folder not found.")
    images = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )  # fmt: skip
    if not images:
        raise FlexsegError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) found.")
    return images


def infer_folder(
    config: Config,
    checkpoint: str | Path | None = None,
    input_dir: str | Path | None = None,
    output_dir: str | Path | None = None,
    progress: bool = True,
    model: Any = None,
) -> int:
    """Predict every image under the input folder; returns how many were written.

    `model` (default: the run's trained model) may be any object with Keras's `input_shape`
    and `predict_on_batch`, such as an exported model (flexseg.export.load_exported)."""
    speed_up_process()
    settings = config.infer
    source = input_dir or settings["input"]
    target = output_dir or settings["output"]
    if not source or not target:
        raise FlexsegError("inference needs infer.input and infer.output (or --input/--output).")
    source, target = config.path(str(source)).resolve(), config.path(str(target)).resolve()
    if target == source or source in target.parents:
        raise FlexsegError(f"{target}: the output may not be inside the input folder {source}.")
    setup = RunSetup(config)
    palette = setup.palette
    if model is None:
        model = setup.trained_model(checkpoint)  # checks its classes against the palette
    else:
        palette.check_num_classes(model.output_shape[-1])
    predictor = Predictor(
        model, tile=settings["tile_size"], overlap=settings["tile_overlap"],
        tile_batch=settings["tile_batch"], flip_tta=settings["flip_tta"],
    )  # fmt: skip
    images = find_images(source)
    with staged_folder(target) as staging:
        for path in progress_bar(images, "image", enabled=progress):
            relative = path.relative_to(source).with_suffix(".png")
            pixels = read_image(path, config.data["channels"])
            probabilities = predictor(scale_pixels(pixels, config.data["scale"]))
            labels = probabilities.argmax(axis=-1).astype(np.uint8)
            mask = colorize(labels, palette)
            save_png(staging / relative, mask)
            if settings["overlay"] or settings["panel"]:
                gray_or_rgb = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
                shown = overlay(gray_or_rgb, labels, palette)
            if settings["overlay"]:
                save_png(staging / "overlays" / relative, np.asarray(shown))
            if settings["panel"]:
                rgb = np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels
                panel = np.concatenate([rgb, np.asarray(shown), mask], axis=1)
                save_png(staging / "panels" / relative, panel)
            if settings["probabilities"]:
                npz = staging / "probabilities" / relative.with_suffix(".npz")
                npz.parent.mkdir(parents=True, exist_ok=True)
                np.savez_compressed(
                    npz, probabilities=probabilities.astype(np.float16),
                    classes=np.array(palette.names),
                )  # fmt: skip
    return len(images)
