"""Layers shared by flexseg's architectures.

Example:
    >>> import numpy as np
    >>> up = PixelConv2DTranspose(4, 2, name="up")
    >>> tuple(up(np.zeros((1, 8, 8, 3), "float32")).shape)
    (1, 16, 16, 4)
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="flexseg")
class PixelConv2DTranspose(keras.layers.Conv2DTranspose):
    """A transposed convolution whose kernel equals its stride (e.g. 2x2, stride 2).

    Each input pixel then paints its own kernel-sized block of the output, so the layer is
    one matrix product and a reshape. Same weights, names and outputs as
    `keras.layers.Conv2DTranspose(filters, k, strides=k)` (checkpoints load unchanged), but
    computed with `keras.ops.einsum`: its gradient is about 40x faster on JAX's CPU backend
    (benchmarks/results/backends_cpu.md).
    """

    def __init__(self, filters, kernel_size, **kwargs):
        kwargs.pop("strides", None)
        super().__init__(filters, kernel_size, strides=kernel_size, **kwargs)
        if tuple(self.dilation_rate) != (1, 1) or self.output_padding is not None:
            raise ValueError(
                f"{self.name}: PixelConv2DTranspose takes no dilation_rate or output_padding; "
                f"got {self.dilation_rate} and {self.output_padding}."
            )

    def call(self, inputs):
        kh, kw = self.kernel_size
        if self.data_format == "channels_last":
            _, height, width, _ = ops.shape(inputs)
            blocks = ops.einsum("nhwi,abfi->nhawbf", inputs, self.kernel)
            outputs = ops.reshape(blocks, (-1, height * kh, width * kw, self.filters))
            bias_shape = (1, 1, 1, self.filters)
        else:
            _, _, height, width = ops.shape(inputs)
            blocks = ops.einsum("nihw,abfi->nfhawb", inputs, self.kernel)
            outputs = ops.reshape(blocks, (-1, self.filters, height * kh, width * kw))
            bias_shape = (1, self.filters, 1, 1)
        if self.use_bias:
            outputs = outputs + ops.reshape(self.bias, bias_shape)
        return outputs if self.activation is None else self.activation(outputs)

    def get_config(self):
        config = super().get_config()
        config.pop("strides", None)
        return config
