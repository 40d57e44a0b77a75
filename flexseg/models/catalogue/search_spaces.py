"""The settings `flexseg tune` varies for each built-in architecture.

A search space is a function `(hp, input_shape) -> settings` that draws values from a
KerasTuner `HyperParameters`; sizes that the input cannot take (too many levels, windows
that do not fit) are left out. The registry attaches these to the built-in architectures;
a plugin passes its own with `register_model(..., search_space=...)`.

Example:
    >>> import keras_tuner
    >>> sorted(unet(keras_tuner.HyperParameters(), (64, 64, 3)))
    ['base_filters', 'dropout_rate', 'normalization', 'num_layers', 'upsampling']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flexseg.models.sharp_unet import KERNELS
from flexseg.models.swin_unet import fits
from flexseg.models.u2net import size_multiple, stage_plan
from flexseg.models.unet import UPSAMPLING

SearchSpace = Callable[[Any, Sequence[int | None]], dict[str, Any]]


def levels_that_fit(input_shape: Sequence[int | None], cap: int) -> int:
    """The most levels (pools + 1), at most `cap`, that every known input size can pool.

    Example:
        >>> levels_that_fit((20, 32, 3), 6)  # 20 pools twice
        3
    """
    levels = cap
    for size in (s for s in input_shape[:2] if s):
        while levels > 1 and size % 2 ** (levels - 1):
            levels -= 1
    return levels


def flexunet(hp, input_shape: Sequence[int | None]) -> dict:
    """Width, depth (as deep as the input size allows), kernel, dropout and batch norm.

    Example:
        >>> import keras_tuner
        >>> sorted(flexunet(keras_tuner.HyperParameters(), (64, 64, 3)))
        ['base_filters', 'base_kernels', 'dropout_rate', 'normalization', 'num_layers']
    """
    deepest = levels_that_fit(input_shape, 6)
    kernel = hp.Choice("base_kernel", [3, 5, 7])
    return {
        "base_filters": hp.Choice("base_filters", [8, 16, 32]),
        "num_layers": hp.Int("num_layers", min(3, deepest), deepest),
        "base_kernels": (kernel, kernel),
        "dropout_rate": hp.Float("dropout_rate", 0.0, 0.1, step=0.025),
        "normalization": hp.Boolean("normalization", default=True),
    }


def unet_family(hp, input_shape: Sequence[int | None]) -> dict:
    """Width, depth, normalization and dropout: what the U-Net variants share."""
    return {
        "base_filters": hp.Choice("base_filters", [8, 16, 32, 64]),
        "num_layers": hp.Int("num_layers", 3, max(levels_that_fit(input_shape, 6), 3)),
        "normalization": hp.Boolean("normalization", default=True),
        "dropout_rate": hp.Float("dropout_rate", 0.0, 0.3, step=0.1),
    }


def unet(hp, input_shape):
    """The U-Net family's space plus the up-sampling method."""
    return {**unet_family(hp, input_shape), "upsampling": hp.Choice("upsampling", list(UPSAMPLING))}


def unetpp(hp, input_shape):
    """The U-Net family's space plus deep supervision."""
    return {**unet_family(hp, input_shape), "deep_supervision": hp.Boolean("deep_supervision")}


def unet3plus(hp, input_shape):
    """The family's space plus the per-scale width, deep supervision and the classification
    guide."""
    return {
        **unet_family(hp, input_shape),
        "skip_filters": hp.Choice("skip_filters", [16, 32, 64]),
        "deep_supervision": hp.Boolean("deep_supervision"),
        "classification_guided": hp.Boolean("classification_guided"),
    }


def sharp_unet(hp, input_shape):
    """The U-Net family's space plus the sharpening kernel."""
    return {**unet_family(hp, input_shape), "kernel": hp.Choice("kernel", list(KERNELS))}


def multires_unet(hp, input_shape):
    """The U-Net family's space without dropout (the paper has none), plus alpha."""
    settings = unet_family(hp, input_shape)
    del settings["dropout_rate"]
    return {**settings, "alpha": hp.Float("alpha", 1.0, 2.0, step=0.33)}


def u2net(hp, input_shape):
    """Width, number of stages and the fused side outputs."""
    sizes = [s for s in input_shape[:2] if s]
    stages = [n for n in (4, 5, 6) if all(s % size_multiple(stage_plan(8, n)) == 0 for s in sizes)]
    return {
        "base_filters": hp.Choice("base_filters", [16, 32, 64]),
        "num_layers": hp.Choice("num_layers", stages or [4]),
        "side_outputs": hp.Boolean("side_outputs", default=True),
    }


def transunet(hp, input_shape):
    """CNN width, transformer width/depth/heads and dropout."""
    return {
        "base_filters": hp.Choice("base_filters", [16, 32, 64]),
        "hidden_size": hp.Choice("hidden_size", [128, 256, 384]),
        "transformer_layers": hp.Int("transformer_layers", 2, 12, step=2),
        "num_heads": hp.Choice("num_heads", [4, 8]),
        "mlp_dim": hp.Choice("mlp_dim", [512, 1024, 1536]),
        "dropout_rate": hp.Float("dropout_rate", 0.0, 0.2, step=0.1),
    }


def swin_unet(hp, input_shape):
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


def deeplabv3plus(hp, input_shape):
    """ASPP and decoder widths, atrous rates and dropout."""
    rates = hp.Choice("atrous_rates", ["6,12,18", "3,6,9", "2,4,6"])
    return {
        "aspp_filters": hp.Choice("aspp_filters", [64, 128, 256]),
        "decoder_filters": hp.Choice("decoder_filters", [64, 128, 256]),
        "atrous_rates": tuple(int(r) for r in rates.split(",")),
        "dropout_rate": hp.Float("dropout_rate", 0.0, 0.3, step=0.1),
    }


def efficient_unet(hp, input_shape):
    """Encoder size, decoder width and normalization."""
    width = hp.Choice("decoder_width", [8, 16, 32])
    return {
        "backbone": hp.Choice("backbone", ["efficientnetb0", "efficientnetb1", "efficientnetb2"]),
        "decoder_filters": tuple(width * 2**i for i in (4, 3, 2, 1, 0)),
        "normalization": hp.Boolean("normalization", default=True),
    }


SEARCH_SPACES: dict[str, SearchSpace] = {
    "attention_unet": unet,  # the same choices as U-Net: width, depth, up-sampling
    "deeplabv3plus": deeplabv3plus,
    "efficient_unet": efficient_unet,
    "flexunet": flexunet,
    "multires_unet": multires_unet,
    "sharp_unet": sharp_unet,
    "swin_unet": swin_unet,
    "transunet": transunet,
    "u2net": u2net,
    "unet": unet,
    "unet3plus": unet3plus,
    "unetpp": unetpp,
}
