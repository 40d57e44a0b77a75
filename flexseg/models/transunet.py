"""TransUNet (Chen et al. 2021): a CNN encoder, a transformer over its deepest features, and a
U-Net decoder fed by the CNN's skips.

Example:
    >>> import flexseg
    >>> model = flexseg.build("transunet", num_classes=6, input_shape=(64, 64, 3), base_filters=8,
    ...                       hidden_size=32, transformer_layers=2, num_heads=2, mlp_dim=64)
    >>> model.output_shape
    (None, 64, 64, 6)
"""

from __future__ import annotations

from collections.abc import Sequence

from keras import layers

from flexseg.errors import SettingsError
from flexseg.models import blocks, checks
from flexseg.models.base import (
    SegmentationModel,
    arguments,
    check_size,
    classifier,
    common_settings,
    model_input,
)
from flexseg.registry import register_model

REFERENCE = (
    "Chen et al.: TransUNet: Transformers Make Strong Encoders for Medical Image Segmentation "
    "(2021), arXiv:2102.04306."
)
CNN_LEVELS = 4  # full, 1/2, 1/4 and 1/8 resolution


def search_space(hp, input_shape):
    """CNN width, transformer width/depth/heads and dropout."""
    heads = hp.Choice("num_heads", [4, 8])
    return {
        "base_filters": hp.Choice("base_filters", [16, 32, 64]),
        "hidden_size": hp.Choice("hidden_size", [128, 256, 384]),
        "transformer_layers": hp.Int("transformer_layers", 2, 12, step=2),
        "num_heads": heads,
        "mlp_dim": hp.Choice("mlp_dim", [512, 1024, 1536]),
        "dropout_rate": hp.Float("dropout_rate", 0.0, 0.2, step=0.1),
    }


def check_heads(hidden_size: int, num_heads: int, *, model: str, setting: str = "hidden_size"):
    """Raise unless num_heads divides the width; name the head counts that do."""
    if hidden_size % num_heads:
        valid = [h for h in range(1, min(hidden_size, 32) + 1) if hidden_size % h == 0]
        raise SettingsError(
            f"{model}: num_heads must divide {setting} ({hidden_size}), so each head gets "
            f"an equal share. Received: num_heads={num_heads}. Valid: {valid}."
        )


@register_model("transunet", reference=REFERENCE, search_space=search_space)
class TransUNet(SegmentationModel):
    """TransUNet: a residual CNN encoder (full, 1/2, 1/4, 1/8 resolution), patches of its 1/8
    features embedded with learned positions, a ViT encoder over them, then a cascaded
    up-sampling decoder that joins the CNN skips.

    Args:
        num_classes: output classes, background included.
        input_shape: (height, width, channels), height and width known (the position
            embeddings are sized from them) and multiples of 8 * patch_size.
        base_filters: CNN filters at full resolution, doubled per level (default 64).
        hidden_size, transformer_layers, num_heads, mlp_dim: the ViT (paper's ViT-B:
            768, 12, 12, 3072; the defaults).
        patch_size: patch side on the 1/8 features (default 2: tokens at 1/16, as in the
            paper's R50-ViT-B/16).
        dropout_rate: dropout in attention and MLPs (paper: 0.1).
        normalization, activation, input_normalize: as in `unet` (CNN parts).

    Example:
        >>> model = TransUNet(num_classes=3, input_shape=(32, 32, 3), base_filters=4,
        ...                   hidden_size=16, transformer_layers=1, num_heads=2, mlp_dim=32)
        >>> model.get_layer("patches_position").output.shape
        (None, 2, 2, 16)
    """

    input_sizes = "fixed when built; multiples of 8 * patch_size: 16"

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int | None] | None = None,
        base_filters: int = 64,
        hidden_size: int = 768,
        transformer_layers: int = 12,
        num_heads: int = 12,
        mlp_dim: int = 3072,
        patch_size: int = 2,
        dropout_rate: float = 0.1,
        normalization: bool = True,
        activation: str = "relu",
        input_normalize: bool = True,
        name: str = "transunet",
        **kwargs,
    ):
        settings = arguments(locals())
        model = "transunet"
        common = common_settings(
            model,
            num_classes=num_classes,
            input_shape=input_shape,
            base_filters=base_filters,
            activation=activation,
            normalization=normalization,
            dropout_rate=dropout_rate,
            require_size=True,
        )
        for key in ("hidden_size", "transformer_layers", "num_heads", "mlp_dim", "patch_size"):
            checks.positive_int(key, settings[key], model=model)
        check_heads(hidden_size, num_heads, model=model)
        multiple = 2 ** (CNN_LEVELS - 1) * patch_size
        reason = f"the CNN halves the size 3 times, then cuts {patch_size}-pixel patches"
        check_size(common.input_shape, multiple, model=model, reason=reason)
        style = {"normalization": common.normalization, "activation": common.activation}

        inputs, x = model_input(common, input_normalize)
        x = blocks.conv_block(x, common.base_filters, name="enc0", **style)
        skips = [x]
        for level in range(1, CNN_LEVELS):
            width = common.base_filters * 2**level
            x = blocks.residual_block(x, width, strides=2, name=f"enc{level}a", **style)
            x = blocks.residual_block(x, width, name=f"enc{level}b", **style)
            skips.append(x)

        grid = blocks.embed_patches(x, hidden_size, patch_size, name="patches", position=True)
        rows, cols = grid.shape[1], grid.shape[2]
        tokens = blocks.tokens_of(grid, name="patches")
        if common.dropout_rate > 0:
            tokens = layers.Dropout(common.dropout_rate, name="patches_dropout")(tokens)
        for i in range(transformer_layers):
            tokens = blocks.transformer_block(
                tokens,
                num_heads=num_heads,
                mlp_dim=mlp_dim,
                dropout_rate=common.dropout_rate,
                name=f"transformer{i}",
            )
        tokens = layers.LayerNormalization(epsilon=1e-6, name="transformer_norm")(tokens)
        x = blocks.grid_of(tokens, rows, cols, name="transformer")
        x = blocks.conv_norm_act(x, skips[-1].shape[-1], name="bridge", **style)
        if patch_size > 1:
            x = blocks.upsample(x, name="bridge", method="bilinear", factor=patch_size)
        for level in range(CNN_LEVELS - 1, -1, -1):
            if level < CNN_LEVELS - 1:
                x = blocks.upsample(x, name=f"dec{level}", method="bilinear")
            x = blocks.conv_block(
                blocks.concat([x, skips[level]], name=f"dec{level}"),
                skips[level].shape[-1],
                name=f"dec{level}",
                **style,
            )
        super().__init__(
            inputs,
            classifier(x, common.num_classes),
            settings=settings,
            size_multiple=multiple,
            size_reason=reason,
            name=name,
            **kwargs,
        )
