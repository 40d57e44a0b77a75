"""Data: palettes, mask decoding, overlays, the dataset adapter and augmentation.

Example:
    >>> from flexseg.data import Palette
    >>> Palette.load("mvtec_screw").num_classes
    6
"""

from flexseg.data.augmentation import Augmentation, Augmenter
from flexseg.data.dataset import SegmentationDataset
from flexseg.data.masks import DecodedMask, MaskDecoder, colorize
from flexseg.data.overlay import overlay
from flexseg.data.pairs import Pair, find_pairs
from flexseg.data.palette import IGNORE_LABEL, Palette, PaletteClass, list_palettes

__all__ = [
    "IGNORE_LABEL",
    "Augmentation",
    "Augmenter",
    "DecodedMask",
    "MaskDecoder",
    "Pair",
    "Palette",
    "PaletteClass",
    "SegmentationDataset",
    "colorize",
    "find_pairs",
    "list_palettes",
    "overlay",
]
