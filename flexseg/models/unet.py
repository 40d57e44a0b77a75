"""U-Net (Ronneberger et al. 2015): the classic encoder-decoder with skip connections."""

from __future__ import annotations

from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import blocks
from flexseg.models.parts.base import POOLED_DEFAULTS, SegmentationModel, classifier, settings_table

REFERENCE = (
    "Ronneberger, Fischer, Brox: U-Net: Convolutional Networks for Biomedical Image "
    "Segmentation (MICCAI 2015), arXiv:1505.04597."
)
UPSAMPLING = ("transpose", "bilinear")


@register_model("unet", reference=REFERENCE)
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
        >>> model = UNet(num_classes=6, input_shape=(64, 64, 3), base_filters=8)
        >>> model.output_shape
        (None, 64, 64, 6)
    """

    input_sizes = "multiples of 2**(num_layers - 1): 16 by default"
    defaults = settings_table(POOLED_DEFAULTS, base_filters=64, upsampling="transpose")

    def check(self, s):
        s.choice("upsampling", UPSAMPLING)
        return s.with_levels()

    def graph(self, x, s):
        features = blocks.unet_encoder(x, s.filters, **s.style)
        x = blocks.unet_decoder(features, s.filters, upsampling=s["upsampling"], **s.style)
        return classifier(x, s)
