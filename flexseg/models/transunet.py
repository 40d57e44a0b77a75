"""TransUNet (Chen et al. 2021): a CNN encoder, a transformer over its deepest features, and a
U-Net decoder fed by the CNN's skips."""

from __future__ import annotations

from keras import layers

from flexseg.errors import SettingsError
from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import blocks
from flexseg.models.parts.base import SegmentationModel, classifier, settings_table

REFERENCE = (
    "Chen et al.: TransUNet: Transformers Make Strong Encoders for Medical Image Segmentation "
    "(2021), arXiv:2102.04306."
)
CNN_LEVELS = 4  # full, 1/2, 1/4 and 1/8 resolution


def check_heads(hidden_size: int, num_heads: int, *, model: str, setting: str = "hidden_size"):
    """Raise unless num_heads divides the width; name the head counts that do."""
    if hidden_size % num_heads:
        valid = [h for h in range(1, min(hidden_size, 32) + 1) if hidden_size % h == 0]
        raise SettingsError(
            f"{model}: num_heads must divide {setting} ({hidden_size}), so each head gets "
            f"an equal share. Received: num_heads={num_heads}. Valid: {valid}."
        )


@register_model("transunet", reference=REFERENCE)
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
    requires_size = True  # the position embeddings are sized from the input
    defaults = settings_table(
        base_filters=64,
        hidden_size=768,
        transformer_layers=12,
        num_heads=12,
        mlp_dim=3072,
        patch_size=2,
        dropout_rate=0.1,
        normalization=True,
        activation="relu",
        input_normalize=True,
    )

    def check(self, s):
        for key in ("hidden_size", "transformer_layers", "num_heads", "mlp_dim", "patch_size"):
            s.positive_int(key)
        check_heads(s["hidden_size"], s["num_heads"], model=s.model)
        patch = s["patch_size"]
        reason = f"the CNN halves the size 3 times, then cuts {patch}-pixel patches"
        return s.with_size(2 ** (CNN_LEVELS - 1) * patch, reason)

    def graph(self, x, s):
        style, patch = s.norm_act, s["patch_size"]
        x = blocks.conv_block(x, s.base_filters, name="enc0", **style)
        skips = [x]
        for level in range(1, CNN_LEVELS):
            width = s.base_filters * 2**level
            x = blocks.residual_block(x, width, strides=2, name=f"enc{level}a", **style)
            x = blocks.residual_block(x, width, name=f"enc{level}b", **style)
            skips.append(x)

        grid = blocks.embed_patches(x, s["hidden_size"], patch, name="patches", position=True)
        rows, cols = grid.shape[1], grid.shape[2]
        tokens = blocks.tokens_of(grid, name="patches")
        if s.dropout_rate > 0:
            tokens = layers.Dropout(s.dropout_rate, name="patches_dropout")(tokens)
        for i in range(s["transformer_layers"]):
            tokens = blocks.transformer_block(
                tokens,
                num_heads=s["num_heads"],
                mlp_dim=s["mlp_dim"],
                dropout_rate=s.dropout_rate,
                name=f"transformer{i}",
            )
        tokens = layers.LayerNormalization(epsilon=1e-6, name="transformer_norm")(tokens)
        x = blocks.grid_of(tokens, rows, cols, name="transformer")
        x = blocks.conv_norm_act(x, skips[-1].shape[-1], name="bridge", **style)
        if patch > 1:
            x = blocks.upsample(x, name="bridge", method="bilinear", factor=patch)
        for level in range(CNN_LEVELS - 1, -1, -1):
            if level < CNN_LEVELS - 1:
                x = blocks.upsample(x, name=f"dec{level}", method="bilinear")
            x = blocks.conv_block(
                blocks.concat([x, skips[level]], name=f"dec{level}"),
                skips[level].shape[-1],
                name=f"dec{level}",
                **style,
            )
        return classifier(x, s)
