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

from dataclasses import dataclass, field
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


@dataclass
class Findings:
    """Problems found in a dataset, by kind; each kind lists the files (or descriptions).

    Example:
        >>> findings = Findings()
        >>> findings.add("unreadable file(s)", Path("a.png"))
        >>> findings.summary()
        '1 unreadable file(s): a.png'
    """

    by_kind: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, item: Path | str) -> None:
        self.by_kind.setdefault(kind, []).append(item.name if isinstance(item, Path) else item)

    def __bool__(self) -> bool:
        return bool(self.by_kind)

    @property
    def count(self) -> int:
        return sum(len(items) for items in self.by_kind.values())

    def lines(self) -> list[str]:
        """One line per kind: how many, and the first few."""
        return [_listing(kind, items) for kind, items in self.by_kind.items()]

    def summary(self) -> str:
        return "; ".join(self.lines())


def find_pairs(split_dir: str | Path, *, check_sizes: bool = True) -> list[Pair]:
    """Return the image/mask pairs of a split folder, sorted by stem, or raise listing problems."""
    split_dir = Path(split_dir)
    findings = Findings()
    pairs = scan_split(split_dir, findings)
    if findings:
        pairing = {"image(s) without a mask", "mask(s) without an image"}
        hint = (
            "images and masks are paired by file stem; " if set(findings.by_kind) <= pairing else ""
        )
        fix = (
            ". Add the missing files or remove the extra ones."
            if set(findings.by_kind) & pairing
            else "."
        )
        raise FlexsegError(f"{split_dir}: {hint}{findings.summary()}{fix}")
    if check_sizes:
        check_pair_sizes(pairs, split_dir)
    return pairs


def scan_split(split_dir: Path, findings: Findings) -> list[Pair]:
    """The pairs of a split folder; what keeps files from pairing goes into `findings`."""
    images = _files_by_stem(split_dir / "images", IMAGE_SUFFIXES, findings)
    masks = _files_by_stem(split_dir / "masks", MASK_SUFFIXES, findings)
    if not images or not masks:
        return []
    for stem in sorted(set(images) - set(masks)):
        findings.add("image(s) without a mask", images[stem])
    for stem in sorted(set(masks) - set(images)):
        findings.add("mask(s) without an image", masks[stem])
    return [Pair(stem, images[stem], masks[stem]) for stem in sorted(set(images) & set(masks))]


def check_pair_sizes(pairs: list[Pair], where: Path) -> None:
    """Every file opens, and each mask has its image's width and height."""
    findings = Findings()
    for pair in pairs:
        pair_sizes(pair, findings)
    if findings:
        raise FlexsegError(f"{where}: {findings.summary()}.")


def pair_sizes(pair: Pair, findings: Findings) -> tuple[int, int] | None:
    """The (width, height) of a pair whose files open and agree in size, else None with the
    problem in `findings`."""
    sizes = []
    for path in (pair.image, pair.mask):
        try:
            with Image.open(path) as image:
                sizes.append(image.size)
        except (OSError, SyntaxError, ValueError):
            findings.add("unreadable file(s)", path)
    if len(sizes) < 2:
        return None
    if sizes[0] != sizes[1]:
        findings.add(
            "pair(s) whose mask size differs from the image",
            f"{pair.stem} (image {sizes[0]}, mask {sizes[1]})",
        )
        return None
    return sizes[0]


def _files_by_stem(
    folder: Path, suffixes: tuple[str, ...], findings: Findings
) -> dict[str, Path] | None:
    if not folder.is_dir():
        findings.add(
            "folder(s) not found (a split folder holds images/ and masks/)",
            folder,
        )
        return None
    files = {}
    before = findings.count
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix.lower() not in suffixes:
            findings.add(
                f"file(s) of an unsupported type in {folder.name}/ (expected "
                f"{', '.join(suffixes)})",
                path,
            )
            continue
        if path.stem in files:
            findings.add(
                f"stem(s) used twice in {folder.name}/", f"{files[path.stem].name} and {path.name}"
            )
        files[path.stem] = path
    if not files and findings.count == before:
        findings.add(f"empty folder(s) (expected {', '.join(suffixes)} files)", folder)
    return files


def _listing(what: str, items: list) -> str:
    names = [item.name if isinstance(item, Path) else str(item) for item in items]
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return f"{len(names)} {what}: {', '.join(names[:SHOWN])}{more}"
