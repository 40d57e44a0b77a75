"""Sharp U-Net (Zunair & Ben Hamza 2021): U-Net whose skips pass a fixed sharpening filter.

Example:
    >>> import flexseg
    >>> model = flexseg.build("sharp_unet", num_classes=6, input_shape=(64, 64, 3), base_filters=8)
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
from flexseg.models.unet import unet_search_space
from flexseg.registry import register_model

REFERENCE = (
    "Zunair, Ben Hamza: Sharp U-Net: Depthwise Convolutional Network for Biomedical Image "
    "Segmentation (Computers in Biology and Medicine 2021), arXiv:2107.12461."
)
KERNELS = {
    # The authors' code: a Laplacian high-pass kernel (sums to 0).
    "laplacian": ((-1, -1, -1), (-1, 8, -1), (-1, -1, -1)),
    # The classic sharpening kernel: identity plus the 4-neighbour Laplacian (sums to 1).
    "sharpen": ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
}


def search_space(hp, input_shape):
    """U-Net's space plus the sharpening kernel."""
    settings = unet_search_space(hp, input_shape)
    settings["kernel"] = hp.Choice("kernel", list(KERNELS))
    return settings


@register_model("sharp_unet", reference=REFERENCE, search_space=search_space)
class SharpUNet(SegmentationModel):
    """U-Net with bilinear up-sampling whose encoder features pass a fixed (untrained)
    depthwise filter before they join the decoder, which the paper finds reduces the
    semantic gap between encoder and decoder features.

    Args: as `unet` (num_classes, input_shape, base_filters, num_layers, normalization,
    activation, dropout_rate, input_normalize), plus `kernel`: "laplacian" (the authors'
    code, default) or "sharpen". Defaults: 32 base filters, 5 levels, batch normalization.

    Example:
        >>> model = SharpUNet(num_classes=3, input_shape=(32, 32, 3), base_filters=4, num_layers=3)
        >>> model.get_layer("sharp0_sharpen").count_params()
        0
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
        kernel: str = "laplacian",
        input_normalize: bool = True,
        name: str = "sharp_unet",
        **kwargs,
    ):
        settings = arguments(locals())
        model = "sharp_unet"
        pooled = pooled_settings(model, settings)
        common = pooled.common
        choice("kernel", kernel, list(KERNELS), model=model)

        def sharpen(skip, coarser, level):
            return blocks.sharpen(skip, name=f"sharp{level}", kernel=KERNELS[kernel])

        inputs, x = model_input(common, input_normalize)
        filters = pooled.filters
        style = pooled.style
        features = blocks.unet_encoder(x, filters, **style)
        x = blocks.unet_decoder(
            features, filters, upsampling="bilinear", gate_skip=sharpen, **style
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
