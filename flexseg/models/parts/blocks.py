"""The building blocks of the zoo, each written once: functions from a tensor to a tensor.

Every block names its layers from a `name` prefix, so weights files match layer by layer
across backends and processes. All blocks work on channels-last tensors.

Example:
    >>> import keras
    >>> x = keras.Input((32, 32, 3))
    >>> y = conv_block(x, 8, name="enc0")
    >>> z = rsu_block(y, height=4, mid_filters=4, out_filters=8, name="rsu")
    >>> tuple(y.shape), tuple(z.shape)
    ((None, 32, 32, 8), (None, 32, 32, 8))
"""

from __future__ import annotations

from keras import layers, ops

from flexseg.models.parts.layers import (
    FixedDepthwiseFilter,
    PatchExpanding,
    PatchMerging,
    PixelConv2DTranspose,
    PositionEmbedding,
    SpreadTo,
    WindowAttention,
)


# === Convolutions ===
def conv_norm_act(
    x,
    filters: int,
    kernel_size: int = 3,
    *,
    name: str,
    normalization: bool = True,
    activation: str | None = "relu",
    dilation: int = 1,
    strides: int = 1,
):
    """Convolution, then batch normalization (optional), then activation (None: linear)."""
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        dilation_rate=dilation,
        padding="same",
        use_bias=not normalization,
        kernel_initializer="he_normal",
        name=f"{name}_conv",
    )(x)
    if normalization:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=f"{name}_act")(x)
    return x


def conv_block(
    x,
    filters: int,
    *,
    name: str,
    convs: int = 2,
    kernel_size: int = 3,
    normalization: bool = True,
    activation: str = "relu",
    dropout_rate: float = 0.0,
):
    """`convs` conv-norm-act layers; dropout after the first when dropout_rate > 0 (U-Net)."""
    for i in range(1, convs + 1):
        x = conv_norm_act(
            x,
            filters,
            kernel_size,
            name=f"{name}_{i}",
            normalization=normalization,
            activation=activation,
        )
        if i == 1 and dropout_rate > 0 and convs > 1:
            x = layers.Dropout(dropout_rate, name=f"{name}_dropout")(x)
    return x


def unet_encoder(
    x,
    filters: list[int],
    *,
    normalization: bool = True,
    activation: str = "relu",
    dropout_rate: float = 0.0,
):
    """The U-Net contracting path: a conv_block per level, 2x2 max pooling between levels.

    Returns the output of every level, the last one being the bridge.
    """
    features = []
    for level, width in enumerate(filters):
        if level > 0:
            x = layers.MaxPooling2D(2, name=f"enc{level - 1}_pool")(x)
        x = conv_block(
            x,
            width,
            name=f"enc{level}",
            normalization=normalization,
            activation=activation,
            dropout_rate=dropout_rate,
        )
        features.append(x)
    return features


def unet_decoder(
    features: list,
    filters: list[int],
    *,
    upsampling: str = "transpose",
    normalization: bool = True,
    activation: str = "relu",
    dropout_rate: float = 0.0,
    gate_skip=None,
):
    """The U-Net expanding path: up-sample, join the level's skip, conv_block; deepest first.

    `gate_skip(skip, coarser, level)` may transform each skip before it is joined (Attention
    U-Net's gates, Sharp U-Net's filters); `coarser` is the decoder tensor before up-sampling.
    """
    x = features[-1]
    for level in range(len(features) - 2, -1, -1):
        skip = features[level]
        if gate_skip is not None:
            skip = gate_skip(skip, x, level)
        up = upsample(x, filters[level], name=f"dec{level}", method=upsampling)
        x = conv_block(
            concat([up, skip], name=f"dec{level}"),
            filters[level],
            name=f"dec{level}",
            normalization=normalization,
            activation=activation,
            dropout_rate=dropout_rate,
        )
    return x


def upsample(
    x, filters: int | None = None, *, name: str, method: str = "transpose", factor: int = 2
):
    """Up-sample by `factor`: a learned factor x factor transposed convolution to `filters`
    channels ("transpose"), or bilinear interpolation that keeps the channels ("bilinear")."""
    if method == "transpose":
        if filters is None:
            raise ValueError(f"{name}: a transposed-convolution up-sampling needs `filters`.")
        return PixelConv2DTranspose(filters, factor, name=f"{name}_up")(x)
    return layers.UpSampling2D(factor, interpolation="bilinear", name=f"{name}_up")(x)


def concat(tensors, *, name: str):
    """Concatenate along channels."""
    return layers.Concatenate(axis=-1, name=f"{name}_concat")(list(tensors))


def sharpen(x, *, name: str, kernel=((-1, -1, -1), (-1, 8, -1), (-1, -1, -1))):
    """Sharp U-Net's fixed (not trained) depthwise filter, applied to each channel."""
    return FixedDepthwiseFilter(kernel, name=f"{name}_sharpen")(x)


# === Attention gate (Attention U-Net) ===
def attention_gate(skip, gating, inter_filters: int, *, name: str, normalization: bool = True):
    """Additive attention: weigh each skip pixel by a gate computed from the coarser `gating`.

    `gating` has half the skip's resolution. The gate is computed at that resolution
    (skip sub-sampled by a 2x2 stride-2 convolution), then resized up to the skip's.
    """
    theta = layers.Conv2D(inter_filters, 2, strides=2, use_bias=False, name=f"{name}_theta")(skip)
    phi = layers.Conv2D(inter_filters, 1, name=f"{name}_phi")(gating)
    joined = layers.Add(name=f"{name}_add")([theta, phi])
    act = layers.Activation("relu", name=f"{name}_relu")(joined)
    psi = layers.Conv2D(1, 1, activation="sigmoid", name=f"{name}_psi")(act)
    psi = layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_psi_up")(psi)
    gated = layers.Multiply(name=f"{name}_gate")([skip, psi])
    return conv_norm_act(
        gated,
        skip.shape[-1],
        1,
        name=f"{name}_out",
        normalization=normalization,
        activation=None,
    )


# === Residual blocks ===
def residual_block(
    x,
    filters: int,
    *,
    name: str,
    strides: int = 1,
    normalization: bool = True,
    activation: str = "relu",
):
    """Two 3x3 conv-norm layers plus a shortcut; when the shape changes the shortcut is
    average pooling then a 1x1 convolution (ResNet-D; a strided 1x1 convolution's gradient
    crashes TensorFlow 2.21's oneDNN CPU kernels on 64x64 and larger maps)."""
    shortcut = x
    if strides != 1:
        shortcut = layers.AveragePooling2D(strides, name=f"{name}_shortcut_pool")(shortcut)
    if strides != 1 or x.shape[-1] != filters:
        shortcut = conv_norm_act(
            shortcut,
            filters,
            1,
            name=f"{name}_shortcut",
            normalization=normalization,
            activation=None,
        )
    y = conv_norm_act(
        x,
        filters,
        strides=strides,
        name=f"{name}_1",
        normalization=normalization,
        activation=activation,
    )
    y = conv_norm_act(y, filters, name=f"{name}_2", normalization=normalization, activation=None)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation(activation, name=f"{name}_out")(y)


def multires_block(
    x,
    filters: int,
    *,
    name: str,
    alpha: float = 1.67,
    normalization: bool = True,
    activation: str = "relu",
):
    """MultiResUNet's block: three chained 3x3 convolutions (W/6, W/3, W/2 filters, W =
    alpha * filters) concatenated, plus a 1x1 shortcut."""
    width = alpha * filters
    sizes = [max(int(width * f), 1) for f in (1 / 6, 1 / 3, 1 / 2)]
    shortcut = conv_norm_act(
        x, sum(sizes), 1, name=f"{name}_shortcut", normalization=normalization, activation=None
    )
    chain, y = [], x
    for i, size in enumerate(sizes, start=1):
        y = conv_norm_act(
            y, size, name=f"{name}_{i}", normalization=normalization, activation=activation
        )
        chain.append(y)
    y = concat(chain, name=f"{name}_chain")
    if normalization:
        y = layers.BatchNormalization(name=f"{name}_chain_bn")(y)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    y = layers.Activation(activation, name=f"{name}_act")(y)
    if normalization:
        y = layers.BatchNormalization(name=f"{name}_out_bn")(y)
    return y


def res_path(
    x,
    filters: int,
    length: int,
    *,
    name: str,
    normalization: bool = True,
    activation: str = "relu",
):
    """MultiResUNet's Res path: `length` residual units (3x3 conv plus 1x1 shortcut)."""
    for i in range(1, length + 1):
        shortcut = conv_norm_act(
            x, filters, 1, name=f"{name}_{i}_shortcut", normalization=normalization, activation=None
        )
        y = conv_norm_act(
            x, filters, name=f"{name}_{i}", normalization=normalization, activation=activation
        )
        x = layers.Add(name=f"{name}_{i}_add")([shortcut, y])
        x = layers.Activation(activation, name=f"{name}_{i}_out")(x)
        if normalization:
            x = layers.BatchNormalization(name=f"{name}_{i}_out_bn")(x)
    return x


def rsu_block(
    x,
    *,
    height: int,
    mid_filters: int,
    out_filters: int,
    name: str,
    dilated: bool = False,
    normalization: bool = True,
    activation: str = "relu",
):
    """U²-Net's residual U-block RSU-`height`: a small U-Net inside a residual connection.

    It pools height - 2 times, so sizes must divide by 2**(height - 2). The dilated
    variant (RSU-4F) keeps the resolution and grows dilation 1, 2, 4, 8 instead.
    """

    def cna(t, filters, dilation, suffix):
        return conv_norm_act(
            t,
            filters,
            dilation=dilation,
            name=f"{name}_{suffix}",
            normalization=normalization,
            activation=activation,
        )

    entry = cna(x, out_filters, 1, "in")
    encoded, y = [], entry
    for level in range(1, height):
        dilation = 2 ** (level - 1) if dilated else 1
        if level > 1 and not dilated:
            y = layers.MaxPooling2D(2, name=f"{name}_pool{level}")(y)
        y = cna(y, mid_filters, dilation, f"enc{level}")
        encoded.append(y)
    y = cna(y, mid_filters, 2 ** (height - 1) if dilated else 2, "bottom")
    for level in range(height - 1, 0, -1):
        y = concat([y, encoded[level - 1]], name=f"{name}_dec{level}")
        filters = out_filters if level == 1 else mid_filters
        dilation = 2 ** (level - 1) if dilated else 1
        y = cna(y, filters, dilation, f"dec{level}")
        if level > 1 and not dilated:
            y = layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_up{level}")(y)
    return layers.Add(name=f"{name}_add")([entry, y])


# === Transformer blocks ===
def exact_gelu(x):
    """GELU written with erf, as keras.activations.gelu(approximate=False) computes it:
    TensorFlow's own GELU uses erfc, which tf2onnx cannot convert to ONNX."""
    return 0.5 * x * (1.0 + ops.erf(x * 0.7071067811865476))


def mlp(x, hidden: int, *, name: str, dropout_rate: float = 0.0):
    """Dense(hidden, gelu) -> Dense(back to the input width), with dropout after each."""
    width = x.shape[-1]
    x = layers.Dense(hidden, activation=exact_gelu, name=f"{name}_fc1")(x)
    if dropout_rate > 0:
        x = layers.Dropout(dropout_rate, name=f"{name}_drop1")(x)
    x = layers.Dense(width, name=f"{name}_fc2")(x)
    if dropout_rate > 0:
        x = layers.Dropout(dropout_rate, name=f"{name}_drop2")(x)
    return x


def transformer_block(
    tokens, *, num_heads: int, mlp_dim: int, name: str, dropout_rate: float = 0.0
):
    """Pre-norm ViT encoder block on (batch, tokens, width): self-attention, then an MLP."""
    width = tokens.shape[-1]
    y = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm1")(tokens)
    y = layers.MultiHeadAttention(
        num_heads, width // num_heads, dropout=dropout_rate, name=f"{name}_attention"
    )(y, y)
    tokens = layers.Add(name=f"{name}_add1")([tokens, y])
    y = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm2")(tokens)
    y = mlp(y, mlp_dim, name=f"{name}_mlp", dropout_rate=dropout_rate)
    return layers.Add(name=f"{name}_add2")([tokens, y])


def embed_patches(x, width: int, patch_size: int, *, name: str, position: bool = False):
    """Cut (batch, H, W, C) into patch_size patches, each a `width` vector (a strided
    convolution), optionally plus learned position embeddings; returns (batch, H', W', width)."""
    x = layers.Conv2D(width, patch_size, strides=patch_size, name=f"{name}_projection")(x)
    if position:
        x = PositionEmbedding(name=f"{name}_position")(x)
    return x


def tokens_of(x, *, name: str):
    """(batch, H, W, C) -> (batch, H * W, C)."""
    _, height, width, channels = x.shape
    return layers.Reshape((height * width, channels), name=f"{name}_tokens")(x)


def grid_of(tokens, height: int, width: int, *, name: str):
    """(batch, H * W, C) -> (batch, H, W, C)."""
    return layers.Reshape((height, width, tokens.shape[-1]), name=f"{name}_grid")(tokens)


def swin_block(
    x,
    *,
    num_heads: int,
    window_size: int,
    shift: bool,
    name: str,
    mlp_ratio: float = 4.0,
    dropout_rate: float = 0.0,
):
    """Swin Transformer block on (batch, H, W, C): (shifted) window attention, then an MLP."""
    y = layers.LayerNormalization(epsilon=1e-5, name=f"{name}_norm1")(x)
    y = WindowAttention(
        num_heads,
        window_size,
        shift=shift,
        dropout_rate=dropout_rate,
        name=f"{name}_attention",
    )(y)
    x = layers.Add(name=f"{name}_add1")([x, y])
    y = layers.LayerNormalization(epsilon=1e-5, name=f"{name}_norm2")(x)
    y = mlp(y, int(x.shape[-1] * mlp_ratio), name=f"{name}_mlp", dropout_rate=dropout_rate)
    return layers.Add(name=f"{name}_add2")([x, y])


def patch_merging(x, *, name: str):
    """Swin's down-sampling: 2x2 neighbours concatenated, normalized, projected to 2C."""
    return PatchMerging(name=f"{name}_merge")(x)


def patch_expanding(x, *, factor: int, name: str):
    """Swin-Unet's up-sampling: project, then spread channels into factor x factor pixels."""
    return PatchExpanding(factor, name=f"{name}_expand")(x)


def global_context(x, filters: int, *, name: str, normalization: bool = True):
    """Image-level features: global average pool, 1x1 conv-norm-relu, spread back over H x W."""
    y = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")(x)
    y = conv_norm_act(y, filters, 1, name=name, normalization=normalization)
    return SpreadTo(name=f"{name}_spread")([x, y])
