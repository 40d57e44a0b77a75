"""SegmentationDataset: a `keras.utils.PyDataset` over ROOT/{train,valid,test}/{images,masks}.

Example:
    >>> import flexseg
    >>> from flexseg.data import SegmentationDataset
    >>> from flexseg.data.synthetic import write_dataset
    >>> import tempfile
    >>> root = write_dataset(tempfile.mkdtemp(), size=64, count=6, seed=0).root
    >>> train = SegmentationDataset(root, "mvtec_screw", split="train", image_size=(64, 64),
    ...                             batch_size=2)
    >>> images, labels = train[0]
    >>> images.shape, labels.shape
    ((2, 64, 64, 3), (2, 64, 64, 6))
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import keras
import numpy as np
from PIL import Image

from flexseg.data.images import (
    check_scale,
    read_image,
    resize_image,
    resize_labels,
    scale_pixels,
)
from flexseg.data.masks import MaskDecoder, MaskFormat, OffPalette
from flexseg.data.pairs import Pair, find_pairs
from flexseg.data.palette import IGNORE_LABEL, Palette
from flexseg.data.pipeline.augmentation import Augmentation, Augmenter
from flexseg.data.pipeline.sharding import Shard
from flexseg.errors import FlexsegError

log = logging.getLogger("flexseg.data")


class SegmentationDataset(keras.utils.PyDataset):
    """Batches of (images, labels[, sample_weights]) for `model.fit`, on every backend.

    Args:
        root: the dataset root (holding split folders) or, with split=None, a split folder.
        palette: a `Palette`, or what `Palette.load` takes (preset name, TOML or ini path).
        split: "train", "valid", "test", or None when `root` is the split folder.
        image_size: (height, width) to resize to; None keeps the files' size (all equal).
        batch_size: images per batch.
        shuffle: reshuffle the order every epoch (seeded).
        seed: seed of the shuffling and the augmentation; a batch's augmentation depends on
            the seed, the epoch and its index only, so it repeats with any number of workers.
        channels: 1 (gray) or 3 (RGB); files are converted as needed.
        scale: "raw" keeps 0-255 pixels (the original's published configs), "unit" gives 0-1.
        labels: "onehot" (B, H, W, K) float32 or "sparse" (B, H, W) int32.
        class_weights: per-class loss weights (a sequence in class order, or {name: weight});
            adds per-pixel sample weights. Ignored pixels (label 255) always weigh 0.
        augmentation: an `Augmentation` (or a dict of its fields) applied on the fly.
        mask_format, off_palette: how masks decode (see `MaskDecoder`).
        shard: in data-parallel training, this process's part of every batch of
            `batch_size` images (the global batch), padded to divide among the devices.
        workers, use_multiprocessing, max_queue_size: as for `keras.utils.PyDataset`.
    """

    def __init__(
        self,
        root: str | Path,
        palette: Palette | str | Path,
        *,
        split: str | None = "train",
        image_size: tuple[int, int] | None = None,
        batch_size: int = 2,
        shuffle: bool = False,
        seed: int = 0,
        channels: int = 3,
        scale: Literal["raw", "unit"] = "raw",
        labels: Literal["onehot", "sparse"] = "onehot",
        class_weights: Sequence[float] | Mapping[str, float] | None = None,
        augmentation: Augmentation | Mapping | None = None,
        mask_format: MaskFormat = "color",
        off_palette: OffPalette = "error",
        shard: Shard | None = None,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        self.palette = palette if isinstance(palette, Palette) else Palette.load(palette)
        self.folder = Path(root) / split if split else Path(root)
        if batch_size < 1:
            raise FlexsegError(f"batch_size must be >= 1; got {batch_size!r}.")
        check_scale(scale)
        if labels not in ("onehot", "sparse"):
            raise FlexsegError(f"labels must be 'onehot' or 'sparse'; got {labels!r}.")
        if channels not in (1, 3):
            raise FlexsegError(f"channels must be 1 or 3; got {channels!r}.")
        self.pairs: list[Pair] = find_pairs(self.folder)
        self.image_size = _check_size(image_size) or _common_size(self.pairs, self.folder)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.channels = channels
        self.scale = scale
        self.labels = labels
        self.class_weights = _class_weights(class_weights, self.palette)
        self.off_palette = off_palette
        self.decoder = MaskDecoder(self.palette, mask_format=mask_format, off_palette=off_palette)
        if isinstance(augmentation, Mapping):
            augmentation = Augmentation.from_dict(augmentation)
        self.augmenter = (
            Augmenter(augmentation, seed) if augmentation and augmentation.enabled else None
        )
        self.shard = shard or Shard()
        if batch_size % self.shard.multiple:
            raise FlexsegError(
                f"batch_size {batch_size} does not divide among {self.shard.multiple} devices."
            )
        self.off_palette_pixels: dict[str, int] = {}
        self._epoch = 0
        self._order = self._make_order()

    def __len__(self) -> int:
        return self.shard.num_batches(len(self.pairs), self.batch_size)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of a dataset with {len(self)} batches")
        chosen, padded = self.shard.batch(self._order, self.batch_size, index)
        images, labels = zip(*(self.load_pair(self.pairs[i]) for i in chosen), strict=True)
        images = np.stack(images).astype(np.float32)
        labels = np.stack(labels)
        if self.augmenter is not None:
            images, labels = self.augmenter(images, labels, key=(self._epoch, index))
        if self._ignores_padding:
            labels[padded] = IGNORE_LABEL  # counted by no metric, weighed 0 by the loss
        images = scale_pixels(images, self.scale)
        targets = self._targets(labels)
        weights = self._sample_weights(labels)
        return (images, targets) if weights is None else (images, targets, weights)

    @property
    def _ignores_padding(self) -> bool:
        """Whether padding images are there and ignored (validation in data-parallel runs)."""
        padded = self.shard.padded_length(len(self.pairs)) > len(self.pairs)
        return padded and self.shard.padding == "ignore"

    def on_epoch_end(self) -> None:
        self.set_epoch(self._epoch + 1)

    def set_epoch(self, epoch: int) -> None:
        """Go on from `epoch` (counted from 0): its order and augmentation, as if the epochs
        before it had been run. A resumed training starts here, so that it repeats an
        uninterrupted one."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise FlexsegError(f"epoch must be an integer >= 0; got {epoch!r}.")
        self._epoch = epoch
        self._order = self._make_order()

    def first_images(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The first `count` images (float32, in the dataset's scale) and their labels (uint8),
        in file order, without augmentation: a fixed set to watch a model learn."""
        loaded = [self.load_pair(pair) for pair in self.pairs[: min(count, len(self.pairs))]]
        images = np.stack([image for image, _ in loaded])
        return scale_pixels(images, self.scale), np.stack([labels for _, labels in loaded])

    def load_pair(self, pair: Pair) -> tuple[np.ndarray, np.ndarray]:
        """One (image uint8 (H, W, C), labels uint8 (H, W)) at the dataset's size."""
        image = resize_image(read_image(pair.image, self.channels), self.image_size)
        decoded = self.decoder.decode_file(pair.mask)
        if decoded.off_palette_pixels:
            self.off_palette_pixels[pair.mask.name] = decoded.off_palette_pixels
            by_class = ", ".join(f"{k} {v}" for k, v in decoded.off_palette_by_class.items())
            log.warning(
                "%s: %d off-palette pixel(s) (nearest class: %s) -> %s",
                pair.mask,
                decoded.off_palette_pixels,
                by_class,
                self.off_palette,
            )
        return image, resize_labels(decoded.labels, self.image_size)

    def _make_order(self) -> np.ndarray:
        order = np.arange(len(self.pairs))
        if self.shuffle:
            np.random.default_rng([self.seed, self._epoch]).shuffle(order)
        return order

    def _targets(self, labels: np.ndarray) -> np.ndarray:
        if self.labels == "sparse":
            return labels.astype(np.int32)
        eye = np.zeros((256, self.palette.num_classes), np.float32)
        eye[: self.palette.num_classes] = np.eye(self.palette.num_classes, dtype=np.float32)
        return eye[labels]  # ignored pixels (255) become all-zero rows

    def _sample_weights(self, labels: np.ndarray) -> np.ndarray | None:
        ignored = labels == IGNORE_LABEL
        can_ignore = self.off_palette == "ignore" or self._ignores_padding
        if self.class_weights is None and not can_ignore:
            return None  # nothing to weigh (all batches have weights or none: one structure)
        table = np.ones(256, np.float32) if self.class_weights is None else self.class_weights
        weights = table[labels]
        weights[ignored] = 0.0
        return weights


def _check_size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    if (
        not isinstance(size, Sequence)
        or len(size) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in size)
    ):
        raise FlexsegError(f"image_size must be (height, width) positive integers; got {size!r}.")
    return (size[0], size[1])


def _common_size(pairs: list[Pair], folder: Path) -> tuple[int, int]:
    sizes = {}
    for pair in pairs:
        with Image.open(pair.image) as image:
            sizes.setdefault((image.height, image.width), pair.image.name)
    if len(sizes) > 1:
        examples = ", ".join(f"{name} {h}x{w}" for (h, w), name in list(sizes.items())[:3])
        raise FlexsegError(
            f"{folder}: images have {len(sizes)} different sizes ({examples}); pass "
            "image_size=(height, width) to resize them to one."
        )
    return next(iter(sizes))


def _class_weights(weights, palette: Palette) -> np.ndarray | None:
    if weights is None:
        return None
    try:
        values = palette.weights(weights)
    except FlexsegError as error:
        raise FlexsegError(f"class_weights {error}") from None
    table = np.ones(256, np.float32)
    table[: len(values)] = values
    return table
