"""The training metric agrees with the evaluator, ignores weight-0 pixels, and round-trips."""

import keras
import numpy as np
import pytest

from flexseg.metrics import SegmentationScores
from flexseg.metrics.training import LegacyDiceCoefMulticlass, SegmentationIoU, training_metrics

NAMES = ["background", "scratch", "dent", "hole"]


def batch(seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.choice(4, size=(3, 16, 16), p=[0.7, 0.1, 0.1, 0.1])
    noisy = np.where(rng.random(truth.shape) < 0.3, rng.integers(0, 4, truth.shape), truth)
    noisy[..., :2][noisy[..., :2] == 3] = 0
    return truth, np.eye(4, dtype="float32")[noisy] * 0.9 + 0.025


def test_ious_match_the_evaluator_over_several_batches():
    metric, scores = SegmentationIoU(NAMES), SegmentationScores(NAMES)
    for seed in range(3):
        truth, probabilities = batch(seed)
        metric.update_state(np.eye(4, dtype="float32")[truth], probabilities)
        scores.update(truth, probabilities.argmax(-1))
    result, expected = metric.result(), scores.result()
    assert float(result["fg_miou"]) == pytest.approx(expected["miou_foreground"], abs=1e-6)
    for index, name in enumerate(NAMES):
        assert float(result[f"iou_{name}"]) == pytest.approx(expected["iou"][index], abs=1e-6)
    metric.reset_state()
    assert float(np.sum(keras.ops.convert_to_numpy(metric.confusion))) == 0.0


def test_class_weights_do_not_weight_the_counts_and_zero_weight_pixels_are_left_out():
    truth, probabilities = batch()
    one_hot = np.eye(4, dtype="float32")[truth]
    plain, weighted = SegmentationIoU(NAMES), SegmentationIoU(NAMES)
    plain.update_state(one_hot, probabilities)
    weights = np.where(truth > 0, 30.0, 1.0).astype("float32")
    weighted.update_state(one_hot, probabilities, sample_weight=weights)
    assert float(weighted.result()["fg_miou"]) == pytest.approx(float(plain.result()["fg_miou"]))
    ignored = SegmentationIoU(NAMES)
    ignored.update_state(one_hot, probabilities, sample_weight=(truth != 1).astype("float32"))
    assert float(ignored.result()["iou_scratch"]) == 0.0  # no scratch pixel was counted


def test_compiled_metrics_log_one_entry_per_class():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 1, activation="softmax")(inputs))
    model.compile(
        loss="categorical_crossentropy", metrics=training_metrics(NAMES, legacy_dice=True)
    )
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype("float32")
    y = np.eye(4, dtype="float32")[np.random.default_rng(1).integers(0, 4, (2, 8, 8))]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert {"fg_miou", "iou_background", "iou_hole", "legacy_dice_coef_multiclass"} <= set(logs)
    restored = keras.metrics.deserialize(keras.metrics.serialize(SegmentationIoU(NAMES)))
    assert restored.class_names == NAMES
    assert isinstance(LegacyDiceCoefMulticlass(), keras.metrics.Metric)
