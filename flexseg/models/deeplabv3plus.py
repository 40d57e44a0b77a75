"""DeepLabV3+ (Chen et al. 2018): atrous spatial pyramid pooling on a backbone's 1/16
features, and a light decoder that joins its 1/4 features."""

from __future__ import annotations

from keras import layers, ops

from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import blocks
from flexseg.models.parts.backbones import backbone_features
from flexseg.models.parts.base import SegmentationModel, classifier, settings_table

REFERENCE = (
    "Chen, Zhu, Papandreou, Schroff, Adam: Encoder-Decoder with Atrous Separable Convolution "
    "for Semantic Image Segmentation (ECCV 2018), arXiv:1802.02611."
)
BACKBONES = ("resnet50", "resnet101", "mobilenetv2")
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)


def preprocess(x, backbone: str):
    """The pixel scaling each backbone's ImageNet weights expect, from 0-255 pixels."""
    if backbone == "mobilenetv2":
        return layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")(x)
    if x.shape[-1] == 3:  # ResNet ("caffe"): BGR order, ImageNet mean subtracted
        x = ops.flip(x, axis=-1)
        return layers.Rescaling(
            1.0, offset=[-m for m in reversed(IMAGENET_MEAN_RGB)], name="preprocess"
        )(x)
    return layers.Rescaling(1 / 255, name="preprocess")(x)


@register_model("deeplabv3plus", reference=REFERENCE)
class DeepLabV3Plus(SegmentationModel):
    """DeepLabV3+ on a `keras.applications` backbone cut after its 1/16 stage.

    ASPP: a 1x1 convolution, three 3x3 atrous convolutions (atrous_rates) and image-level
    pooling, concatenated and fused by a 1x1 convolution. Decoder: up-sample by 4, join the
    backbone's 1/4 features reduced to low_level_filters, two 3x3 convolutions, up-sample
    by 4.

    Args:
        num_classes: output classes, background included.
        input_shape: (height, width, channels), 0-255 pixels (the model applies the
            backbone's own scaling); height and width multiples of 16.
        backbone: "resnet50" (paper's choice among others; default), "resnet101" or
            "mobilenetv2".
        weights: None (random initialization; nothing is downloaded) or the path of a local
            weights file for the backbone built by keras.applications with include_top=False.
        backbone_alpha: MobileNetV2's width multiplier (0.35 to 1.4).
        aspp_filters, decoder_filters, low_level_filters: widths (paper: 256, 256, 48).
        atrous_rates: ASPP dilation rates at output stride 16 (paper: 6, 12, 18).
        dropout_rate: dropout after the ASPP fusion (paper: 0.1).

    The loaded weights live in the model's variables, so the config records weights=None
    and a saved model reloads without the file.

    Example:
        >>> model = DeepLabV3Plus(num_classes=3, input_shape=(32, 32, 3), backbone="mobilenetv2",
        ...                       backbone_alpha=0.35, aspp_filters=8, decoder_filters=8,
        ...                       low_level_filters=4)
        >>> model.get_layer("aspp_rate6_conv").dilation_rate
        (6, 6)
    """

    input_sizes = "multiples of 16"
    read_from_files = ("weights",)
    defaults = settings_table(
        backbone="resnet50",
        weights=None,
        backbone_alpha=1.0,
        aspp_filters=256,
        decoder_filters=256,
        low_level_filters=48,
        atrous_rates=(6, 12, 18),
        dropout_rate=0.1,
    )

    def check(self, s):
        s.choice("backbone", BACKBONES)
        for key in ("aspp_filters", "decoder_filters", "low_level_filters"):
            s.positive_int(key)
        s.positive_ints("atrous_rates", meaning=", e.g. [6, 12, 18]")
        return s.with_size(16, "the backbone's deepest features used are at 1/16 of the input size")

    def graph(self, x, s):
        features = backbone_features(
            s["backbone"], s.input_shape, strides=(4, 16), weights=s["weights"], model=s.model,
            alpha=s["backbone_alpha"],
        )  # fmt: skip
        low, high = features(preprocess(x, s["backbone"]))
        width = s["aspp_filters"]
        branches = [blocks.conv_norm_act(high, width, 1, name="aspp_1x1")]
        for rate in s["atrous_rates"]:
            branches.append(
                blocks.conv_norm_act(high, width, dilation=rate, name=f"aspp_rate{rate}")
            )
        branches.append(blocks.global_context(high, width, name="aspp_image"))
        x = blocks.conv_norm_act(blocks.concat(branches, name="aspp"), width, 1, name="aspp")
        if s.dropout_rate > 0:
            x = layers.Dropout(s.dropout_rate, name="aspp_dropout")(x)
        x = blocks.upsample(x, name="decoder", method="bilinear", factor=4)
        low = blocks.conv_norm_act(low, s["low_level_filters"], 1, name="low_level")
        x = blocks.concat([x, low], name="decoder")
        x = blocks.conv_block(x, s["decoder_filters"], name="decoder")
        x = blocks.upsample(x, name="output", method="bilinear", factor=4)
        return classifier(x, s)
