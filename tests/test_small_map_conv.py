"""flexseg.run.small_map_conv: a small-map convolution written as one matrix product
computes what Keras's own convolution computes on the current backend, and the wrapper
leaves every other convolution to Keras."""

import keras
import numpy as np
import pytest

from flexseg.run import small_map_conv
from tests.conv_checks import count_written_out_maps, keras_own_conv


@pytest.mark.parametrize(
    ("shape", "kernel_size", "padding", "dilation"),
    [
        ((1, 2, 2, 8), (3, 3), "same", (1, 1)),
        ((3, 1, 1, 8), (3, 3), "same", (1, 1)),
        ((2, 2, 5, 4), (3, 3), "same", (1, 1)),
        ((2, 4, 4, 4), (2, 2), "same", (1, 1)),  # even kernel: SAME pads more at the end
        ((2, 3, 4, 4), (4, 3), "same", (1, 1)),
        ((2, 5, 5, 4), (3, 3), "same", (2, 2)),
        ((2, 6, 7, 4), (3, 3), "valid", (1, 1)),
        ((2, 7, 7, 4), (3, 2), "valid", (2, 1)),
        ((2, 4, 4, 4), (1, 1), "same", (1, 1)),
    ],
)
def test_windows_times_kernel_is_keras_convolution(shape, kernel_size, padding, dilation):
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=shape).astype("float32")
    kernel = rng.normal(size=(*kernel_size, shape[-1], 5)).astype("float32")
    expected = keras.ops.convert_to_numpy(
        keras_own_conv()(inputs, kernel, 1, padding, "channels_last", dilation)
    )
    got = small_map_conv.windows_times_kernel(inputs, kernel, padding, dilation)
    got = keras.ops.convert_to_numpy(got)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_only_small_stride_one_maps_are_written_out(monkeypatch):
    routed = count_written_out_maps(monkeypatch)
    conv = small_map_conv.SmallMapConv(keras_own_conv())
    kernel = np.ones((3, 3, 4, 2), "float32")
    for side, strides in ((8, 1), (9, 1), (4, 2)):
        conv(np.ones((1, side, side, 4), "float32"), kernel, strides, "same", "channels_last")
    assert routed == [(8, 8)]  # 81 output pixels, or a stride of 2, stay Keras's


def test_a_kernel_larger_than_a_valid_map_gets_keras_own_error():
    conv = small_map_conv.SmallMapConv(keras_own_conv())
    inputs, kernel = np.zeros((1, 1, 1, 4), "float32"), np.zeros((3, 3, 4, 2), "float32")
    with pytest.raises(Exception) as raised:
        keras.ops.convert_to_numpy(conv(inputs, kernel, 1, "valid", "channels_last"))
    with pytest.raises(type(raised.value)):
        keras.ops.convert_to_numpy(keras_own_conv()(inputs, kernel, 1, "valid", "channels_last"))
