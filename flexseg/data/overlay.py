"""Overlays: an image blended with its colorized mask, with a legend of the classes present.

Example:
    >>> import numpy as np
    >>> from flexseg.data.palette import Palette
    >>> image = np.full((64, 64), 128, dtype=np.uint8)
    >>> labels = np.zeros((64, 64), dtype=np.uint8); labels[10:20, 10:20] = 2
    >>> overlay(image, labels, Palette.load("mvtec_screw")).size
    (64, 64)
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from flexseg.data.masks import colorize
from flexseg.data.palette import IGNORE_LABEL, Palette
from flexseg.errors import FlexsegError


def overlay(
    image: np.ndarray,
    labels: np.ndarray,
    palette: Palette,
    *,
    alpha: float = 0.5,
    legend: bool = True,
) -> Image.Image:
    """Blend the colorized labels over the image (background pixels stay untouched)."""
    rgb = np.asarray(image)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=-1)
    rgb = rgb[..., :3].astype(np.float32)
    if rgb.shape[:2] != labels.shape:
        raise FlexsegError(f"overlay: image is {rgb.shape[:2]} but labels are {labels.shape}.")
    colors = colorize(labels, palette).astype(np.float32)
    painted = (labels != 0)[..., None]
    blended = np.where(painted, (1 - alpha) * rgb + alpha * colors, rgb)
    result = Image.fromarray(np.clip(blended, 0, 255).astype(np.uint8))
    if legend:
        entries = [(c.name, c.color) for c in palette.classes[1:] if (labels == c.id).any()]
        if (labels == IGNORE_LABEL).any():
            entries.append(("ignored", (255, 255, 255)))
        _draw_legend(result, entries)
    return result


def _draw_legend(image: Image.Image, entries: list[tuple[str, tuple[int, int, int]]]) -> None:
    if not entries:
        return
    draw = ImageDraw.Draw(image)
    line = 12
    width = 14 + 7 * max(len(name) for name, _ in entries)
    draw.rectangle([0, 0, width, line * len(entries) + 4], fill=(0, 0, 0))
    for row, (name, color) in enumerate(entries):
        top = 2 + row * line
        draw.rectangle([2, top + 1, 10, top + 9], fill=tuple(color))
        draw.text((13, top - 1), name, fill=(255, 255, 255))
