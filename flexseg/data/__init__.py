"""Data: palettes, mask decoding, overlays.

Example:
    >>> from flexseg.data import Palette
    >>> Palette.load("mvtec_screw").num_classes
    6
"""

from flexseg.data.masks import DecodedMask, MaskDecoder, colorize
from flexseg.data.overlay import overlay
from flexseg.data.palette import IGNORE_LABEL, Palette, PaletteClass, list_palettes

__all__ = [
    "IGNORE_LABEL",
    "DecodedMask",
    "MaskDecoder",
    "Palette",
    "PaletteClass",
    "colorize",
    "list_palettes",
    "overlay",
]
