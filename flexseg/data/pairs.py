"""Pair images with masks by file stem, and check the pairs before anything is trained on them.

Layout of a split folder: `images/` (.png .jpg .jpeg .bmp .tif .tiff) and `masks/` (.png).

Example:
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> split = Path(tempfile.mkdtemp())
    >>> for sub in ("images", "masks"):
    ...     (split / sub).mkdir()
    ...     Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(split / sub / "a.png")
    >>> [pair.stem for pair in find_pairs(split)]
    ['a']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from flexseg.errors import FlexsegError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
MASK_SUFFIXES = (".png",)
SHOWN = 5  # offending files listed in an error, before "and N more"


@dataclass(frozen=True)
class Pair:
    stem: str
    image: Path
    mask: Path


def find_pairs(split_dir: str | Path, *, check_sizes: bool = True) -> list[Pair]:
    """Return the image/mask pairs of a split folder, sorted by stem, or raise listing problems."""
    split_dir = Path(split_dir)
    images = _files_by_stem(split_dir / "images", IMAGE_SUFFIXES)
    masks = _files_by_stem(split_dir / "masks", MASK_SUFFIXES)
    without_mask = sorted(set(images) - set(masks))
    without_image = sorted(set(masks) - set(images))
    problems = []
    if without_mask:
        problems.append(_listing("image(s) without a mask", [images[s] for s in without_mask]))
    if without_image:
        problems.append(_listing("mask(s) without an image", [masks[s] for s in without_image]))
    if problems:
        raise FlexsegError(
            f"{split_dir}: images and masks are paired by file stem; "
            + "; ".join(problems)
            + ". Add the missing files or remove the extra ones."
        )
    pairs = [Pair(stem, images[stem], masks[stem]) for stem in sorted(images)]
    if check_sizes:
        check_pair_sizes(pairs, split_dir)
    return pairs


def check_pair_sizes(pairs: list[Pair], where: Path) -> None:
    """Every file opens, and each mask has its image's width and height."""
    unreadable, mismatched = [], []
    for pair in pairs:
        sizes = []
        for path in (pair.image, pair.mask):
            try:
                with Image.open(path) as image:
                    sizes.append(image.size)
            except (OSError, SyntaxError):
                unreadable.append(path)
        if len(sizes) == 2 and sizes[0] != sizes[1]:
            mismatched.append(f"{pair.stem} (image {sizes[0]}, mask {sizes[1]})")
    problems = []
    if unreadable:
        problems.append(_listing("unreadable file(s)", unreadable))
    if mismatched:
        problems.append(_listing("pair(s) whose mask size differs from the image", mismatched))
    if problems:
        raise FlexsegError(f"{where}: " + "; ".join(problems) + ".")


def _files_by_stem(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    if not folder.is_dir():
        raise FlexsegError(
            f"{folder}: folder not found. A split folder holds images/ and masks/ "
            "(dataset layout ROOT/{train,valid,test}/{images,masks})."
        )
    files, unsupported, duplicates = {}, [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix.lower() not in suffixes:
            unsupported.append(path)
            continue
        if path.stem in files:
            duplicates.append(f"{files[path.stem].name} and {path.name}")
        files[path.stem] = path
    if unsupported:
        raise FlexsegError(
            f"{folder}: "
            + _listing("file(s) of an unsupported type", unsupported)
            + f"; expected {', '.join(suffixes)}."
        )
    if duplicates:
        raise FlexsegError(f"{folder}: " + _listing("stem(s) used twice", duplicates) + ".")
    if not files:
        raise FlexsegError(f"{folder}: empty; expected {', '.join(suffixes)} files.")
    return files


def _listing(what: str, items: list) -> str:
    names = [item.name if isinstance(item, Path) else str(item) for item in items]
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return f"{len(names)} {what}: {', '.join(names[:SHOWN])}{more}"
