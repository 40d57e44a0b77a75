"""Shared layers: PixelConv2DTranspose computes what Keras's Conv2DTranspose computes; the
window attention keeps windows (and shifted windows) apart; the fixed filter filters; the
inference class factors rescale probabilities at inference only."""

import keras
import numpy as np
import pytest

from flexseg.models.parts.layers import (
    FixedDepthwiseFilter,
    InferenceClassFactors,
    PatchExpanding,
    PatchMerging,
    PixelConv2DTranspose,
    WindowAttention,
)
from tests.model_checks import skip_unless_channels_first_runs


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kernel", [2, 3])
def test_same_outputs_and_gradients_as_conv2d_transpose(data_format, kernel):
    if data_format == "channels_first":
        skip_unless_channels_first_runs()
    shape = (2, 5, 6, 3) if data_format == "channels_last" else (2, 3, 5, 6)
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    options = dict(padding="same", data_format=data_format, activation="relu")
    reference = keras.layers.Conv2DTranspose(4, kernel, strides=kernel, **options)
    pixel = PixelConv2DTranspose(4, kernel, **options)
    reference.build(shape)
    pixel.build(shape)
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") for w in reference.get_weights()]
    reference.set_weights(weights)
    pixel.set_weights(weights)
    expected = keras.ops.convert_to_numpy(reference(x))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pixel(x)), expected, atol=1e-5)
    assert pixel.compute_output_shape(shape) == reference.compute_output_shape(shape)


def test_round_trips_through_keras_serialization():
    layer = PixelConv2DTranspose(8, 2, padding="same", name="up")
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(restored, PixelConv2DTranspose)
    assert restored.strides == (2, 2) and restored.filters == 8


def test_dilation_and_output_padding_are_refused():
    with pytest.raises(ValueError, match="dilation_rate"):
        PixelConv2DTranspose(4, 2, dilation_rate=2)
    with pytest.raises(ValueError, match="takes no dilation_rate or output_padding"):
        PixelConv2DTranspose(4, 2, output_padding=1)


def _attention_outputs(layer, images):
    return keras.ops.convert_to_numpy(layer(images, training=False))


@pytest.mark.parametrize("shift", [False, True])
def test_window_attention_only_mixes_pixels_of_one_window(shift):
    """Change one pixel; outputs may change only where that pixel's window reaches."""
    rng = np.random.default_rng(0)
    images = rng.normal(size=(1, 8, 8, 4)).astype("float32")
    layer = WindowAttention(num_heads=2, window_size=4, shift=shift)
    before = _attention_outputs(layer, images)
    changed = images.copy()
    changed[0, 0, 0] += 5.0  # top-left pixel
    moved = np.abs(_attention_outputs(layer, changed) - before).max(axis=-1)[0] > 1e-6
    if shift:
        # Shifted by 2: the top-left pixel shares its window only with rows and columns 0-1
        # (the wrapped rows 6-7 and columns 6-7 are masked out).
        expected = np.zeros((8, 8), bool)
        expected[:2, :2] = True
    else:
        expected = np.zeros((8, 8), bool)
        expected[:4, :4] = True
    np.testing.assert_array_equal(moved, expected)


def test_window_attention_on_a_map_smaller_than_the_window_is_one_window():
    layer = WindowAttention(num_heads=1, window_size=8, shift=True)
    images = np.random.default_rng(0).normal(size=(2, 4, 4, 2)).astype("float32")
    assert _attention_outputs(layer, images).shape == (2, 4, 4, 2)
    assert layer.window == 4 and layer.shift_size == 0


def test_window_attention_rejects_maps_that_do_not_divide_into_windows():
    with pytest.raises(ValueError, match="does not divide into 4-pixel windows"):
        WindowAttention(num_heads=1, window_size=4)(np.zeros((1, 6, 8, 2), "float32"))


def test_fixed_filter_has_no_weights_and_filters_each_channel():
    layer = FixedDepthwiseFilter(((-1, -1, -1), (-1, 8, -1), (-1, -1, -1)))
    constant = np.full((1, 5, 5, 2), 3.0, "float32")
    outputs = keras.ops.convert_to_numpy(layer(constant))
    assert layer.weights == []
    np.testing.assert_allclose(outputs[0, 1:-1, 1:-1], 0.0)  # a Laplacian of a flat image
    spike = np.zeros((1, 5, 5, 2), "float32")
    spike[0, 2, 2, 1] = 1.0
    outputs = keras.ops.convert_to_numpy(layer(spike))
    assert outputs[0, 2, 2, 1] == 8.0 and outputs[0, 1, 1, 1] == -1.0
    np.testing.assert_allclose(outputs[..., 0], 0.0)  # channels stay apart


def test_patch_merging_and_expanding_shapes_and_macs():
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 6)).astype("float32")
    merge = PatchMerging()
    assert tuple(merge(images).shape) == (2, 4, 4, 12)
    assert merge.macs((None, 8, 8, 6)) == 4 * 4 * 24 * 12
    expand2, expand4 = PatchExpanding(2), PatchExpanding(4)
    assert tuple(expand2(images).shape) == (2, 16, 16, 3)
    assert tuple(expand4(images).shape) == (2, 32, 32, 6)


@pytest.mark.parametrize("axis", [-1, 1])
def test_inference_class_factors_rescale_probabilities_at_inference_only(axis):
    size = (2, 4, 5, 3) if axis == -1 else (2, 3, 4, 5)  # the classes on `axis`
    logits = np.random.default_rng(0).normal(size=size).astype("float32")
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=axis))
    factors = [1.0, 0.5, 0.1]
    layer = InferenceClassFactors(factors, axis=axis)
    shape = [1, 1, 1, 1]
    shape[axis] = 3
    expected = probabilities * np.reshape(factors, shape)
    expected /= expected.sum(axis=axis, keepdims=True)
    corrected = keras.ops.convert_to_numpy(layer(probabilities))
    np.testing.assert_allclose(corrected, expected, rtol=1e-5)
    trained = keras.ops.convert_to_numpy(layer(probabilities, training=True))
    np.testing.assert_array_equal(trained, probabilities)
    again = InferenceClassFactors.from_config(layer.get_config())
    assert again.factors == factors and again.axis == axis and not again.weights


@pytest.mark.parametrize("factors", [[], [1.0, 0.0], [1.0, -2.0], [1.0, float("inf")]])
def test_inference_class_factors_must_be_positive(factors):
    with pytest.raises(ValueError, match="factors must be positive numbers"):
        InferenceClassFactors(factors)
