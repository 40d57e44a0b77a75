"""Attention U-Net (Oktay et al. 2018): U-Net whose skips pass through additive attention gates.

Example:
    >>> import flexseg
    >>> model = flexseg.build("attention_unet", num_classes=6, input_shape=(64, 64, 3),
    ...                       base_filters=8)
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
from flexseg.models.unet import UPSAMPLING, unet_search_space
from flexseg.registry import register_model

REFERENCE = (
    "Oktay et al.: Attention U-Net: Learning Where to Look for the Pancreas (MIDL 2018), "
    "arXiv:1804.03999."
)


def search_space(hp, input_shape):
    """U-Net's space plus the up-sampling method."""
    settings = unet_search_space(hp, input_shape)
    settings["upsampling"] = hp.Choice("upsampling", list(UPSAMPLING))
    return settings


@register_model("attention_unet", reference=REFERENCE, search_space=search_space)
class AttentionUNet(SegmentationModel):
    """U-Net with an attention gate on every skip: the coarser decoder features decide, per
    pixel, how much of the skip passes (gates computed at the coarser resolution, as in the
    paper, with half the skip's filters).

    Args: as `unet` (num_classes, input_shape, base_filters, num_layers, normalization,
    activation, dropout_rate, upsampling, input_normalize). Defaults: 32 base filters,
    5 levels, batch normalization, transposed-convolution up-sampling.

    Example:
        >>> model = AttentionUNet(num_classes=3, input_shape=(32, 32, 3), base_filters=4,
        ...                       num_layers=3)
        >>> model.get_layer("gate0_psi").output.shape[-1]
        1
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
        dropout_rate: float = 0.0,
        upsampling: str = "transpose",
        input_normalize: bool = True,
        name: str = "attention_unet",
        **kwargs,
    ):
        settings = arguments(locals())
        model = "attention_unet"
        pooled = pooled_settings(model, settings)
        common = pooled.common
        choice("upsampling", upsampling, UPSAMPLING, model=model)

        def gate(skip, coarser, level):
            return blocks.attention_gate(
                skip,
                coarser,
                max(skip.shape[-1] // 2, 1),
                name=f"gate{level}",
                normalization=common.normalization,
            )

        inputs, x = model_input(common, input_normalize)
        filters = pooled.filters
        style = pooled.style
        features = blocks.unet_encoder(x, filters, **style)
        x = blocks.unet_decoder(features, filters, upsampling=upsampling, gate_skip=gate, **style)
        super().__init__(
            inputs,
            classifier(x, common.num_classes),
            settings=settings,
            size_multiple=pooled.size_multiple,
            size_reason=pooled.size_reason,
            name=name,
            **kwargs,
        )
