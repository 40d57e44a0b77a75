"""Swin-Unet (Cao et al. 2021): a U-shaped network of shifted-window transformer blocks."""

from __future__ import annotations

from keras import layers

from flexseg.errors import SettingsError
from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import blocks
from flexseg.models.parts.base import SegmentationModel, classifier, settings_table
from flexseg.models.transunet import check_heads

REFERENCE = (
    "Cao et al.: Swin-Unet: Unet-like Pure Transformer for Medical Image Segmentation "
    "(ECCV Workshops 2022), arXiv:2105.05537; Liu et al.: Swin Transformer (ICCV 2021), "
    "arXiv:2103.14030."
)


def fits(size: int, patch_size: int, stages: int, window_size: int) -> bool:
    """True when `size` divides into patches, halves stages - 1 times, and every stage's
    map divides into windows (a map smaller than the window is one window)."""
    if size % (patch_size * 2 ** (stages - 1)):
        return False
    for stage in range(stages):
        tokens = size // (patch_size * 2**stage)
        if tokens > window_size and tokens % window_size:
            return False
    return True


def nearest_fitting(size: int, patch_size: int, stages: int, window_size: int) -> list[int]:
    """The closest valid sizes below and above `size`."""
    below = next(
        (s for s in range(size - 1, 0, -1) if fits(s, patch_size, stages, window_size)), None
    )
    above = next(
        s for s in range(size + 1, 64 * size + 2) if fits(s, patch_size, stages, window_size)
    )
    return [s for s in (below, above) if s]


@register_model("swin_unet", reference=REFERENCE)
class SwinUNet(SegmentationModel):
    """Swin-Unet: patch embedding, an encoder of Swin Transformer stages with patch merging,
    a symmetric decoder with patch expanding and skip connections (concatenate, then a
    linear layer), and a final patch expanding back to full resolution.

    Args:
        num_classes: output classes, background included.
        input_shape: (height, width, channels), height and width known. Each must divide
            by patch_size * 2**(stages - 1), and every stage's map must divide into windows;
            the error names the nearest valid sizes.
        patch_size: patch side (paper: 4).
        embed_dim: width of the first stage, doubled per stage (paper: 96).
        depths: Swin blocks per stage, the last stage being the bottleneck (paper: 2, 2, 2, 2).
        num_heads: attention heads per stage (paper: 3, 6, 12, 24).
        window_size: attention window (the paper's 7 suits 224-pixel inputs; the default 8
            suits flexseg's power-of-two sizes such as 256).
        mlp_ratio: MLP width over the stage width (paper: 4).
        dropout_rate: dropout in attention and MLPs.
        input_normalize: divide the input pixels by 255.

    Example:
        >>> model = SwinUNet(num_classes=3, input_shape=(32, 32, 3), embed_dim=8, depths=(1, 1),
        ...                  num_heads=(1, 2), window_size=4)
        >>> model.get_layer("enc1_block0_attention").output.shape
        (None, 4, 4, 16)
    """

    input_sizes = "fixed when built; 32, 64, 128, 256, 512, 1024 (stage maps fit 8-pixel windows)"
    requires_size = True  # attention windows are laid out on the known input
    defaults = settings_table(
        patch_size=4,
        embed_dim=96,
        depths=(2, 2, 2, 2),
        num_heads=(3, 6, 12, 24),
        window_size=8,
        mlp_ratio=4.0,
        dropout_rate=0.0,
        input_normalize=True,
    )

    def check(self, s):
        model = s.model
        patch, width, window = (
            s.positive_int(k) for k in ("patch_size", "embed_dim", "window_size")
        )
        depths = s.positive_ints("depths", meaning=", one per stage")
        num_heads = s.positive_ints("num_heads", meaning=", one per stage")
        if len(depths) < 2 or len(depths) != len(num_heads):
            raise SettingsError(
                f"{model}: depths and num_heads give one value per stage, at least 2 stages, "
                f"equally long. Received: depths={depths}, num_heads={num_heads}."
            )
        stages = len(depths)
        for stage, heads in enumerate(num_heads):
            check_heads(width * 2**stage, heads, model=model, setting=f"stage {stage}'s width")
        s.positive_number("mlp_ratio")
        for axis, size in zip(("height", "width"), s.spatial_shape, strict=True):
            if not fits(size, patch, stages, window):
                valid = " or ".join(str(n) for n in nearest_fitting(size, patch, stages, window))
                raise SettingsError(
                    f"{model}: input {axis} {size} does not fit patch_size={patch}, "
                    f"{stages} stages and window_size={window}: it must divide by "
                    f"{patch * 2 ** (stages - 1)} and each stage's map into windows. "
                    f"Nearest valid {axis}s: {valid}. Or change window_size (e.g. 4 or 7) or "
                    "patch_size."
                )
        return s

    def graph(self, x, s):
        depths, stages = s["depths"], len(s["depths"])
        widths = [s["embed_dim"] * 2**stage for stage in range(stages)]

        def stage(x, index: int, prefix: str):
            for block in range(depths[index]):
                x = blocks.swin_block(
                    x,
                    num_heads=s["num_heads"][index],
                    window_size=s["window_size"],
                    shift=block % 2 == 1,
                    mlp_ratio=s["mlp_ratio"],
                    dropout_rate=s.dropout_rate,
                    name=f"{prefix}{index}_block{block}",
                )
            return x

        x = blocks.embed_patches(x, s["embed_dim"], s["patch_size"], name="patches")
        x = layers.LayerNormalization(epsilon=1e-5, name="patches_norm")(x)
        skips = []
        for index in range(stages):
            x = stage(x, index, "enc")
            if index < stages - 1:
                skips.append(x)
                x = blocks.patch_merging(x, name=f"enc{index}")
        x = layers.LayerNormalization(epsilon=1e-5, name="bottleneck_norm")(x)
        for index in range(stages - 2, -1, -1):
            x = blocks.patch_expanding(x, factor=2, name=f"dec{index}")
            x = blocks.concat([x, skips[index]], name=f"dec{index}")
            x = layers.Dense(widths[index], name=f"dec{index}_skip_linear")(x)
            x = stage(x, index, "dec")
        x = layers.LayerNormalization(epsilon=1e-5, name="decoder_norm")(x)
        x = blocks.patch_expanding(x, factor=s["patch_size"], name="final")
        return classifier(x, s)
