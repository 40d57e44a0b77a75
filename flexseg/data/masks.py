"""Decode mask files into class-index arrays, and class-index arrays back into colors.

Colorized masks map exact palette colors directly. A pixel whose color is a mix of two palette
colors (an interpolated edge, e.g. (0, 143, 143) between cyan and black) goes to the closer of
the two. Any other color is "off-palette": an error by default, or mapped to the nearest class,
or ignored (label 255, left out of losses and metrics).

Example:
    >>> import numpy as np
    >>> from flexseg.data.palette import Palette
    >>> decoder = MaskDecoder(Palette.load("mvtec_screw"))
    >>> mask = np.array([[[0, 0, 0], [0, 255, 255], [0, 143, 143]]], dtype=np.uint8)
    >>> decoder.decode(mask).labels.tolist()
    [[0, 4, 4]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from flexseg.data.palette import IGNORE_LABEL, Palette
from flexseg.errors import FlexsegError

OffPalette = Literal["error", "nearest", "ignore"]
MaskFormat = Literal["color", "index"]
_UNMATCHED = 254  # lookup-table marker: not an exact palette color


@dataclass
class DecodedMask:
    """Class ids per pixel, and what decoding had to resolve beyond exact palette colors."""

    labels: np.ndarray
    blended_pixels: int = 0
    off_palette_pixels: int = 0
    off_palette_by_class: dict[str, int] = field(default_factory=dict)


class MaskDecoder:
    """Turns mask images (arrays or files) into uint8 class-index arrays for one palette.

    Args:
        palette: the classes and their colors.
        mask_format: "color" (RGB, P, RGBA or gray masks colorized by the palette) or
            "index" (8- or 16-bit single-channel masks whose pixel values are class ids).
        off_palette: what to do with colors that are neither palette colors nor blends of two:
            "error" (default), "nearest" (nearest class color) or "ignore" (label 255).
        tolerance: how far (RGB distance) a color may lie from a palette color or from the
            line between two palette colors and still count as that color or blend.
    """

    def __init__(
        self,
        palette: Palette,
        *,
        mask_format: MaskFormat = "color",
        off_palette: OffPalette = "error",
        tolerance: float = 12.0,
    ):
        if mask_format not in ("color", "index"):
            raise FlexsegError(f"mask_format must be 'color' or 'index'; got {mask_format!r}.")
        if off_palette not in ("error", "nearest", "ignore"):
            raise FlexsegError(
                f"off_palette must be 'error', 'nearest' or 'ignore'; got {off_palette!r}."
            )
        if not tolerance >= 0:
            raise FlexsegError(f"tolerance must be >= 0; got {tolerance!r}.")
        self.palette = palette
        self.mask_format = mask_format
        self.off_palette = off_palette
        self.tolerance = float(tolerance)
        self._colors = palette.colors.astype(np.float64)
        self._lookup = np.full(1 << 24, _UNMATCHED, dtype=np.uint8)
        self._lookup[_pack(palette.colors)] = np.arange(palette.num_classes, dtype=np.uint8)

    def decode_file(self, path: str | Path) -> DecodedMask:
        """Read a mask file and decode it; errors name the file."""
        path = Path(path)
        try:
            with Image.open(path) as image:
                array = self._to_array(image, path)
        except (OSError, SyntaxError) as error:
            raise FlexsegError(f"{path}: cannot read the mask: {error}") from error
        return self.decode(array, source=str(path))

    def decode(self, mask: np.ndarray, *, source: str = "<array>") -> DecodedMask:
        """Decode an (H, W, 3) color mask, or an (H, W) index mask when mask_format="index"."""
        if self.mask_format == "index":
            return self._decode_index(np.asarray(mask), source)
        mask = np.asarray(mask)
        if mask.ndim != 3 or mask.shape[-1] != 3 or mask.dtype != np.uint8:
            raise FlexsegError(
                f"{source}: a color mask must be an (H, W, 3) uint8 array; got shape "
                f"{mask.shape}, dtype {mask.dtype}."
            )
        codes = _pack(mask)
        labels = self._lookup[codes]
        unmatched = labels == _UNMATCHED
        if not unmatched.any():
            return DecodedMask(labels)
        colors, inverse, counts = np.unique(
            codes[unmatched], return_inverse=True, return_counts=True
        )
        assigned, blended = self._resolve(_unpack(colors), counts, source)
        labels[unmatched] = assigned[inverse]
        result = DecodedMask(labels, blended_pixels=int(counts[blended].sum()))
        off = ~blended
        result.off_palette_pixels = int(counts[off].sum())
        if result.off_palette_pixels:
            nearest = self._nearest(_unpack(colors[off]))
            for class_id, count in zip(nearest, counts[off], strict=True):
                name = self.palette.names[class_id]
                result.off_palette_by_class[name] = result.off_palette_by_class.get(name, 0) + int(
                    count
                )
        return result

    def _resolve(self, colors: np.ndarray, counts: np.ndarray, source: str):
        """Class per unmatched color (blend, nearest or ignore) and which colors were blends."""
        blend_class, distance = self._closest_blend(colors.astype(np.float64))
        blended = distance <= self.tolerance
        assigned = blend_class.astype(np.uint8)
        off = ~blended
        if off.any():
            if self.off_palette == "error":
                worst = int(np.argmax(np.where(off, counts, -1)))
                nearest = self.palette.names[self._nearest(colors[worst : worst + 1])[0]]
                raise FlexsegError(
                    f"{source}: {int(counts[off].sum())} pixel(s) in {int(off.sum())} color(s) "
                    "match no palette color nor a blend of two, e.g. "
                    f"{tuple(colors[worst].tolist())} "
                    f"({int(counts[worst])} pixels; nearest class {nearest!r}). Fix the mask, "
                    "use the right palette, or set off_palette to 'nearest' or 'ignore'."
                )
            if self.off_palette == "nearest":
                assigned[off] = self._nearest(colors[off])
            else:
                assigned[off] = IGNORE_LABEL
        return assigned, blended

    def _closest_blend(self, colors: np.ndarray):
        """For each color, the best line segment between two palette colors (or a palette color).

        Returns the class of the closer end of that segment and the distance to it.
        """
        palette = self._colors
        k = len(palette)
        first, second = np.triu_indices(k, k=1) if k > 1 else (np.array([0]), np.array([0]))
        a, b = palette[first], palette[second]  # (P, 3)
        direction = b - a
        length2 = np.maximum((direction**2).sum(-1), 1e-9)  # (P,)
        offset = colors[:, None, :] - a[None]  # (N, P, 3)
        t = np.clip((offset * direction[None]).sum(-1) / length2, 0.0, 1.0)  # (N, P)
        closest = a[None] + t[..., None] * direction[None]
        distance = np.sqrt(((colors[:, None, :] - closest) ** 2).sum(-1))  # (N, P)
        best = distance.argmin(axis=1)
        rows = np.arange(len(colors))
        t_best = t[rows, best]
        classes = np.where(t_best < 0.5, first[best], second[best])
        return classes, distance[rows, best]

    def _nearest(self, colors: np.ndarray) -> np.ndarray:
        distance = ((colors[:, None, :].astype(np.float64) - self._colors[None]) ** 2).sum(-1)
        return distance.argmin(axis=1)

    def _decode_index(self, mask: np.ndarray, source: str) -> DecodedMask:
        if mask.ndim != 2 or mask.dtype.kind not in "ui":
            raise FlexsegError(
                f"{source}: an index mask must be a single-channel integer image (pixel value = "
                f"class id); got shape {mask.shape}, dtype {mask.dtype}. For colorized masks "
                "use mask_format='color'."
            )
        labels = mask.astype(np.int64)
        bad = (labels >= self.palette.num_classes) & (labels != IGNORE_LABEL)
        if bad.any():
            values, counts = np.unique(labels[bad], return_counts=True)
            raise FlexsegError(
                f"{source}: index mask values {values.tolist()} ({int(counts.sum())} pixels) are "
                f"not class ids 0..{self.palette.num_classes - 1} (or {IGNORE_LABEL} = ignore)."
            )
        return DecodedMask(labels.astype(np.uint8))

    def _to_array(self, image: Image.Image, path: Path) -> np.ndarray:
        if self.mask_format == "index":
            if image.mode not in ("L", "P", "I", "I;16", "I;16B", "I;16L"):
                raise FlexsegError(
                    f"{path}: an index mask must be a single-channel image; got mode "
                    f"{image.mode!r}. For colorized masks use mask_format='color'."
                )
            return np.asarray(image if image.mode != "P" else image.getchannel(0))
        if image.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit gray: back to 8 bits
            values = np.asarray(image).astype(np.float64)
            gray = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
            return np.repeat(gray[..., None], 3, axis=-1)
        return np.asarray(image.convert("RGB"))  # P by its colors, RGBA drops alpha, L -> gray


def colorize(labels: np.ndarray, palette: Palette, ignore_color=(255, 255, 255)) -> np.ndarray:
    """Class ids -> (H, W, 3) uint8 colors; ignored pixels (255) get `ignore_color`.

    Example:
        >>> from flexseg.data.palette import Palette
        >>> colorize(np.array([[0, 4]]), Palette.load("mvtec_screw")).tolist()
        [[[0, 0, 0], [0, 255, 255]]]
    """
    table = np.zeros((256, 3), dtype=np.uint8)
    table[: palette.num_classes] = palette.colors
    table[IGNORE_LABEL] = ignore_color
    labels = np.asarray(labels)
    if labels.size and labels.max() >= palette.num_classes and labels.max() != IGNORE_LABEL:
        raise FlexsegError(f"labels hold ids up to {labels.max()}, beyond the palette's classes.")
    return table[labels.astype(np.uint8)]


def _pack(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.uint32, copy=False)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _unpack(codes: np.ndarray) -> np.ndarray:
    return np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], axis=-1).astype(
        np.uint8
    )
