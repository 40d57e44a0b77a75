"""Train/valid/test splits per source image, stratified by kind (defect type or "good").

Example:
    >>> stratified_split(["good"] * 5 + ["scratch"] * 5, (0.6, 0.2, 0.2), seed=0).count("test")
    2
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from flexseg.errors import FlexsegError

SPLITS = ("train", "valid", "test")


def parse_fractions(text: str) -> tuple[float, float, float]:
    """'0.6,0.2,0.2' -> (0.6, 0.2, 0.2), checked."""
    try:
        fractions = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise FlexsegError(
            f"split must be three comma-separated fractions; got {text!r}."
        ) from None
    return check_fractions(fractions)


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    if (
        len(fractions) != 3
        or any(f < 0 for f in fractions)
        or not math.isclose(sum(fractions), 1.0)
    ):
        raise FlexsegError(
            "split must be three fractions (train, valid, test) summing to 1; "
            f"got {tuple(fractions)}."
        )
    return tuple(fractions)


def stratified_split(kinds: Sequence[str], fractions: Sequence[float], seed: int) -> list[str]:
    """The split of each item; each kind is divided by the fractions, seeded, then every split
    that would be empty takes one item from the largest split."""
    fractions = check_fractions(fractions)
    rng = np.random.default_rng([seed, 2**31])
    assignment = [""] * len(kinds)
    by_kind: dict[str, list[int]] = {}
    for index, kind in enumerate(kinds):
        by_kind.setdefault(kind, []).append(index)
    for kind in sorted(by_kind):
        indices = rng.permutation(by_kind[kind])
        n_valid = round(len(indices) * fractions[1])
        n_test = round(len(indices) * fractions[2])
        for position, index in enumerate(indices):
            assignment[index] = (
                "valid"
                if position < n_valid
                else "test"
                if position < n_valid + n_test
                else "train"
            )
    if len(kinds) >= len(SPLITS):
        for part in SPLITS:
            if part not in assignment:
                donor = max(SPLITS, key=assignment.count)
                assignment[assignment.index(donor)] = part
    return assignment
