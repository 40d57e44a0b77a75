"""Offline augmentation, like the original's tool, done in class-index space.

    python -m flexseg.data.augment --in DATASET --out AUGMENTED [--splits train,valid]

Copies the dataset and adds, for every image of the chosen splits, transformed copies named
like the original tool's: `hflipped_<name>`, `vflipped_<name>`, `rotated_<deg>_<name>`,
`shrunk_<ratio>_<name>`, `sheared_<factor>_<name>`, `elastic_<i>_<name>`,
`barrel_<k>_<name>`. Masks are decoded to class ids, transformed with nearest-neighbour
sampling and colorized again, so no new color appears. The test split is copied unchanged and
is never augmented.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage

from flexseg.data.images import read_image
from flexseg.data.masks import MaskDecoder, colorize
from flexseg.data.pairs import find_pairs
from flexseg.data.palette import DATASET_FILE, Palette
from flexseg.data.splits import SPLITS
from flexseg.errors import FlexsegError
from flexseg.outputs import save_png, staged_folder, write_text_atomically
from flexseg.progress import progress as progress_bar

OPERATIONS = ("hflip", "vflip", "rotate", "shrink", "shear", "elastic", "barrel")

# A transform maps (image (H, W, C) float, labels (H, W) uint8) to the same.
Transform = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _warp(image, labels, rows, cols):
    """Sample image (bilinear) and labels (nearest) at the given source coordinates."""
    warped = np.stack(
        [ndimage.map_coordinates(image[..., c], [rows, cols], order=1, mode="constant")
         for c in range(image.shape[-1])],
        axis=-1,
    )  # fmt: skip
    return warped, ndimage.map_coordinates(labels, [rows, cols], order=0, mode="constant")


def _grid(shape):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    return rows, cols, (shape[0] - 1) / 2, (shape[1] - 1) / 2


def rotate(degrees: float) -> Transform:
    def apply(image, labels):
        rows, cols, cy, cx = _grid(labels.shape)
        angle = np.deg2rad(degrees)
        src_r = cy + (rows - cy) * np.cos(angle) - (cols - cx) * np.sin(angle)
        src_c = cx + (rows - cy) * np.sin(angle) + (cols - cx) * np.cos(angle)
        return _warp(image, labels, src_r, src_c)

    return apply


def shrink(ratio: float) -> Transform:
    def apply(image, labels):
        rows, cols, cy, cx = _grid(labels.shape)
        return _warp(image, labels, cy + (rows - cy) / ratio, cx + (cols - cx) / ratio)

    return apply


def shear(factor: float) -> Transform:
    def apply(image, labels):
        rows, cols, cy, _ = _grid(labels.shape)
        return _warp(image, labels, rows, cols + factor * (rows - cy))

    return apply


def barrel(k: float) -> Transform:
    def apply(image, labels):
        rows, cols, cy, cx = _grid(labels.shape)
        y, x = (rows - cy) / max(cy, 1), (cols - cx) / max(cx, 1)
        scale = 1 + k * (x**2 + y**2)
        return _warp(image, labels, cy + y * scale * max(cy, 1), cx + x * scale * max(cx, 1))

    return apply


def elastic(alpha: float, sigma: float, seed: int) -> Transform:
    def apply(image, labels):
        rng = np.random.default_rng(seed)
        rows, cols, _, _ = _grid(labels.shape)
        dy = ndimage.gaussian_filter(rng.uniform(-1, 1, labels.shape), sigma) * alpha
        dx = ndimage.gaussian_filter(rng.uniform(-1, 1, labels.shape), sigma) * alpha
        return _warp(image, labels, rows + dy, cols + dx)  # one field for image and labels

    return apply


def build_transforms(
    operations,
    *,
    angles,
    shrink_ratios,
    shear_factors,
    elastic_count,
    elastic_alpha,
    elastic_sigma,
    barrel_ks,
    seed,
) -> dict[str, Transform]:
    """Name prefix -> transform, for the chosen operations."""
    unknown = [op for op in operations if op not in OPERATIONS]
    if unknown:
        raise FlexsegError(f"unknown operation(s) {unknown}; choose from {', '.join(OPERATIONS)}.")
    transforms: dict[str, Transform] = {}
    if "hflip" in operations:
        transforms["hflipped"] = lambda image, labels: (image[:, ::-1], labels[:, ::-1])
    if "vflip" in operations:
        transforms["vflipped"] = lambda image, labels: (image[::-1], labels[::-1])
    for degrees in angles if "rotate" in operations else ():
        transforms[f"rotated_{degrees:g}"] = rotate(degrees)
    for ratio in shrink_ratios if "shrink" in operations else ():
        if not 0 < ratio <= 1:
            raise FlexsegError(f"shrink ratios must be in (0, 1]; got {ratio}.")
        transforms[f"shrunk_{ratio:g}"] = shrink(ratio)
    for factor in shear_factors if "shear" in operations else ():
        transforms[f"sheared_{factor:g}"] = shear(factor)
    for index in range(elastic_count if "elastic" in operations else 0):
        transforms[f"elastic_{index}"] = elastic(elastic_alpha, elastic_sigma, seed + index)
    for k in barrel_ks if "barrel" in operations else ():
        transforms[f"barrel_{k:g}"] = barrel(k)
    return transforms


def augment_dataset(
    source: str | Path,
    out: str | Path,
    palette: Palette,
    transforms: dict[str, Transform],
    splits=("train", "valid"),
    progress: bool = False,
) -> dict[str, int]:
    """Copy the dataset to `out` and add the transformed copies; returns images per split."""
    if "test" in splits:
        raise FlexsegError("the test split is never augmented: leave 'test' out of --splits.")
    source = Path(source)
    present = [part for part in SPLITS if (source / part).is_dir()]
    if not present:
        raise FlexsegError(f"{source}: no train/, valid/ or test/ folder.")
    decoder = MaskDecoder(palette)
    counts = {}
    with staged_folder(out) as staging:
        for part in present:
            pairs = find_pairs(source / part)
            for sub in ("images", "masks"):
                shutil.copytree(source / part / sub, staging / part / sub)
            counts[part] = len(pairs)
            if part not in splits:
                continue
            for pair in progress_bar(pairs, part, enabled=progress):
                image = read_image(pair.image, 3).astype(np.float64)
                if _is_gray(image):
                    image = image[..., :1]
                labels = decoder.decode_file(pair.mask).labels
                for prefix, transform in transforms.items():
                    new_image, new_labels = transform(image, labels)
                    name = f"{prefix}_{pair.stem}.png"
                    pixels = np.clip(np.rint(new_image), 0, 255).astype(np.uint8)
                    save_png(
                        staging / part / "images" / name,
                        pixels.squeeze(-1) if pixels.shape[-1] == 1 else pixels,
                    )
                    save_png(staging / part / "masks" / name, colorize(new_labels, palette))
                    counts[part] += 1
        write_text_atomically(
            staging / DATASET_FILE,
            palette.describe_dataset(
                "python -m flexseg.data.augment",
                {
                    "augmented_from": str(source.resolve()),
                    "operations": list(transforms),
                    "augmented_splits": [part for part in present if part in splits],
                },
                {part: {"images": n} for part, n in counts.items()},
            ),
        )
    return counts


def _is_gray(image: np.ndarray) -> bool:
    return bool(
        np.array_equal(image[..., 0], image[..., 1])
        and np.array_equal(image[..., 1], image[..., 2])
    )


if __name__ == "__main__":  # python -m flexseg.data.augment: the same as flexseg data augment
    from flexseg.cli.data import main

    sys.exit(main("augment"))
