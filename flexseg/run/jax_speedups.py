"""Speed-ups for Keras's JAX backend: convolutions on small maps computed as one matrix
product. The one module where flexseg reaches into JAX and Keras's JAX backend.

XLA's CPU convolution is very slow when a map is smaller than the kernel's reach: a 3x3
convolution of 2048 channels on a 2x2 map (the bridge of the original's 8-level FlexUNet at
256x256) runs at 0.6 GMAC/s on the 2-core CPU, against 162 at 16x16, and its gradient is as
slow (`python -m benchmarks.small_maps`, benchmarks/results/small_maps_cpu.md; see
openxla/xla#34273 for another shape XLA convolves badly).
Zero-padding the map first does not help: XLA folds the padding back into the convolution.
On such maps a convolution is cheaper written out: the kernel's shifted windows of the map
side by side (im2col), times the kernel as one matrix. `small_map_convolutions` routes
Keras's JAX `conv` that way for stride-1, ungrouped 2D convolutions whose output has at
most `SMALL_MAP_PIXELS` pixels per image, where the windows cost little memory; every
other convolution goes to Keras's own function. Results equal Keras's to float rounding.

`speed_up(model)` applies it on the JAX backend on a CPU (through `flexseg.run.speedups`,
which `flexseg train`, `tune`, `evaluate`, `infer` and the benchmarks call); anywhere else,
GPUs included (not measured there), it does nothing. Set `FLEXSEG_JAX_SPEEDUPS=0` to run
Keras's own code paths.

Example:
    >>> import flexseg
    >>> applied = speed_up(flexseg.build("flexunet_tiny"))
    >>> applied == (["small_map_convolutions"] if enabled() else [])
    True
"""

from __future__ import annotations

import os

import keras

from flexseg.run.conv_wrapper import KerasConvWrapper

OPT_OUT = "FLEXSEG_JAX_SPEEDUPS"
# Output pixels per image up to which a convolution is one matrix product. On the 2-core CPU
# (benchmarks/results/small_maps_cpu.md) written out is 1.4x (forward) and 3x (gradient)
# faster at 8x8, about even at 16x16 and 32x32, slower from 64x64 up.
SMALL_MAP_PIXELS = 64


def enabled() -> bool:
    """The JAX backend on a CPU (the speed-up was measured there only), and the opt-out not
    set."""
    if keras.backend.backend() != "jax" or os.environ.get(OPT_OUT, "1").strip() == "0":
        return False
    import jax

    return jax.default_backend() == "cpu"


def speed_up(model: keras.Model | None = None) -> list[str]:
    """Apply this module's speed-ups (process-wide: `model` is not changed); returns the
    names of those applied. Idempotent."""
    if not enabled():
        return []
    return ["small_map_convolutions"] if small_map_convolutions() else []


def small_map_convolutions() -> bool:
    """Keras's JAX convolution, with small-map 2D convolutions written as one matrix product.
    Process-wide, idempotent; returns whether it is in place (only for the Keras versions it
    was checked with)."""
    return _SmallMapConv.install("keras.src.backend.jax.nn")


class _SmallMapConv(KerasConvWrapper):
    """Keras's JAX `conv`, except small-map convolutions go through `windows_times_kernel`."""

    def __call__(self, inputs, kernel, strides=1, padding="valid", data_format=None,
                 dilation_rate=1):  # fmt: skip
        data_format = data_format or keras.config.image_data_format()
        inputs = keras.ops.convert_to_tensor(inputs)
        dilation = _pair(dilation_rate)
        if (
            data_format == "channels_last"
            and inputs.ndim == 4
            and _pair(strides) == (1, 1)
            and dilation is not None
            and str(padding).lower() in ("same", "valid")
            and inputs.shape[-1] == kernel.shape[-2]  # not grouped
            and _output_pixels(inputs.shape, kernel.shape, padding, dilation) <= SMALL_MAP_PIXELS
        ):
            return windows_times_kernel(inputs, kernel, str(padding).lower(), dilation)
        return self.keras_conv(inputs, kernel, strides, padding, data_format, dilation_rate)


def _pair(value) -> tuple[int, int] | None:
    """(rows, columns) of an int or a 2-sequence; None for anything else."""
    if isinstance(value, int):
        return (value, value)
    values = tuple(value)
    return values if len(values) == 2 else None


def _reach(size: int, dilation: int) -> int:
    """How many input pixels one output pixel sees along an axis."""
    return dilation * (size - 1) + 1


def _output_pixels(input_shape, kernel_shape, padding, dilation) -> float:
    """Output pixels per image; infinite while a size is unknown (symbolic shapes) or where
    the kernel does not fit (Keras's own function says so)."""
    height, width = input_shape[1:3]
    if height is None or width is None:
        return float("inf")
    if str(padding).lower() == "valid":
        height -= _reach(kernel_shape[0], dilation[0]) - 1
        width -= _reach(kernel_shape[1], dilation[1]) - 1
    return height * width if height > 0 and width > 0 else float("inf")


def windows_times_kernel(inputs, kernel, padding: str, dilation: tuple[int, int]):
    """A stride-1 2D convolution, (N, H, W, C) by (kh, kw, C, O), as im2col and one matrix
    product; `padding` "same" (zeros placed as XLA's SAME places them) or "valid"."""
    import jax.numpy as jnp

    kernel = jnp.asarray(kernel)
    rows, cols, channels, filters = kernel.shape
    reach = (_reach(rows, dilation[0]), _reach(cols, dilation[1]))
    inputs = inputs.astype(kernel.dtype)
    if padding == "same":
        edges = [((r - 1) // 2, r // 2) for r in reach]
        inputs = jnp.pad(inputs, ((0, 0), *edges, (0, 0)))
    height, width = (inputs.shape[1 + axis] - reach[axis] + 1 for axis in (0, 1))
    windows = [
        inputs[
            :, i * dilation[0] : i * dilation[0] + height, j * dilation[1] : j * dilation[1] + width
        ]
        for i in range(rows)
        for j in range(cols)
    ]
    matrix = jnp.concatenate(windows, axis=-1).reshape(-1, rows * cols * channels)
    product = matrix @ kernel.reshape(-1, filters)
    return product.reshape(inputs.shape[0], height, width, filters)
