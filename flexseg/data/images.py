"""Read images with a chosen channel count, resize images and label maps correctly, and scale
pixels to what a model takes.

Images resize bilinearly; label maps resize by nearest neighbour in class-index space, so no
new class (and no blended color) can appear.

Example:
    >>> import numpy as np
    >>> resize_labels(np.array([[0, 1], [2, 3]], np.uint8), (4, 4)).tolist()[0]
    [0, 0, 1, 1]
    >>> scale_pixels(np.array([0, 255], np.uint8), "unit").tolist()
    [0.0, 1.0]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from flexseg.errors import FlexsegError

SCALES = ("raw", "unit")  # 0-255 pixels as read (the original's published configs), or 0-1


def check_scale(scale: str) -> str:
    """Return `scale` if it is one of SCALES, else raise naming both."""
    if scale not in SCALES:
        raise FlexsegError(f"scale must be 'raw' (0-255) or 'unit' (0-1); got {scale!r}.")
    return scale


def scale_pixels(pixels: np.ndarray, scale: str) -> np.ndarray:
    """float32 pixels in the model's input scale: "raw" keeps 0-255, "unit" divides by 255."""
    pixels = pixels.astype(np.float32)
    return pixels / 255.0 if check_scale(scale) == "unit" else pixels


def read_image(path: str | Path, channels: int) -> np.ndarray:
    """(H, W, channels) uint8: grayscale images are repeated to RGB, RGB images averaged to gray."""
    if channels not in (1, 3):
        raise FlexsegError(f"channels must be 1 or 3; got {channels!r}.")
    try:
        with Image.open(path) as image:
            if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                values = np.asarray(image).astype(np.float64)
                scale = 257.0 if values.max() > 255 else 1.0
                image = Image.fromarray(np.clip(np.rint(values / scale), 0, 255).astype(np.uint8))
            converted = image.convert("L" if channels == 1 else "RGB")
            array = np.asarray(converted)
    except (OSError, SyntaxError) as error:
        raise FlexsegError(f"{path}: cannot read the image: {error}") from error
    return array[..., None] if channels == 1 else array


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an (H, W, C) uint8 image to size = (height, width)."""
    if image.shape[:2] == tuple(size):
        return image
    height, width = size
    channels = image.shape[-1]
    pil = Image.fromarray(image[..., 0] if channels == 1 else image)
    resized = np.asarray(pil.resize((width, height), resample=Image.BILINEAR))
    return resized[..., None] if channels == 1 else resized


def resize_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an (H, W) uint8 label map to size = (height, width)."""
    if labels.shape == tuple(size):
        return labels
    height, width = size
    return np.asarray(Image.fromarray(labels).resize((width, height), resample=Image.NEAREST))
