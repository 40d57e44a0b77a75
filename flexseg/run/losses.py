"""Losses by name, resolved from a dict (never `eval`): Keras's own losses, and sums of them.

Names: `cce` (categorical cross-entropy; class weights come from the dataset's per-pixel
sample weights), `dice`, `focal`, `tversky`, and sums written with "+", e.g. `cce+dice`.
Dice and Tversky are computed per image and class (Keras's losses with axis=(1, 2)); a class
absent from both an image's truth and prediction adds a constant 1, which has no gradient.
Class weights weight the pixel-wise losses; pixels of weight 0 (ignored) count in none.

Example:
    >>> import numpy as np
    >>> loss = get_loss("cce+dice")
    >>> truth = np.eye(2, dtype="float32")[np.array([[[0, 1], [1, 0]]])]
    >>> round(float(loss(truth, truth)), 4)
    0.0
"""

from __future__ import annotations

import keras

from flexseg.errors import FlexsegError
from flexseg.suggest import did_you_mean

SPATIAL_AXES = (1, 2)  # channels_last: one Dice / Tversky score per image and class


def _cce():
    return keras.losses.CategoricalCrossentropy(name="cce")


def _dice():
    return keras.losses.Dice(axis=SPATIAL_AXES, name="dice")


def _focal():
    return keras.losses.CategoricalFocalCrossentropy(name="focal")


def _tversky():
    return keras.losses.Tversky(alpha=0.3, beta=0.7, axis=SPATIAL_AXES, name="tversky")


LOSSES = {"cce": _cce, "dice": _dice, "focal": _focal, "tversky": _tversky}


PIXELWISE = {"cce", "focal"}  # one value per pixel: per-pixel weights apply directly


@keras.saving.register_keras_serializable(package="flexseg")
class SumOfLosses(keras.losses.Loss):
    """The sum of named losses, e.g. SumOfLosses(["cce", "dice"]).

    Per-pixel sample weights (class weights, 0 for ignored pixels) weight the pixel-wise
    losses (cce, focal); the region losses (dice, tversky) leave out the pixels of weight 0.
    """

    def __init__(self, names, name=None, reduction="sum_over_batch_size", dtype=None):
        # "+" is not allowed in TensorFlow name scopes: cce+dice is named cce_plus_dice.
        super().__init__(name=name or "_plus_".join(names), reduction=reduction, dtype=dtype)
        self.names = list(names)
        self.parts = [LOSSES[n]() for n in self.names]

    def __call__(self, y_true, y_pred, sample_weight=None):
        total = None
        for name, part in zip(self.names, self.parts, strict=True):
            if name in PIXELWISE:
                value = part(y_true, y_pred, sample_weight=sample_weight)
            else:
                value = part(*_without_ignored(y_true, y_pred, sample_weight))
            total = value if total is None else total + value
        return total

    def call(self, y_true, y_pred):
        return self(y_true, y_pred)

    def get_config(self):
        return {"names": self.names, "name": self.name, "reduction": self.reduction}


def _without_ignored(y_true, y_pred, sample_weight):
    if sample_weight is None:
        return y_true, y_pred
    y_pred = keras.ops.convert_to_tensor(y_pred)
    weights = keras.ops.convert_to_tensor(sample_weight)
    keep = keras.ops.expand_dims(keras.ops.cast(weights > 0, y_pred.dtype), -1)
    truth = keras.ops.cast(y_true, y_pred.dtype)
    return keras.ops.multiply(truth, keep), keras.ops.multiply(y_pred, keep)


def get_loss(spec: str) -> keras.losses.Loss:
    """A loss from its name or a sum of names joined with '+'."""
    names = [part.strip() for part in spec.split("+")]
    for name in names:
        if name not in LOSSES:
            raise FlexsegError(
                f"unknown loss {name!r} in {spec!r}.{did_you_mean(name, LOSSES)} "
                f"Losses: {', '.join(LOSSES)}, or sums such as cce+dice."
            )
    return SumOfLosses(names, name=names[0] if len(names) == 1 else None)
