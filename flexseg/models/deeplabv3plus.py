"""DeepLabV3+ (Chen et al. 2018): atrous spatial pyramid pooling on a backbone's 1/16
features, and a light decoder that joins its 1/4 features.

Example:
    >>> import flexseg
    >>> model = flexseg.build("deeplabv3plus", num_classes=6, input_shape=(64, 64, 3),
    ...                       backbone="mobilenetv2", backbone_alpha=0.35, aspp_filters=16,
    ...                       decoder_filters=16, low_level_filters=8)
    >>> model.output_shape
    (None, 64, 64, 6)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from keras import layers, ops

from flexseg.errors import SettingsError
from flexseg.models import blocks, checks
from flexseg.models.backbones import backbone_features
from flexseg.models.base import (
    SegmentationModel,
    arguments,
    check_size,
    choice,
    classifier,
    common_settings,
)
from flexseg.registry import register_model

REFERENCE = (
    "Chen, Zhu, Papandreou, Schroff, Adam: Encoder-Decoder with Atrous Separable Convolution "
    "for Semantic Image Segmentation (ECCV 2018), arXiv:1802.02611."
)
BACKBONES = ("resnet50", "resnet101", "mobilenetv2")
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)


def search_space(hp, input_shape):
    """ASPP and decoder widths, atrous rates and dropout."""
    rates = hp.Choice("atrous_rates", ["6,12,18", "3,6,9", "2,4,6"])
    return {
        "aspp_filters": hp.Choice("aspp_filters", [64, 128, 256]),
        "decoder_filters": hp.Choice("decoder_filters", [64, 128, 256]),
        "atrous_rates": tuple(int(r) for r in rates.split(",")),
        "dropout_rate": hp.Float("dropout_rate", 0.0, 0.3, step=0.1),
    }


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


@register_model("deeplabv3plus", reference=REFERENCE, search_space=search_space)
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

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int | None] | None = None,
        backbone: str = "resnet50",
        weights: str | Path | None = None,
        backbone_alpha: float = 1.0,
        aspp_filters: int = 256,
        decoder_filters: int = 256,
        low_level_filters: int = 48,
        atrous_rates: Sequence[int] = (6, 12, 18),
        dropout_rate: float = 0.1,
        name: str = "deeplabv3plus",
        **kwargs,
    ):
        settings = arguments(locals())
        settings["weights"] = None
        model = "deeplabv3plus"
        common = common_settings(
            model, num_classes=num_classes, input_shape=input_shape, dropout_rate=dropout_rate
        )
        choice("backbone", backbone, BACKBONES, model=model)
        for key in ("aspp_filters", "decoder_filters", "low_level_filters"):
            checks.positive_int(key, settings[key], model=model)
        if isinstance(atrous_rates, str) or not all(
            isinstance(r, int) and not isinstance(r, bool) and r > 0 for r in atrous_rates
        ):
            raise SettingsError(
                f"{model}: atrous_rates must be a list of positive integers, e.g. [6, 12, 18]. "
                f"Received: atrous_rates={atrous_rates!r}"
            )
        reason = "the backbone's deepest features used are at 1/16 of the input size"
        check_size(common.input_shape, 16, model=model, reason=reason)

        features = backbone_features(
            backbone,
            common.input_shape,
            strides=(4, 16),
            weights=weights,
            model=model,
            alpha=backbone_alpha,
        )
        inputs = layers.Input(common.input_shape, name="image")
        low, high = features(preprocess(inputs, backbone))

        branches = [blocks.conv_norm_act(high, aspp_filters, 1, name="aspp_1x1")]
        for rate in atrous_rates:
            branches.append(
                blocks.conv_norm_act(high, aspp_filters, dilation=rate, name=f"aspp_rate{rate}")
            )
        branches.append(blocks.global_context(high, aspp_filters, name="aspp_image"))
        x = blocks.conv_norm_act(blocks.concat(branches, name="aspp"), aspp_filters, 1, name="aspp")
        if common.dropout_rate > 0:
            x = layers.Dropout(common.dropout_rate, name="aspp_dropout")(x)
        x = blocks.upsample(x, name="decoder", method="bilinear", factor=4)
        low = blocks.conv_norm_act(low, low_level_filters, 1, name="low_level")
        x = blocks.concat([x, low], name="decoder")
        x = blocks.conv_block(x, decoder_filters, name="decoder")
        x = blocks.upsample(x, name="output", method="bilinear", factor=4)
        super().__init__(
            inputs,
            classifier(x, common.num_classes),
            settings=settings,
            size_multiple=16,
            size_reason=reason,
            name=name,
            **kwargs,
        )
