"""Layers shared by flexseg's architectures.

Example:
    >>> import numpy as np
    >>> up = PixelConv2DTranspose(4, 2, name="up")
    >>> tuple(up(np.zeros((1, 8, 8, 3), "float32")).shape)
    (1, 16, 16, 4)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="flexseg")
class PixelConv2DTranspose(keras.layers.Conv2DTranspose):
    """A transposed convolution whose kernel equals its stride (e.g. 2x2, stride 2).

    Each input pixel then paints its own kernel-sized block of the output, so the layer is
    one matrix product and a reshape. Same weights, names and outputs as
    `keras.layers.Conv2DTranspose(filters, k, strides=k)` (checkpoints load unchanged), but
    computed with `keras.ops.einsum`. Its gradient was about 40x faster on JAX's CPU backend
    in a one-off measurement when it was added (no committed result); on JAX's GPU it brought
    Keras to 56.2 ms a training step against raw JAX's 53.9 (was 1.55x; benchmarks/results/
    backends_gpu_NVIDIA_H100_80GB_HBM3_jax_pixelconv.log).
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


@keras.saving.register_keras_serializable(package="flexseg")
class FixedDepthwiseFilter(keras.layers.Layer):
    """Filter every channel with one fixed 2D kernel (no weights; Sharp U-Net's sharpening).

    Example:
        >>> import numpy as np
        >>> box = FixedDepthwiseFilter([[0, 0, 0], [0, 1, 0], [0, 0, 0]])
        >>> image = np.arange(18, dtype="float32").reshape(1, 3, 3, 2)
        >>> bool(np.allclose(box(image), image))
        True
    """

    def __init__(self, kernel, **kwargs):
        super().__init__(**kwargs)
        self.kernel_values = [[float(v) for v in row] for row in kernel]
        if len({len(row) for row in self.kernel_values}) != 1:
            raise ValueError(f"{self.name}: kernel rows differ in length: {kernel!r}")

    def call(self, inputs):
        channels = inputs.shape[-1]
        kernel = ops.convert_to_tensor(self.kernel_values, dtype=inputs.dtype)
        kernel = ops.tile(kernel[:, :, None, None], (1, 1, channels, 1))
        return ops.depthwise_conv(inputs, kernel, strides=1, padding="same")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "kernel": self.kernel_values}


@keras.saving.register_keras_serializable(package="flexseg")
class InferenceClassFactors(keras.layers.Layer):
    """Class probabilities multiplied by per-class `factors` and summed to 1 again, at
    inference only; training sees them unchanged.

    A loss that weighs class k by w_k trains a model whose probabilities lean toward
    w_k * p(k | pixel): the weighted classes are over-predicted. Factors w_k ** -t undo part
    (t < 1) or all (t = 1) of that lean at inference (post-hoc logit adjustment, Menon et al.,
    ICLR 2021), while training keeps the weighted loss that finds rare classes.

    Example:
        >>> import numpy as np
        >>> layer = InferenceClassFactors([1.0, 0.25])
        >>> p = np.array([[[[0.6, 0.4]]]], "float32")
        >>> np.round(keras.ops.convert_to_numpy(layer(p)).astype("float64"), 3).tolist()
        [[[[0.857, 0.143]]]]
        >>> keras.ops.convert_to_numpy(layer(p, training=True)).tolist() == p.tolist()
        True
    """

    def __init__(self, factors, axis: int = -1, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.factors = [float(f) for f in factors]
        self.axis = axis
        if not self.factors or not all(np.isfinite(f) and f > 0 for f in self.factors):
            raise ValueError(
                f"{self.name}: factors must be positive numbers, one per class; got {factors!r}."
            )

    def call(self, inputs, training=False):
        if training:
            return inputs
        shape = [1] * len(inputs.shape)
        shape[self.axis] = len(self.factors)
        factors = ops.reshape(ops.convert_to_tensor(self.factors, dtype=inputs.dtype), shape)
        scaled = inputs * factors
        return scaled / ops.sum(scaled, axis=self.axis, keepdims=True)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factors": self.factors, "axis": self.axis}


@keras.saving.register_keras_serializable(package="flexseg")
class SpreadTo(keras.layers.Layer):
    """[reference (B, H, W, C), features (B, 1, 1, F)] -> features repeated over H x W."""

    def call(self, inputs):
        reference, features = inputs
        height, width = reference.shape[1], reference.shape[2]
        if height is not None and width is not None:
            # Broadcasting over a constant rather than a tile: OpenVINO's converter mis-shapes
            # a tile whose sizes it moves across a layout transpose.
            return features + ops.zeros((1, height, width, 1), features.dtype)
        height, width = ops.shape(reference)[1], ops.shape(reference)[2]
        return ops.tile(features, (1, height, width, 1))

    def compute_output_shape(self, input_shape):
        reference, features = input_shape
        return (reference[0], reference[1], reference[2], features[-1])


@keras.saving.register_keras_serializable(package="flexseg")
class PositionEmbedding(keras.layers.Layer):
    """Add a learned embedding per position of a (B, H, W, C) grid; H and W must be known."""

    def build(self, input_shape):
        _, height, width, channels = input_shape
        if height is None or width is None:
            raise ValueError(f"{self.name}: position embeddings need a known height and width.")
        self.embedding = self.add_weight(
            shape=(1, height, width, channels),
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="embedding",
        )

    def call(self, inputs):
        return inputs + ops.cast(self.embedding, inputs.dtype)

    def macs(self, input_shape) -> int:
        """An addition per value: no multiply-accumulates."""
        return 0


@keras.saving.register_keras_serializable(package="flexseg")
class PatchMerging(keras.layers.Layer):
    """Swin's down-sampling: (B, H, W, C) -> 2x2 neighbours stacked (4C), normalized,
    projected -> (B, H/2, W/2, 2C)."""

    def build(self, input_shape):
        channels = input_shape[-1]
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.norm.build((None, 4 * channels))
        self.reduction = keras.layers.Dense(2 * channels, use_bias=False, name="reduction")
        self.reduction.build((None, 4 * channels))

    def call(self, inputs):
        _, height, width, channels = inputs.shape
        x = ops.reshape(inputs, (-1, height // 2, 2, width // 2, 2, channels))
        x = ops.transpose(x, (0, 1, 3, 4, 2, 5))
        x = ops.reshape(x, (-1, height // 2, width // 2, 4 * channels))
        return self.reduction(self.norm(x))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, height // 2, width // 2, 2 * channels)

    def macs(self, input_shape) -> int:
        """Multiply-accumulates per image of the 4C -> 2C projection."""
        _, height, width, channels = input_shape
        return (height // 2) * (width // 2) * 4 * channels * 2 * channels


@keras.saving.register_keras_serializable(package="flexseg")
class PatchExpanding(keras.layers.Layer):
    """Swin-Unet's up-sampling: Dense to factor**2 * C_out, spread over factor x factor pixels.

    C_out is C / 2 for factor 2 (the decoder's patch expanding) and C for factor 4 (the last).
    """

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        channels = input_shape[-1]
        self.out_channels = channels // 2 if self.factor == 2 else channels
        self.expand = keras.layers.Dense(
            self.factor**2 * self.out_channels, use_bias=False, name="expand"
        )
        self.expand.build((None, channels))
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.norm.build((None, self.out_channels))

    def call(self, inputs):
        _, height, width, _ = inputs.shape
        f, c = self.factor, self.out_channels
        x = ops.reshape(self.expand(inputs), (-1, height, width, f, f, c))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return self.norm(ops.reshape(x, (-1, height * f, width * f, c)))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        out = channels // 2 if self.factor == 2 else channels
        return (batch, height * self.factor, width * self.factor, out)

    def macs(self, input_shape) -> int:
        """Multiply-accumulates per image of the expanding projection."""
        _, height, width, channels = input_shape
        out = channels // 2 if self.factor == 2 else channels
        return height * width * channels * self.factor**2 * out

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="flexseg")
class WindowAttention(keras.layers.Layer):
    """Swin's multi-head self-attention inside non-overlapping windows of a (B, H, W, C) map.

    Learned relative-position bias per head; with `shift`, windows move by half a window
    (cyclic roll) and a mask keeps pixels from attending across the wrapped border. A map
    no larger than the window attends in one window, unshifted (as in Swin).
    """

    def __init__(
        self, num_heads: int, window_size: int, shift: bool = False, dropout_rate=0.0, **kwargs
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.window_size = window_size
        self.shift = shift
        self.dropout_rate = dropout_rate

    def build(self, input_shape):
        _, height, width, channels = input_shape
        if height is None or width is None:
            raise ValueError(f"{self.name}: window attention needs a known height and width.")
        self.window = min(self.window_size, height, width)
        self.shift_size = self.window // 2 if self.shift and self.window < min(height, width) else 0
        if height % self.window or width % self.window:
            raise ValueError(
                f"{self.name}: a {height}x{width} map does not divide into {self.window}-pixel "
                "windows."
            )
        self.qkv = keras.layers.Dense(3 * channels, name="qkv")
        self.qkv.build((None, channels))
        self.projection = keras.layers.Dense(channels, name="projection")
        self.projection.build((None, channels))
        self.dropout = keras.layers.Dropout(self.dropout_rate)
        w = self.window
        self.bias_table = self.add_weight(
            shape=((2 * w - 1) ** 2, self.num_heads),
            initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="relative_position_bias",
        )
        self.bias_index = _relative_position_index(w)
        self.shift_mask = None
        if self.shift_size:
            self.shift_mask = _shift_mask(height, width, w, self.shift_size)

    def call(self, inputs, training=None):
        _, height, width, channels = inputs.shape
        w, heads, s = self.window, self.num_heads, self.shift_size
        head_width = channels // heads
        x = _cyclic_shift(inputs, -s) if s else inputs
        x = ops.reshape(x, (-1, height // w, w, width // w, w, channels))
        x = ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, w * w, channels))
        qkv = ops.reshape(self.qkv(x), (-1, w * w, 3, heads, head_width))
        q, k, v = (ops.transpose(qkv[:, :, i], (0, 2, 1, 3)) for i in range(3))
        scores = ops.matmul(q * head_width**-0.5, ops.transpose(k, (0, 1, 3, 2)))
        bias = ops.take(self.bias_table, self.bias_index.reshape(-1), axis=0)
        bias = ops.transpose(ops.reshape(bias, (w * w, w * w, heads)), (2, 0, 1))
        scores = scores + ops.cast(bias, scores.dtype)[None]
        if self.shift_mask is not None:
            windows = self.shift_mask.shape[0]
            scores = ops.reshape(scores, (-1, windows, heads, w * w, w * w))
            scores = scores + ops.cast(self.shift_mask, scores.dtype)[None, :, None]
            scores = ops.reshape(scores, (-1, heads, w * w, w * w))
        attention = self.dropout(ops.softmax(scores, axis=-1), training=training)
        x = ops.transpose(ops.matmul(attention, v), (0, 2, 1, 3))
        x = ops.reshape(x, (-1, w * w, channels))
        x = self.projection(x)
        x = ops.reshape(x, (-1, height // w, width // w, w, w, channels))
        x = ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, height, width, channels))
        return _cyclic_shift(x, s) if s else x

    def compute_output_shape(self, input_shape):
        return input_shape

    def macs(self, input_shape) -> int:
        """Multiply-accumulates per image: qkv and output projections plus the two products."""
        _, height, width, channels = input_shape
        pixels = height * width
        return pixels * channels * 4 * channels + 2 * pixels * self.window**2 * channels

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "window_size": self.window_size,
            "shift": self.shift,
            "dropout_rate": self.dropout_rate,
        }


def _cyclic_shift(x, shift: int):
    """`ops.roll(x, (shift, shift), axis=(1, 2))` as slices and concatenations: LiteRT's
    built-in operators have no roll (TensorFlow's Roll needs its Flex delegate)."""
    split = -shift % x.shape[1]
    x = ops.concatenate([x[:, split:], x[:, :split]], axis=1)
    split = -shift % x.shape[2]
    return ops.concatenate([x[:, :, split:], x[:, :, :split]], axis=2)


def _relative_position_index(window: int) -> np.ndarray:
    """(w*w, w*w) index into the (2w-1)**2 bias table for every pair of window pixels."""
    coords = np.stack(np.meshgrid(np.arange(window), np.arange(window), indexing="ij"))
    coords = coords.reshape(2, -1)
    relative = coords[:, :, None] - coords[:, None, :] + (window - 1)
    return (relative[0] * (2 * window - 1) + relative[1]).astype("int32")


def _shift_mask(height: int, width: int, window: int, shift: int) -> np.ndarray:
    """(windows, w*w, w*w): -100 where two pixels of a shifted window came from different
    regions of the unrolled map (they must not attend to each other), else 0."""
    regions = np.zeros((height, width), "int32")
    bounds = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    label = 0
    for rows in bounds:
        for cols in bounds:
            regions[rows, cols] = label
            label += 1
    regions = regions.reshape(height // window, window, width // window, window)
    regions = regions.transpose(0, 2, 1, 3).reshape(-1, window * window)
    different = regions[:, :, None] != regions[:, None, :]
    return np.where(different, -100.0, 0.0).astype("float32")
