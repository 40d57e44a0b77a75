"""Which images a process reads in data-parallel training: its share of every global batch.

A split's images are ordered once per epoch (the same seeded order in every process), padded
so that every batch divides among the devices, and cut into global batches of
`train.batch_size`; process `p` of `P` reads the p-th of P equal, consecutive parts of each
global batch. The union of the parts is therefore exactly the batch that one device would
read, whatever the number of processes.

Padding repeats images from the start of the order: for training ("repeat") they count like
any other image; for validation ("ignore") they weigh 0, so that scores count every image once.

Example:
    >>> import numpy as np
    >>> shard = Shard(index=1, count=2, multiple=2, padding="ignore")
    >>> [(ids.tolist(), padded.tolist()) for ids, padded in shard.batches(np.arange(5), 4)]
    [([2, 3], [False, False]), ([0], [True])]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Padding = Literal["repeat", "ignore"]
Part = tuple[np.ndarray, np.ndarray]  # image indices, and whether each is padding


@dataclass(frozen=True)
class Shard:
    """This process's part of the data: process `index` of `count`, with every global batch
    padded to a multiple of `multiple` (the devices of all processes)."""

    index: int = 0
    count: int = 1
    multiple: int = 1
    padding: Padding = "repeat"

    def __post_init__(self):
        if not 0 <= self.index < self.count:
            raise ValueError(f"process index {self.index} of {self.count} processes")
        if self.multiple % self.count:
            raise ValueError(
                f"{self.multiple} devices cannot split evenly among {self.count} processes"
            )
        if self.padding not in ("repeat", "ignore"):
            raise ValueError(f"padding must be 'repeat' or 'ignore'; got {self.padding!r}")

    @property
    def is_whole(self) -> bool:
        """True when nothing is split or padded: the batches are those of one device."""
        return self.count == 1 and self.multiple == 1

    def padded_length(self, length: int) -> int:
        """`length` images rounded up to a multiple of the devices."""
        return math.ceil(length / self.multiple) * self.multiple

    def num_batches(self, length: int, batch_size: int) -> int:
        """Global batches in an epoch of `length` images."""
        return math.ceil(self.padded_length(length) / batch_size)

    def batches(self, order: np.ndarray, batch_size: int) -> list[Part]:
        """(image indices, padded flags) of this process's part of every global batch."""
        count = self.num_batches(len(order), batch_size)
        return [self.batch(order, batch_size, number) for number in range(count)]

    def batch(self, order: np.ndarray, batch_size: int, number: int) -> Part:
        """(image indices, padded flags) of this process's part of global batch `number`;
        `batch_size` divides by `multiple` (SegmentationDataset checks it when made)."""
        padded = np.resize(np.asarray(order), self.padded_length(len(order)))  # wraps around
        flags = np.arange(len(padded)) >= len(order)
        start = number * batch_size
        ids, pads = padded[start : start + batch_size], flags[start : start + batch_size]
        part = len(ids) // self.count
        chosen = slice(self.index * part, (self.index + 1) * part)
        return ids[chosen], pads[chosen]
