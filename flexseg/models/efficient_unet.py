"""EfficientUNet: a U-Net decoder on an EfficientNet B0-B7 encoder from keras.applications."""

from __future__ import annotations

from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import blocks
from flexseg.models.parts.backbones import backbone_features
from flexseg.models.parts.base import SegmentationModel, classifier, settings_table

REFERENCE = (
    "Tan, Le: EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks "
    "(ICML 2019), arXiv:1905.11946; U-Net decoder as in Baheti et al.: Eff-UNet (CVPR "
    "Workshops 2020)."
)
BACKBONES = tuple(f"efficientnetb{i}" for i in range(8))
STRIDES = (16, 8, 4, 2)  # the skips, deepest first; the encoder ends at 1/32


@register_model("efficient_unet", reference=REFERENCE)
class EfficientUNet(SegmentationModel):
    """A U-Net decoder on EfficientNet: five up-sampling steps from the encoder's 1/32
    features, each joining the encoder's features of that resolution (1/16 ... 1/2).

    Args:
        num_classes: output classes, background included (the original's EfficientNetB7
            UNet had one output channel; here any number).
        input_shape: (height, width, channels), 0-255 pixels (EfficientNet scales them
            itself); height and width multiples of 32.
        backbone: "efficientnetb0" (default) to "efficientnetb7".
        weights: None (random initialization; nothing is downloaded) or the path of a local
            weights file for keras.applications' EfficientNet with include_top=False.
        decoder_filters: five widths, 1/16 to full resolution (default 256, 128, 64, 32, 16).
        normalization, activation, dropout_rate: the decoder's convolutions, as in `unet`.

    Example:
        >>> model = EfficientUNet(num_classes=3, input_shape=(32, 32, 3),
        ...                       decoder_filters=(16, 8, 8, 4, 4))
        >>> model.get_layer("dec4_1_conv").output.shape
        (None, 32, 32, 4)
    """

    input_sizes = "multiples of 32"
    read_from_files = ("weights",)
    defaults = settings_table(
        backbone="efficientnetb0",
        weights=None,
        decoder_filters=(256, 128, 64, 32, 16),
        normalization=True,
        activation="relu",
        dropout_rate=0.0,
    )

    def check(self, s):
        s.choice("backbone", BACKBONES)
        s.positive_ints(
            "decoder_filters",
            count=5,
            meaning=" (1/16, 1/8, 1/4, 1/2 and full resolution), e.g. [256, 128, 64, 32, 16]",
        )
        return s.with_size(32, "the EfficientNet encoder halves the size 5 times")

    def graph(self, x, s):
        features = backbone_features(
            s["backbone"], s.input_shape, strides=(32, *STRIDES), weights=s["weights"],
            model=s.model,
        )  # fmt: skip
        x, *skips = features(x)
        for level, width in enumerate(s["decoder_filters"]):
            x = blocks.upsample(x, name=f"dec{level}", method="bilinear")
            if level < len(skips):
                x = blocks.concat([x, skips[level]], name=f"dec{level}")
            x = blocks.conv_block(x, width, name=f"dec{level}", **s.style)
        return classifier(x, s)
