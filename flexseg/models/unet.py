"""U-Net (Ronneberger et al. 2015): the classic encoder-decoder with skip connections.

Example:
    >>> import flexseg
    >>> model = flexseg.build("unet", num_classes=6, input_shape=(64, 64, 3), base_filters=8)
    >>> model.output_shape
    (None, 64, 64, 6)
"""

from __future__ import annotations

from collections.abc import Sequence

from flexseg.models import blocks
from flexseg.models.base import (
    SegmentationModel,
    arguments,
    choice,
    classifier,
    model_input,
    pooled_settings,
)
from flexseg.registry import register_model

REFERENCE = (
    "Ronneberger, Fischer, Brox: U-Net: Convolutional Networks for Biomedical Image "
    "Segmentation (MICCAI 2015), arXiv:1505.04597."
)
UPSAMPLING = ("transpose", "bilinear")


def unet_search_space(hp, input_shape: Sequence[int | None]) -> dict:
    """Width, depth, normalization and dropout: the space the U-Net variants share.

    Example:
        >>> import keras_tuner
        >>> sorted(unet_search_space(keras_tuner.HyperParameters(), (64, 64, 3)))
        ['base_filters', 'dropout_rate', 'normalization', 'num_layers']
    """
    return {
        "base_filters": hp.Choice("base_filters", [8, 16, 32, 64]),
        "num_layers": hp.Int("num_layers", 3, max_levels(input_shape, 6)),
        "normalization": hp.Boolean("normalization", default=True),
        "dropout_rate": hp.Float("dropout_rate", 0.0, 0.3, step=0.1),
    }


def max_levels(input_shape: Sequence[int | None], cap: int) -> int:
    """The most levels (pools + 1) the known input sizes allow, at most `cap`, at least 3."""
    levels = cap
    for size in (s for s in input_shape[:2] if s):
        while levels > 3 and size % 2 ** (levels - 1):
            levels -= 1
    return levels


def search_space(hp, input_shape):
    """The shared U-Net space plus the up-sampling method."""
    settings = unet_search_space(hp, input_shape)
    settings["upsampling"] = hp.Choice("upsampling", list(UPSAMPLING))
    return settings


@register_model("unet", reference=REFERENCE, search_space=search_space)
class UNet(SegmentationModel):
    """The classic U-Net: two 3x3 convolutions per level, doubling filters, max pooling down,
    2x2 transposed convolutions (or bilinear up-sampling) up, skips concatenated.

    Args:
        num_classes: output classes, background included (softmax; sigmoid for 1).
        input_shape: (height, width, channels); height and width may be None and must be
            multiples of 2**(num_layers - 1).
        base_filters: filters of the first level (paper: 64).
        num_layers: levels including the bridge (paper: 5).
        normalization: batch normalization after every convolution (the paper has none).
        activation: activation of every convolution.
        dropout_rate: dropout between the two convolutions of each level.
        upsampling: "transpose" (paper) or "bilinear".
        input_normalize: divide the input pixels by 255.

    Example:
        >>> model = UNet(num_classes=3, input_shape=(32, 32, 3), base_filters=4, num_layers=3)
        >>> model.count_params() > 0
        True
    """

    input_sizes = "multiples of 2**(num_layers - 1): 16 by default"

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int | None] | None = None,
        base_filters: int = 64,
        num_layers: int = 5,
        normalization: bool = True,
        activation: str = "relu",
        dropout_rate: float = 0.0,
        upsampling: str = "transpose",
        input_normalize: bool = True,
        name: str = "unet",
        **kwargs,
    ):
        settings = arguments(locals())
        model = "unet"
        pooled = pooled_settings(model, settings)
        common = pooled.common
        choice("upsampling", upsampling, UPSAMPLING, model=model)

        inputs, x = model_input(common, input_normalize)
        filters = pooled.filters
        style = pooled.style
        features = blocks.unet_encoder(x, filters, **style)
        x = blocks.unet_decoder(features, filters, upsampling=upsampling, **style)
        super().__init__(
            inputs,
            classifier(x, common.num_classes),
            settings=settings,
            size_multiple=pooled.size_multiple,
            size_reason=pooled.size_reason,
            name=name,
            **kwargs,
        )
