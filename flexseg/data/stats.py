"""Dataset statistics: images, pixels per class, images containing each class, off-palette pixels.

    python -m flexseg.data.stats ROOT --palette mvtec_screw --json stats.json --plot stats.png

ROOT is a dataset root with split folders, or one split folder holding images/ and masks/
(the split is then named after the folder). Off-palette pixels are counted, not assigned to a
class (`off_palette_pixels`, and `off_palette_by_nearest_class`); blended edge pixels count
for the closer of their two classes.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

from flexseg.data.masks import MaskDecoder
from flexseg.data.pairs import find_pairs
from flexseg.data.palette import Palette
from flexseg.data.splits import SPLITS
from flexseg.errors import FlexsegError
from flexseg.outputs import save_figure

log = logging.getLogger("flexseg.data")


def split_folders(root: Path) -> dict[str, Path]:
    """{split name: folder} for a dataset root or a single split folder."""
    if (root / "images").is_dir() and (root / "masks").is_dir():
        return {root.name: root}
    found = {part: root / part for part in SPLITS if (root / part).is_dir()}
    if not found:
        raise FlexsegError(
            f"{root}: neither a split folder (images/ and masks/) nor a dataset root with "
            "train/, valid/ or test/."
        )
    return found


def dataset_stats(root: str | Path, palette: Palette, mask_format: str = "color") -> dict:
    """The statistics as a JSON-ready dict (see the module doc for the keys)."""
    decoder = MaskDecoder(palette, mask_format=mask_format, off_palette="ignore")
    result = {"classes": list(palette.names), "splits": {}}
    for split, folder in split_folders(Path(root)).items():
        pairs = find_pairs(folder)
        pixels = np.zeros(palette.num_classes, np.int64)
        images_with = np.zeros(palette.num_classes, np.int64)
        off_palette = 0
        off_by_class = dict.fromkeys(palette.names, 0)
        for pair in pairs:
            decoded = decoder.decode_file(pair.mask)
            counts = np.bincount(decoded.labels.ravel(), minlength=256)[: palette.num_classes]
            pixels += counts
            images_with += counts > 0
            off_palette += decoded.off_palette_pixels
            for name, count in decoded.off_palette_by_class.items():
                off_by_class[name] += count
            if decoded.off_palette_pixels:
                log.warning(
                    "%s: %d off-palette pixel(s), by nearest class %s",
                    pair.mask,
                    decoded.off_palette_pixels,
                    decoded.off_palette_by_class,
                )
        result["splits"][split] = {
            "images": len(pairs),
            "pixel_counts": dict(zip(palette.names, pixels.tolist(), strict=True)),
            "images_with_class": dict(zip(palette.names, images_with.tolist(), strict=True)),
            "off_palette_pixels": off_palette,
            "off_palette_by_nearest_class": off_by_class,
        }
    return result


def plot_stats(stats: dict, path: str | Path) -> None:
    """Bar charts of pixels per class (log scale) and images per class, one bar group per split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = stats["classes"]
    splits = list(stats["splits"])
    x = np.arange(len(classes))
    width = 0.8 / len(splits)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(max(7, 1.3 * len(classes)), 7), sharex=True)
    for i, split in enumerate(splits):
        data = stats["splits"][split]
        offset = x + (i - (len(splits) - 1) / 2) * width
        top.bar(offset, [max(data["pixel_counts"][c], 0.5) for c in classes], width, label=split)
        bottom.bar(offset, [data["images_with_class"][c] for c in classes], width, label=split)
    top.set_yscale("log")
    top.set_ylabel("pixels (log scale)")
    top.set_title("Class imbalance per split")
    top.legend()
    bottom.set_ylabel("images containing the class")
    bottom.set_xticks(x, classes, rotation=30, ha="right")
    figure.tight_layout()
    save_figure(figure, path)


if __name__ == "__main__":  # python -m flexseg.data.stats: the same as flexseg data stats
    from flexseg.cli.data import main

    sys.exit(main("stats"))
