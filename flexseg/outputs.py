"""Writing tool outputs safely: a dataset folder appears complete, or not at all.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> target = Path(tempfile.mkdtemp()) / "dataset"
    >>> with staged_folder(target) as staging:
    ...     _ = (staging / "file.txt").write_text("done")
    >>> (target / "file.txt").read_text()
    'done'
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from flexseg.errors import FlexsegError


@contextlib.contextmanager
def staged_folder(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder; rename it to `target` only if the block succeeds.

    `target` must not exist, or be an empty folder: earlier results are never overwritten,
    unless `overwrite`, where the old folder is replaced once the new one is complete.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise FlexsegError(f"{target}: is a file; the output must be a folder.")
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise FlexsegError(
            f"{target}: already exists and is not empty; choose a new output folder so earlier "
            "results are not mixed with or overwritten by new ones."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        old = target.with_name(f".{target.name}.old-{staging.name.rpartition('-')[2]}")
        target.replace(old)
        staging.replace(target)
        shutil.rmtree(old)
    else:
        staging.replace(target)


def save_png(path: Path, array: np.ndarray) -> None:
    """Write a PNG, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format="PNG")


def save_figure(figure, path: str | Path, dpi: int = 100) -> None:
    """Save a matplotlib figure under a temporary name, rename it into place, and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
    figure.savefig(temporary, dpi=dpi)
    plt.close(figure)
    temporary.replace(path)


def write_text_atomically(path: Path, text: str) -> None:
    """Write text to a temporary name, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
