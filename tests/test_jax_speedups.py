"""flexseg.run.jax_speedups: with small-map convolutions written as one matrix product
(flexseg.run.small_map_conv, tested on its own too), JAX trains as Keras's own path does."""

import keras
import numpy as np
import pytest

import flexseg
from flexseg.run import jax_speedups, small_map_conv
from tests.conv_checks import count_written_out_maps, keras_own_conv

on_jax = pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="JAX speed-ups apply to the JAX backend only"
)


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    # A 32x32 input reaches 4x4 maps (16 pixels) at the tiny model's bottom.
    return flexseg.build("flexunet_tiny", input_shape=(32, 32, 3), dropout_rate=0.0)


def _losses(model, steps=3):
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    labels = np.eye(model.output_shape[-1], dtype="float32")[rng.integers(0, 3, (2, 32, 32))]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy")
    return [float(model.train_on_batch(images, labels)) for _ in range(steps)]


@on_jax
def test_training_matches_keras_own_path(monkeypatch):
    from keras.src.backend.jax import nn as jax_nn

    monkeypatch.setattr(jax_nn, "conv", keras_own_conv())
    routed = count_written_out_maps(monkeypatch)
    expected = _losses(_model())
    assert jax_speedups.speed_up() == ["small_map_convolutions"]
    assert isinstance(jax_nn.conv, small_map_conv.SmallMapConv)
    got = _losses(_model())
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    # Only the small maps are written out; the 32x32 and 16x16 convolutions stay Keras's.
    assert routed and all(h * w <= small_map_conv.SMALL_MAP_PIXELS for h, w in routed)


@on_jax
def test_a_kernel_larger_than_a_valid_map_gets_keras_own_error():
    jax_speedups.speed_up()
    inputs, kernel = np.zeros((1, 1, 1, 4), "float32"), np.zeros((3, 3, 4, 2), "float32")
    with pytest.raises(ValueError, match="empty output"):
        keras.ops.conv(inputs, kernel, padding="valid")


@on_jax
def test_opt_out(monkeypatch):
    monkeypatch.setenv(jax_speedups.OPT_OUT, "0")
    assert jax_speedups.speed_up() == []


def test_other_backends_untouched():
    if keras.backend.backend() == "jax":
        pytest.skip("the JAX backend is the one that changes")
    assert jax_speedups.speed_up(_model()) == []
