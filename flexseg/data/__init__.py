"""Data: palettes, mask decoding and overlays (shared), the online pipeline that feeds
`model.fit` (`pipeline/`), and the offline tools `synthetic`, `mvtec`, `augment`, `stats`
and `check` (`python -m flexseg.data.TOOL`, `flexseg data TOOL`).

Example:
    >>> from flexseg.data import Palette
    >>> Palette.load("mvtec_screw").num_classes
    6
"""

from typing import TYPE_CHECKING

from flexseg.lazy import lazy_exports

_PIPELINE = "flexseg.data.pipeline"
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "IGNORE_LABEL": "flexseg.data.palette",
        "Augmentation": f"{_PIPELINE}.augmentation",
        "Augmenter": f"{_PIPELINE}.augmentation",
        "DecodedMask": "flexseg.data.masks",
        "MaskDecoder": "flexseg.data.masks",
        "Pair": "flexseg.data.pairs",
        "Palette": "flexseg.data.palette",
        "PaletteClass": "flexseg.data.palette",
        "SegmentationDataset": f"{_PIPELINE}.dataset",
        "colorize": "flexseg.data.masks",
        "find_pairs": "flexseg.data.pairs",
        "list_palettes": "flexseg.data.palette",
        "overlay": "flexseg.data.overlay",
    },
)

if TYPE_CHECKING:
    from flexseg.data.masks import DecodedMask, MaskDecoder, colorize
    from flexseg.data.overlay import overlay
    from flexseg.data.pairs import Pair, find_pairs
    from flexseg.data.palette import IGNORE_LABEL, Palette, PaletteClass, list_palettes
    from flexseg.data.pipeline.augmentation import Augmentation, Augmenter
    from flexseg.data.pipeline.dataset import SegmentationDataset

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
