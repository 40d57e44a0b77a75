"""Sharp U-Net (Zunair & Ben Hamza 2021): U-Net whose skips pass a fixed sharpening filter.

Example:
    >>> import flexseg
    >>> model = flexseg.build("sharp_unet", num_classes=6, input_shape=(64, 64, 3), base_filters=8)
    >>> model.output_shape
    (None, 64, 64, 6)
"""

from __future__ import annotations

from collections.abc import Sequence

from flexseg.models import blocks, checks
from flexseg.models.base import (
    SegmentationModel,
    arguments,
    check_size,
    choice,
    classifier,
    common_settings,
    model_input,
)
from flexseg.models.unet import level_filters, pooling_reason, unet_search_space
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
        common = common_settings(
            model,
            num_classes=num_classes,
            input_shape=input_shape,
            base_filters=base_filters,
            activation=activation,
            normalization=normalization,
            dropout_rate=dropout_rate,
        )
        num_layers = checks.positive_int("num_layers", num_layers, model=model, minimum=2)
        choice("kernel", kernel, list(KERNELS), model=model)
        multiple, reason = 2 ** (num_layers - 1), pooling_reason(num_layers)
        check_size(common.input_shape, multiple, model=model, reason=reason)

        def sharpen(skip, coarser, level):
            return blocks.sharpen(skip, name=f"sharp{level}", kernel=KERNELS[kernel])

        inputs, x = model_input(common, input_normalize)
        filters = level_filters(common.base_filters, num_layers)
        style = {
            "normalization": common.normalization,
            "activation": common.activation,
            "dropout_rate": common.dropout_rate,
        }
        features = blocks.unet_encoder(x, filters, **style)
        x = blocks.unet_decoder(
            features, filters, upsampling="bilinear", gate_skip=sharpen, **style
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
