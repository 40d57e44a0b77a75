"""Check a dataset before any long work: every image and mask of every split used is paired,
readable in full, of one size with its partner, and colored by the palette.

All problems are reported at once, grouped by split and kind with the first few files, so
one run of the check (or of `flexseg data check ROOT`) lists everything to fix.

Example:
    >>> import tempfile
    >>> from flexseg.data.palette import Palette
    >>> from flexseg.data.synthetic import write_dataset
    >>> root = write_dataset(tempfile.mkdtemp(), size=32, count=6, seed=0).root
    >>> report = check_dataset(root, Palette.load("mvtec_screw"))
    >>> report.ok, report.pairs
    (True, {'train': 4, 'valid': 1, 'test': 1})
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from flexseg.data.images import read_image
from flexseg.data.masks import MaskDecoder, MaskFormat, OffPalette
from flexseg.data.pairs import Findings, Pair, pair_sizes, scan_split
from flexseg.data.palette import Palette
from flexseg.data.splits import SPLITS
from flexseg.errors import FlexsegError
from flexseg.progress import progress as progress_bar

THREADS = 4  # image decoding releases the GIL


class DataError(FlexsegError):
    """A dataset with problems; the message lists them all."""


@dataclass
class CheckReport:
    """What `check_dataset` found: pairs per split, and problems per split."""

    root: Path
    pairs: dict[str, int] = field(default_factory=dict)
    problems: dict[str, Findings] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())

    @property
    def problem_count(self) -> int:
        return sum(findings.count for findings in self.problems.values())

    def message(self) -> str:
        """The report as text: a line per split and kind of problem."""
        checked = ", ".join(f"{split} {n}" for split, n in self.pairs.items())
        if self.ok:
            return f"{self.root}: no problems in {checked} image/mask pairs."
        lines = [f"{self.root}: {self.problem_count} problem(s) in the data ({checked} pairs):"]
        for split, findings in self.problems.items():
            lines += [f"  {split}: {line}" for line in findings.lines()]
        lines.append(
            "Fix or remove these files (or, for colors in no class, use the dataset's palette "
            "or set data.off_palette), then run again."
        )
        return "\n".join(lines)

    def raise_on_problems(self) -> None:
        if not self.ok:
            raise DataError(self.message())


def check_dataset(
    root: str | Path,
    palette: Palette,
    *,
    splits: Sequence[str] | None = None,
    mask_format: MaskFormat = "color",
    off_palette: OffPalette = "error",
    channels: int = 3,
    one_size: bool = False,
    progress: bool = False,
) -> CheckReport:
    """Check `splits` of `root` (default: those present); `one_size` also requires one image
    size per split (what training without data.image_size needs)."""
    root = Path(root)
    if splits is None:
        splits = [split for split in SPLITS if (root / split).is_dir()]
        if not splits:
            raise DataError(
                f"{root}: no train/, valid/ or test/ folder; a dataset root holds "
                "{train,valid,test}/{images,masks}."
            )
    decoder = MaskDecoder(palette, mask_format=mask_format, off_palette=off_palette)
    report = CheckReport(root)
    for split in splits:
        findings = report.problems.setdefault(split, Findings())
        if not (root / split).is_dir():
            findings.add("split folder(s) not found", root / split)
            report.pairs[split] = 0
            continue
        pairs = scan_split(root / split, findings)
        report.pairs[split] = len(pairs)
        with ThreadPoolExecutor(THREADS) as pool:
            checked = pool.map(lambda pair: _check_pair(pair, decoder, channels), pairs)
            results = list(progress_bar(checked, f"{split} pair", progress, total=len(pairs)))
        sizes = {}
        for pair, (size, problems) in zip(pairs, results, strict=True):
            for kind, item in problems:
                findings.add(kind, item)
            if size is not None:
                sizes.setdefault(size, pair.stem)
        if one_size and len(sizes) > 1:
            for size, stem in sizes.items():
                findings.add("image sizes in one split (set data.image_size)", f"{stem} {size}")
    return report


def _check_pair(pair: Pair, decoder: MaskDecoder, channels: int):
    """(the pair's size or None, [(kind, item), ...]): opened, decoded in full and compared."""
    found = Findings()
    size = pair_sizes(pair, found)
    if size is not None:
        try:
            read_image(pair.image, channels)
        except FlexsegError as error:
            found.add("image(s) that do not decode", f"{pair.image.name} ({_reason(error)})")
            size = None
        try:
            decoder.decode_file(pair.mask)
        except FlexsegError as error:
            found.add(_mask_kind(error), f"{pair.mask.name} ({_reason(error)})")
    return size, [(kind, item) for kind, items in found.by_kind.items() for item in items]


def _mask_kind(error: FlexsegError) -> str:
    text = str(error)
    if "match no palette color" in text:
        return "mask(s) with colors of no class"
    if "index mask" in text:
        return "index mask(s) with values that are no class id"
    return "mask(s) that do not decode"


_OFF_PALETTE = re.compile(r"(\d+) pixel\(s\) in (\d+) color\(s\) .*?e\.g\. (\([\d, ]+\))")


def _reason(error: FlexsegError) -> str:
    """The error's own words, short: without the file name it starts with."""
    text = str(error).split(": ", 1)[-1]
    off = _OFF_PALETTE.search(text)
    if off:
        return f"{off[1]} px in {off[2]} color(s), e.g. {off[3]}"
    return text.split(". Fix the mask")[0]


if __name__ == "__main__":  # python -m flexseg.data.check: the same as flexseg data check
    from flexseg.cli.data import main

    sys.exit(main("check"))
