"""Metrics logged while training: foreground mean IoU, IoU per class, and the legacy dice.

Foreground mIoU and per-class IoU come from `keras.metrics.IoU`, which accumulates a confusion
matrix over the epoch (background excluded from the headline). The original's
"dice_coef_multiclass" is available only as `legacy_dice_coef_multiclass`: it is soft pixel
accuracy, and an all-background prediction scores 0.997 on screw data.

Example:
    >>> metrics = training_metrics(["background", "scratch", "dent"])
    >>> [m.name for m in metrics]
    ['fg_miou', 'iou_background', 'iou_scratch', 'iou_dent']
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops


def training_metrics(class_names: Sequence[str], legacy_dice: bool = False) -> list:
    k = len(class_names)
    metrics = [
        keras.metrics.IoU(
            num_classes=k, target_class_ids=list(range(1, k)), sparse_y_true=False,
            sparse_y_pred=False, name="fg_miou",
        )
    ]  # fmt: skip
    metrics += [
        keras.metrics.IoU(
            num_classes=k,
            target_class_ids=[i],
            sparse_y_true=False,
            sparse_y_pred=False,
            name=f"iou_{name}",
        )
        for i, name in enumerate(class_names)
    ]
    if legacy_dice:
        metrics.append(LegacyDiceCoefMulticlass())
    return metrics


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
