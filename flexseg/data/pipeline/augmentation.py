"""Online augmentation applied identically to images and their label maps.

Geometric transforms move image and labels together (labels by nearest neighbour, so no new
class appears); photometric ones change the image only. Keras's augmentation layers do the
work where they handle segmentation masks on every backend: flips, zoom, translation, elastic
deformation, brightness, contrast and blur. Arbitrary rotation uses scipy, because Keras 3.15's
RandomRotation returns an empty mask on the torch backend; 90-degree turns and noise use NumPy.

Every batch draws its randomness from its own seed, made from the augmenter's seed and the
batch's key (the dataset passes its epoch and batch index), so a batch is augmented the same
however many loader threads there are and in whatever order they ask.

Example:
    >>> import numpy as np
    >>> augmenter = Augmenter(Augmentation(hflip=True, rotation=10, brightness=0.1), seed=0)
    >>> images = np.zeros((2, 32, 32, 3), np.float32)
    >>> images, labels = augmenter(images, np.zeros((2, 32, 32), np.uint8), key=(0, 0))
    >>> images.shape, labels.shape, labels.dtype
    ((2, 32, 32, 3), (2, 32, 32), dtype('uint8'))
    >>> again, _ = augmenter(np.zeros((2, 32, 32, 3), np.float32), labels, key=(0, 0))
    >>> bool(np.array_equal(images, again))  # the same key, the same augmentation
    True
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from scipy import ndimage

from flexseg.errors import FlexsegError
from flexseg.suggest import did_you_mean


@dataclass(frozen=True)
class Augmentation:
    """What to augment, and how strongly; the defaults turn everything off.

    Attributes:
        hflip, vflip: random horizontal / vertical flips.
        rot90: random multiples of 90 degrees (square images; else 0 or 180 degrees).
        rotation: maximum rotation in degrees, sampled in [-rotation, rotation].
        zoom: maximum zoom as a fraction of the size, in [-zoom, zoom].
        shift: maximum shift as a fraction of height and width.
        elastic: maximum elastic-deformation strength in [0, 1] (Keras's `scale`).
        brightness, contrast: maximum change as a fraction, in [0, 1].
        noise: standard deviation of Gaussian noise, in pixel units (0-255).
        blur: maximum Gaussian blur sigma in pixels.
    """

    hflip: bool = False
    vflip: bool = False
    rot90: bool = False
    rotation: float = 0.0
    zoom: float = 0.0
    shift: float = 0.0
    elastic: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0
    noise: float = 0.0
    blur: float = 0.0

    def __post_init__(self):
        limits = {
            "rotation": 180.0, "zoom": 0.9, "shift": 0.5, "elastic": 1.0,
            "brightness": 1.0, "contrast": 1.0, "noise": 255.0, "blur": 20.0,
        }  # fmt: skip
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in ("hflip", "vflip", "rot90"):
                if not isinstance(value, bool):
                    raise FlexsegError(
                        f"augmentation {field.name} must be true or false; got {value!r}."
                    )
            elif (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (0 <= value <= limits[field.name])
            ):
                raise FlexsegError(
                    f"augmentation {field.name} must be a number in [0, {limits[field.name]:g}]; "
                    f"got {value!r}."
                )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Augmentation:
        """Build from a config table; unknown keys are errors with a suggestion."""
        names = [field.name for field in dataclasses.fields(cls)]
        for key in values:
            if key not in names:
                raise FlexsegError(
                    f"unknown augmentation {key!r}.{did_you_mean(key, names)} "
                    f"Known: {', '.join(names)}."
                )
        return cls(**values)

    @property
    def enabled(self) -> bool:
        return any(getattr(self, field.name) for field in dataclasses.fields(self))


class Augmenter:
    """Applies an `Augmentation` to batches of (images 0-255, label maps).

    A batch's augmentation depends only on the seed and the batch's `key`; without a key,
    on the number of calls before it (deterministic for a seed when called in one thread).
    """

    def __init__(self, augmentation: Augmentation, seed: int = 0):
        self.augmentation = augmentation
        self.seed = seed
        self._calls = itertools.count()
        a = augmentation
        layers = keras.layers
        mask_aware = []  # move images and masks together
        # Their own generators go unused (`_keras_layers` gives each call its own); the seeds
        # keep building them from drawing on the global random state.
        if a.hflip or a.vflip:
            mode = (
                "horizontal_and_vertical"
                if a.hflip and a.vflip
                else ("horizontal" if a.hflip else "vertical")
            )
            mask_aware.append(layers.RandomFlip(mode, seed=seed + 1))
        if a.zoom:
            mask_aware.append(layers.RandomZoom(a.zoom, fill_mode="reflect", seed=seed + 2))
        if a.shift:
            mask_aware.append(
                layers.RandomTranslation(a.shift, a.shift, fill_mode="reflect", seed=seed + 3)
            )
        if a.elastic:
            mask_aware.append(
                layers.RandomElasticTransform(
                    factor=1.0,
                    scale=a.elastic,
                    fill_mode="reflect",
                    value_range=(0, 255),
                    seed=seed + 4,
                )
            )
        if a.brightness:
            mask_aware.append(
                layers.RandomBrightness(a.brightness, value_range=(0, 255), seed=seed + 5)
            )
        if a.contrast:
            mask_aware.append(
                layers.RandomContrast(a.contrast, value_range=(0, 255), seed=seed + 6)
            )
        if a.blur:
            mask_aware.append(
                layers.RandomGaussianBlur(
                    factor=1.0,
                    kernel_size=max(3, 2 * int(np.ceil(2 * a.blur)) + 1),
                    sigma=a.blur,
                    value_range=(0, 255),
                    seed=seed + 7,
                )
            )
        self._layers = mask_aware

    def __call__(
        self, images: np.ndarray, labels: np.ndarray, key: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """images (B, H, W, C) in 0-255, labels (B, H, W) uint8 -> the same, augmented.

        `key`: non-negative integers naming the batch (the dataset's epoch and batch index)."""
        a = self.augmentation
        key = (next(self._calls),) if key is None else tuple(key)
        rng = np.random.default_rng(np.random.SeedSequence((self.seed, *key)))
        images = np.asarray(images, dtype=np.float32).copy()
        labels = np.asarray(labels, dtype=np.uint8).copy()
        if a.rot90:
            images, labels = self._rot90(images, labels, rng)
        if a.rotation:
            images, labels = self._rotate(images, labels, rng)
        if self._layers:
            images, labels = self._keras_layers(images, labels, rng)
        if a.noise:
            images = images + rng.normal(0.0, a.noise, images.shape).astype(np.float32)
        return np.clip(images, 0, 255), labels

    def _keras_layers(self, images, labels, rng):
        """Keras's layers, each drawing from a new generator seeded from `rng`: a layer's own
        generator is shared by the loader threads, so its draws would follow their order."""
        masks = keras.ops.convert_to_tensor(labels[..., None].astype(np.float32))
        images = keras.ops.convert_to_tensor(images)
        for layer in self._layers:
            generator = keras.random.SeedGenerator(int(rng.integers(2**31)))
            data = {"images": images, "segmentation_masks": masks}
            change = layer.get_random_transformation(data, training=True, seed=generator)
            images = layer.transform_images(images, change, training=True)
            masks = layer.transform_segmentation_masks(masks, change, training=True)
        labels = np.rint(keras.ops.convert_to_numpy(masks)[..., 0]).astype(np.uint8)
        return keras.ops.convert_to_numpy(images).astype(np.float32), labels

    def _rot90(self, images, labels, rng):
        square = images.shape[1] == images.shape[2]
        for i in range(len(images)):
            turns = int(rng.integers(4)) if square else 2 * int(rng.integers(2))
            images[i] = np.rot90(images[i], turns, axes=(0, 1))
            labels[i] = np.rot90(labels[i], turns, axes=(0, 1))
        return images, labels

    def _rotate(self, images, labels, rng):
        for i in range(len(images)):
            angle = float(rng.uniform(-self.augmentation.rotation, self.augmentation.rotation))
            images[i] = ndimage.rotate(
                images[i], angle, axes=(1, 0), reshape=False, order=1, mode="reflect"
            )
            labels[i] = ndimage.rotate(
                labels[i], angle, axes=(1, 0), reshape=False, order=0, mode="reflect"
            )
        return images, labels
