"""Convolutions on small maps as one matrix product, written with `keras.ops` only: the
speed-up `flexseg.run.jax_speedups` and `flexseg.run.tensorflow_speedups` install into
Keras's JAX and TensorFlow `conv`.

CPU convolution kernels are very slow when a map is smaller than the kernel's reach. A 3x3
convolution of 2048 channels on a 2x2 map, the bridge of the original's 8-level FlexUNet at
256x256, runs at 0.6 GMAC/s in XLA on the 2-core CPU, against 162 at 16x16, and its
gradient is as slow (`python -m benchmarks.small_maps`, benchmarks/results/small_maps_cpu.md;
see openxla/xla#34273 for another shape XLA convolves badly). oneDNN's kernel gradient, which
TensorFlow uses, is slow on the same layers (benchmarks/results/profile_tensorflow_cpu.md).
On such maps a convolution is cheaper written out: the kernel's shifted windows of the map
side by side (im2col), times the kernel as one matrix. `SmallMapConv` routes stride-1,
ungrouped, channels-last 2D convolutions whose output has at most `SMALL_MAP_PIXELS` pixels
per image that way, where the windows cost little memory; every other convolution, and a
kernel larger than a "valid" map (Keras's own error), goes to Keras's own function. Results
equal Keras's to float rounding.

Example:
    >>> import numpy as np
    >>> inputs, kernel = np.ones((1, 2, 2, 3), "float32"), np.ones((3, 3, 3, 4), "float32")
    >>> keras.ops.convert_to_numpy(windows_times_kernel(inputs, kernel, "same", (1, 1)))[0, 0, 0]
    array([12., 12., 12., 12.], dtype=float32)
"""

from __future__ import annotations

import keras
from keras import ops

from flexseg.run.conv_wrapper import KerasConvWrapper

# Output pixels per image up to which a convolution is one matrix product. On the 2-core CPU
# written out is, in XLA (benchmarks/results/small_maps_cpu.md), 1.4x (forward) and 3x
# (gradient) faster at 8x8, about even at 16x16 and 32x32, slower from 64x64 up; for
# TensorFlow's whole training step, bounds of 256 and 1024 pixels were slower than 64.
SMALL_MAP_PIXELS = 64


class SmallMapConv(KerasConvWrapper):
    """A Keras backend's `conv`, except small-map convolutions go through
    `windows_times_kernel`."""

    def __call__(self, inputs, kernel, strides=1, padding="valid", data_format=None,
                 dilation_rate=1):  # fmt: skip
        data_format = data_format or keras.config.image_data_format()
        inputs = ops.convert_to_tensor(inputs)
        dilation = pair(dilation_rate)
        if (
            data_format == "channels_last"
            and inputs.ndim == 4
            and pair(strides) == (1, 1)
            and dilation is not None
            and str(padding).lower() in ("same", "valid")
            and inputs.shape[-1] == kernel.shape[-2]  # not grouped
            and output_pixels(inputs.shape, kernel.shape, padding, dilation) <= SMALL_MAP_PIXELS
        ):
            return windows_times_kernel(inputs, kernel, str(padding).lower(), dilation)
        return self.keras_conv(inputs, kernel, strides, padding, data_format, dilation_rate)


def pair(value) -> tuple[int, int] | None:
    """(rows, columns) of an int or a 2-sequence; None for anything else."""
    if isinstance(value, int):
        return (value, value)
    values = tuple(value)
    return values if len(values) == 2 else None


def reach(size: int, dilation: int) -> int:
    """How many input pixels one output pixel sees along an axis."""
    return dilation * (size - 1) + 1


def output_pixels(input_shape, kernel_shape, padding, dilation) -> float:
    """Output pixels per image; infinite while a size is unknown (symbolic shapes) or where
    the kernel does not fit (Keras's own function says so)."""
    height, width = input_shape[1:3]
    if height is None or width is None:
        return float("inf")
    if str(padding).lower() == "valid":
        height -= reach(kernel_shape[0], dilation[0]) - 1
        width -= reach(kernel_shape[1], dilation[1]) - 1
    return height * width if height > 0 and width > 0 else float("inf")


def windows_times_kernel(inputs, kernel, padding: str, dilation: tuple[int, int]):
    """A stride-1 2D convolution, (N, H, W, C) by (kh, kw, C, O), as im2col and one matrix
    product; `padding` "same" (zeros placed as XLA's and TensorFlow's SAME place them: the odd
    one at the end) or "valid"."""
    kernel = ops.convert_to_tensor(kernel)  # under mixed precision: the computing dtype
    rows, cols, channels, filters = kernel.shape
    reaches = (reach(rows, dilation[0]), reach(cols, dilation[1]))
    inputs = ops.cast(inputs, kernel.dtype)
    if padding == "same":
        edges = [((r - 1) // 2, r // 2) for r in reaches]
        inputs = ops.pad(inputs, ((0, 0), *edges, (0, 0)))
    height, width = (inputs.shape[1 + axis] - reaches[axis] + 1 for axis in (0, 1))
    windows = [
        inputs[
            :, i * dilation[0] : i * dilation[0] + height, j * dilation[1] : j * dilation[1] + width
        ]
        for i in range(rows)
        for j in range(cols)
    ]
    matrix = ops.reshape(ops.concatenate(windows, axis=-1), (-1, rows * cols * channels))
    product = ops.matmul(matrix, ops.reshape(kernel, (-1, filters)))
    return ops.reshape(product, (-1, height, width, filters))
