"""MultiResUNet (Ibtehaz & Rahman 2020): MultiRes blocks in place of conv pairs, Res paths on skips.

Example:
    >>> import flexseg
    >>> model = flexseg.build("multires_unet", num_classes=6, input_shape=(64, 64, 3),
    ...                       base_filters=8)
    >>> model.output_shape
    (None, 64, 64, 6)
"""

from __future__ import annotations

from collections.abc import Sequence

from keras import layers

from flexseg.errors import SettingsError
from flexseg.models import blocks
from flexseg.models.base import (
    SegmentationModel,
    arguments,
    classifier,
    model_input,
    pooled_settings,
)
from flexseg.models.unet import unet_search_space
from flexseg.registry import register_model

REFERENCE = (
    "Ibtehaz, Rahman: MultiResUNet: Rethinking the U-Net Architecture for Multimodal "
    "Biomedical Image Segmentation (Neural Networks 2020), arXiv:1902.04049."
)


def search_space(hp, input_shape):
    """U-Net's space (no dropout: the paper has none) plus the block width factor alpha."""
    settings = unet_search_space(hp, input_shape)
    del settings["dropout_rate"]
    settings["alpha"] = hp.Float("alpha", 1.0, 2.0, step=0.33)
    return settings


@register_model("multires_unet", reference=REFERENCE, search_space=search_space)
class MultiResUNet(SegmentationModel):
    """MultiResUNet: each level is a MultiRes block (three chained 3x3 convolutions, widths
    W/6, W/3, W/2 with W = alpha * filters, concatenated, plus a 1x1 shortcut); the skip of
    level i crosses a Res path of num_layers - 1 - i residual units.

    Args: num_classes, input_shape, base_filters (paper: 32), num_layers (paper: 5),
    normalization, activation, input_normalize as in `unet`; alpha (paper: 1.67).

    Example:
        >>> model = MultiResUNet(num_classes=3, input_shape=(32, 32, 3), base_filters=6,
        ...                      num_layers=3)
        >>> model.get_layer("respath0_2_add").output.shape
        (None, 32, 32, 6)
    """

    input_sizes = "multiples of 2**(num_layers - 1): 16 by default"

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int | None] | None = None,
        base_filters: int = 32,
        num_layers: int = 5,
        normalization: bool = True,
        activation: str = "relu",
        alpha: float = 1.67,
        input_normalize: bool = True,
        name: str = "multires_unet",
        **kwargs,
    ):
        settings = arguments(locals())
        model = "multires_unet"
        pooled = pooled_settings(model, settings)
        common, num_layers = pooled.common, pooled.num_layers
        if (
            isinstance(alpha, bool)
            or not isinstance(alpha, int | float)
            or alpha * base_filters < 6
        ):
            raise SettingsError(
                f"{model}: alpha * base_filters must be at least 6 (the block's narrowest "
                f"convolution has alpha * base_filters / 6 filters). Received: alpha={alpha!r}, "
                f"base_filters={base_filters}."
            )
        style = {"normalization": common.normalization, "activation": common.activation}

        inputs, x = model_input(common, input_normalize)
        filters = pooled.filters
        skips = []
        for level, width in enumerate(filters):
            if level > 0:
                x = layers.MaxPooling2D(2, name=f"enc{level - 1}_pool")(x)
            x = blocks.multires_block(x, width, name=f"enc{level}", alpha=alpha, **style)
            if level < num_layers - 1:
                length = num_layers - 1 - level
                skips.append(blocks.res_path(x, width, length, name=f"respath{level}", **style))
        for level in range(num_layers - 2, -1, -1):
            up = blocks.upsample(x, filters[level], name=f"dec{level}")
            joined = blocks.concat([up, skips[level]], name=f"dec{level}")
            x = blocks.multires_block(
                joined, filters[level], name=f"dec{level}", alpha=alpha, **style
            )
        super().__init__(
            inputs,
            classifier(x, common.num_classes),
            settings=settings,
            size_multiple=pooled.size_multiple,
            size_reason=pooled.size_reason,
            name=name,
            **kwargs,
        )
