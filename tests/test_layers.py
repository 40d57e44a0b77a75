"""Shared layers: PixelConv2DTranspose computes what Keras's Conv2DTranspose computes."""

import keras
import numpy as np
import pytest

from flexseg.models.layers import PixelConv2DTranspose


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kernel", [2, 3])
def test_same_outputs_and_gradients_as_conv2d_transpose(data_format, kernel):
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
