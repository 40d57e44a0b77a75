"""Swin-Unet (Cao et al. 2021): a U-shaped network of shifted-window transformer blocks.

Example:
    >>> import flexseg
    >>> model = flexseg.build("swin_unet", num_classes=6, input_shape=(64, 64, 3), embed_dim=16,
    ...                       depths=(2, 2), num_heads=(2, 4), window_size=4)
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
    classifier,
    common_settings,
    model_input,
)
from flexseg.models.transunet import check_heads
from flexseg.registry import register_model

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


def search_space(hp, input_shape):
    """Embedding width, blocks per stage and window size."""
    blocks_per_stage = hp.Choice("blocks_per_stage", [1, 2])
    sizes = [s for s in input_shape[:2] if s]
    windows = [w for w in (4, 7, 8) if all(fits(s, 4, 4, w) for s in sizes)] or [4]
    embed_dim = hp.Choice("embed_dim", [48, 96])
    return {
        "embed_dim": embed_dim,
        "depths": (blocks_per_stage,) * 4,
        "num_heads": tuple(embed_dim // d for d in (32, 16, 8, 4)),  # 96: the paper's 3 ... 24
        "window_size": hp.Choice("window_size", windows),
    }


@register_model("swin_unet", reference=REFERENCE, search_space=search_space)
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

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int | None] | None = None,
        patch_size: int = 4,
        embed_dim: int = 96,
        depths: Sequence[int] = (2, 2, 2, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        window_size: int = 8,
        mlp_ratio: float = 4.0,
        dropout_rate: float = 0.0,
        input_normalize: bool = True,
        name: str = "swin_unet",
        **kwargs,
    ):
        settings = arguments(locals())
        model = "swin_unet"
        common = common_settings(
            model,
            num_classes=num_classes,
            input_shape=input_shape,
            dropout_rate=dropout_rate,
            require_size=True,
        )
        for key in ("patch_size", "embed_dim", "window_size"):
            checks.positive_int(key, settings[key], model=model)
        depths, num_heads = _int_list("depths", depths), _int_list("num_heads", num_heads)
        if len(depths) < 2 or len(depths) != len(num_heads):
            raise SettingsError(
                f"{model}: depths and num_heads give one value per stage, at least 2 stages, "
                f"equally long. Received: depths={list(depths)}, num_heads={list(num_heads)}."
            )
        stages = len(depths)
        widths = [embed_dim * 2**stage for stage in range(stages)]
        for stage, (width, heads) in enumerate(zip(widths, num_heads, strict=True)):
            check_heads(width, heads, model=model, setting=f"stage {stage}'s width")
        if isinstance(mlp_ratio, bool) or not isinstance(mlp_ratio, int | float) or mlp_ratio <= 0:
            raise SettingsError(
                f"{model}: mlp_ratio must be a positive number. Received: {mlp_ratio!r}"
            )
        for axis, size in zip(("height", "width"), common.input_shape[:2], strict=False):
            if not fits(size, patch_size, stages, window_size):
                valid = " or ".join(
                    str(s) for s in nearest_fitting(size, patch_size, stages, window_size)
                )
                raise SettingsError(
                    f"{model}: input {axis} {size} does not fit patch_size={patch_size}, "
                    f"{stages} stages and window_size={window_size}: it must divide by "
                    f"{patch_size * 2 ** (stages - 1)} and each stage's map into windows. "
                    f"Nearest valid {axis}s: {valid}. Or change window_size (e.g. 4 or 7) or "
                    "patch_size."
                )

        def stage(x, index: int, prefix: str):
            for block in range(depths[index]):
                x = blocks.swin_block(
                    x,
                    num_heads=num_heads[index],
                    window_size=window_size,
                    shift=block % 2 == 1,
                    mlp_ratio=mlp_ratio,
                    dropout_rate=common.dropout_rate,
                    name=f"{prefix}{index}_block{block}",
                )
            return x

        inputs, x = model_input(common, input_normalize)
        x = blocks.embed_patches(x, embed_dim, patch_size, name="patches")
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
        x = blocks.patch_expanding(x, factor=patch_size, name="final")
        super().__init__(
            inputs, classifier(x, common.num_classes), settings=settings, name=name, **kwargs
        )


def _int_list(name: str, values) -> list[int]:
    if (
        isinstance(values, str)
        or not isinstance(values, Sequence)
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)
    ):
        raise SettingsError(
            f"swin_unet: {name} must be a list of positive integers, one per stage. "
            f"Received: {name}={values!r}"
        )
    return list(values)
