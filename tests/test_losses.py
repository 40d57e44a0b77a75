"""Losses by name, and per-pixel class weights applied to every part of a summed loss."""

import keras
import numpy as np
import pytest

from flexseg.run.losses import get_loss


def one_hot(labels, classes=3):
    return np.eye(classes, dtype="float32")[labels]


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (2, 8, 8))
    logits = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return one_hot(labels), probabilities


@pytest.mark.parametrize("spec", ["cce", "dice", "focal", "tversky", "cce+dice"])
def test_pixels_of_weight_zero_count_in_no_part(spec, batch):
    truth, probabilities = batch
    weights = np.ones(truth.shape[:3], "float32")
    weights[:, :4] = 0.0  # the top half is ignored
    changed = probabilities.copy()
    changed[:, :4] = np.roll(changed[:, :4], 1, axis=-1)  # different predictions there only
    loss = get_loss(spec)
    first = float(loss(truth, probabilities, sample_weight=weights))
    second = float(loss(truth, changed, sample_weight=weights))
    assert first == pytest.approx(second, rel=1e-5)
    unweighted = float(loss(truth, changed))
    assert unweighted != pytest.approx(first, rel=1e-3)


def test_class_weights_scale_the_cross_entropy_part_only(batch):
    truth, probabilities = batch
    double = np.full(truth.shape[:3], 2.0, "float32")
    cce, dice = get_loss("cce"), get_loss("dice")
    total = float(get_loss("cce+dice")(truth, probabilities, sample_weight=double))
    expected = 2 * float(cce(truth, probabilities)) + float(dice(truth, probabilities))
    assert total == pytest.approx(expected, rel=1e-5)


def test_summed_loss_round_trips_through_keras_serialization():
    loss = get_loss("cce+tversky")
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    truth = one_hot(np.array([[[0, 1], [2, 1]]]))
    prediction = np.full(truth.shape, 1 / 3, "float32")
    assert restored.name == "cce_plus_tversky"
    assert float(restored(truth, prediction)) == pytest.approx(float(loss(truth, prediction)))
