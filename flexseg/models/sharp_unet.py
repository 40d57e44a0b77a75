"""Sharp U-Net (Zunair & Ben Hamza 2021): U-Net whose skips pass a fixed sharpening filter."""

from __future__ import annotations

from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import blocks
from flexseg.models.parts.base import POOLED_DEFAULTS, SegmentationModel, classifier, settings_table

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


@register_model("sharp_unet", reference=REFERENCE)
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
    defaults = settings_table(POOLED_DEFAULTS, kernel="laplacian")

    def check(self, s):
        s.choice("kernel", list(KERNELS))
        return s.with_levels()

    def graph(self, x, s):
        def sharpen(skip, coarser, level):
            return blocks.sharpen(skip, name=f"sharp{level}", kernel=KERNELS[s["kernel"]])

        features = blocks.unet_encoder(x, s.filters, **s.style)
        x = blocks.unet_decoder(
            features, s.filters, upsampling="bilinear", gate_skip=sharpen, **s.style
        )
        return classifier(x, s)
