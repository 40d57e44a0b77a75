"""Metrics logged while training: foreground mean IoU, IoU per class, and the legacy dice.

`SegmentationIoU` accumulates one confusion matrix over the epoch and reports `fg_miou` (mean
IoU over the classes after the background, the headline) and `iou_<class>` for every class.
Pixels count once each, whatever their class weight; pixels of weight 0 (ignored) not at all.
The confusion matrix is a product of one-hot matrices, which every backend compiles (Keras
3.15's `keras.metrics.IoU` scatters pixel by pixel in a Python loop on torch: seconds per step).
The original's "dice_coef_multiclass" is available only as `legacy_dice_coef_multiclass`: it
is soft pixel accuracy, and an all-background prediction scores 0.997 on screw data.

Example:
    >>> import numpy as np
    >>> metric = SegmentationIoU(["background", "scratch"])
    >>> truth = np.eye(2, dtype="float32")[np.array([[[0, 1], [1, 1]]])]
    >>> prediction = np.eye(2, dtype="float32")[np.array([[[0, 1], [0, 1]]])]
    >>> metric.update_state(truth, prediction)
    >>> {k: round(float(v), 3) for k, v in metric.result().items()}
    {'fg_miou': 0.667, 'iou_background': 0.5, 'iou_scratch': 0.667}
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops


def training_metrics(class_names: Sequence[str], legacy_dice: bool = False) -> list:
    """The metrics flexseg compiles models with."""
    metrics = [SegmentationIoU(class_names)]
    if legacy_dice:
        metrics.append(LegacyDiceCoefMulticlass())
    return metrics


@keras.saving.register_keras_serializable(package="flexseg")
class SegmentationIoU(keras.metrics.Metric):
    """fg_miou and iou_<class> from one confusion matrix (rows: truth) over one-hot labels."""

    def __init__(self, class_names: Sequence[str], name: str = "segmentation_iou", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.class_names = list(class_names)
        k = len(self.class_names)
        self.confusion = self.add_variable(
            shape=(k, k), initializer="zeros", dtype="float32", name="confusion"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        k = len(self.class_names)
        truth = ops.reshape(ops.cast(y_true, "float32"), (-1, k))
        predicted = ops.one_hot(ops.reshape(ops.argmax(y_pred, axis=-1), (-1,)), k)
        if sample_weight is not None:
            keep = ops.cast(ops.reshape(sample_weight, (-1, 1)) > 0, "float32")
            truth = truth * keep
        self.confusion.assign_add(ops.matmul(ops.transpose(truth), predicted))

    def result(self):
        c = self.confusion
        hits = ops.diagonal(c)
        union = ops.sum(c, axis=0) + ops.sum(c, axis=1) - hits
        present = ops.cast(union > 0, "float32")
        iou = ops.divide_no_nan(hits, union)
        foreground = ops.divide_no_nan(ops.sum(iou[1:]), ops.sum(present[1:]))
        results = {"fg_miou": foreground}
        for index, name in enumerate(self.class_names):
            results[f"iou_{name}"] = iou[index]
        return results

    def reset_state(self):
        self.confusion.assign(ops.zeros(self.confusion.shape, dtype=self.confusion.dtype))

    def get_config(self):
        return {"class_names": self.class_names, "name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="flexseg")
class LegacyDiceCoefMulticlass(keras.metrics.MeanMetricWrapper):
    """LEGACY, for comparison with TensorFlow-FlexUNet only: soft Dice summed over height,
    width and every class including background, i.e. soft pixel accuracy. Do not select models
    with it."""

    def __init__(self, name="legacy_dice_coef_multiclass", dtype=None):
        super().__init__(fn=_legacy_dice, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def _legacy_dice(y_true, y_pred, smooth=1e-6):
    y_true = ops.cast(y_true, y_pred.dtype)
    intersection = ops.sum(y_true * y_pred, axis=(1, 2, 3))
    total = ops.sum(y_true, axis=(1, 2, 3)) + ops.sum(y_pred, axis=(1, 2, 3))
    return (2.0 * intersection + smooth) / (total + smooth)
