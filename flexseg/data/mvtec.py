"""Convert one MVTec AD category into the split layout with colorized masks.

    python -m flexseg.data.mvtec --root MVTEC_AD --category screw --out DIR

Reads ROOT/<category>/test/<defect>/NNN.png with its binary mask
ROOT/<category>/ground_truth/<defect>/NNN_mask.png, colors each defect with the category's
palette (registry/datasets/mvtec_<category>.toml), and writes DIR/{train,valid,test}/{images,
masks}/<defect>_NNN.png plus DIR/dataset.toml. The split is made per source image, stratified
by defect type, before any augmentation, so no copy of a test image can reach training.
`--include-good` adds the defect-free test/good images with all-background masks.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from flexseg.data.masks import colorize
from flexseg.data.pairs import SHOWN
from flexseg.data.palette import DATASET_FILE, Palette
from flexseg.data.splits import SPLITS, stratified_split
from flexseg.errors import FlexsegError
from flexseg.outputs import save_png, staged_folder, write_text_atomically
from flexseg.progress import progress as progress_bar


@dataclass(frozen=True)
class Source:
    kind: str  # defect name or "good"
    image: Path
    mask: Path | None  # None for good images


def find_sources(category_dir: Path, palette: Palette, include_good: bool) -> list[Source]:
    """Every (image, mask) of the category's test split, checked."""
    test_dir = category_dir / "test"
    truth_dir = category_dir / "ground_truth"
    if not test_dir.is_dir():
        raise FlexsegError(
            f"{category_dir}: no test/ folder; expected an MVTec AD category "
            "(train/good, test/<defect>, ground_truth/<defect>)."
        )
    sources, missing, unknown = [], [], []
    for kind_dir in sorted(p for p in test_dir.iterdir() if p.is_dir()):
        kind = kind_dir.name
        if kind == "good":
            if include_good:
                sources += [Source("good", path, None) for path in sorted(kind_dir.glob("*.png"))]
            continue
        if kind not in palette.names:
            unknown.append(kind)
            continue
        for image in sorted(kind_dir.glob("*.png")):
            mask = truth_dir / kind / f"{image.stem}_mask.png"
            if not mask.is_file():
                missing.append(f"{kind}/{image.name}")
            sources.append(Source(kind, image, mask))
    if unknown:
        raise FlexsegError(
            f"{test_dir}: defect folder(s) {unknown} are not classes of the palette "
            f"{palette.source} ({', '.join(palette.names[1:])}). Pass --palette with a palette "
            "that names them."
        )
    if missing:
        more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
        raise FlexsegError(
            f"{truth_dir}: {len(missing)} defect image(s) without a ground_truth mask: "
            f"{', '.join(missing[:SHOWN])}{more}."
        )
    if not sources:
        raise FlexsegError(f"{test_dir}: no images found.")
    return sources


def convert(
    root: str | Path,
    category: str,
    out: str | Path,
    *,
    palette: Palette | None = None,
    include_good: bool = False,
    split: tuple[float, float, float] = (0.6, 0.2, 0.2),
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Counter]:
    """Convert and return the number of images per split and kind."""
    category_dir = Path(root) / category
    if not category_dir.is_dir():
        raise FlexsegError(f"{category_dir}: category folder not found under --root {root}.")
    palette = palette or Palette.load(f"mvtec_{category}")
    sources = find_sources(category_dir, palette, include_good)
    assignment = stratified_split([s.kind for s in sources], split, seed)
    counts = {part: Counter() for part in SPLITS}
    with staged_folder(out) as staging:
        pairs = list(zip(sources, assignment, strict=True))
        for source, part in progress_bar(pairs, "image", enabled=progress):
            stem = f"{source.kind}_{source.image.stem}"
            labels = _labels(source, palette)
            target = staging / part / "images" / f"{stem}{source.image.suffix}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.image, target)
            save_png(staging / part / "masks" / f"{stem}.png", colorize(labels, palette))
            counts[part][source.kind] += 1
        write_text_atomically(
            staging / DATASET_FILE,
            palette.describe_dataset(
                "python -m flexseg.data.mvtec",
                _provenance(root, category, include_good, split, seed),
                {part: counts[part] for part in SPLITS},
            ),
        )
    return counts


def _labels(source: Source, palette: Palette) -> np.ndarray:
    with Image.open(source.image) as image:
        size = (image.height, image.width)
    if source.mask is None:
        return np.zeros(size, np.uint8)
    with Image.open(source.mask) as mask:
        binary = np.asarray(mask.convert("L")) > 127
    if binary.shape != size:
        raise FlexsegError(
            f"{source.mask}: mask is {binary.shape[1]}x{binary.shape[0]} but its image "
            f"{source.image} is {size[1]}x{size[0]}."
        )
    return np.where(binary, palette.names.index(source.kind), 0).astype(np.uint8)


def _provenance(root, category, include_good, split, seed) -> dict:
    return {
        "source": f"MVTec AD, {Path(root).resolve()}",
        "category": category,
        "include_good": include_good,
        "split": list(split),
        "split_seed": seed,
        "split_note": "per source image, stratified by defect type, before any augmentation",
        "license": "CC BY-NC-SA 4.0 (MVTec AD)",
    }


if __name__ == "__main__":  # python -m flexseg.data.mvtec: the same as flexseg data mvtec
    from flexseg.cli.data import main

    sys.exit(main("mvtec"))
