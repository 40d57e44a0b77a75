"""EfficientUNet: a U-Net decoder on an EfficientNet B0-B7 encoder from keras.applications.

Example:
    >>> import flexseg
    >>> model = flexseg.build("efficient_unet", num_classes=6, input_shape=(64, 64, 3),
    ...                       decoder_filters=(32, 16, 8, 8, 4))
    >>> model.output_shape
    (None, 64, 64, 6)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from keras import layers

from flexseg.errors import SettingsError
from flexseg.models import blocks
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
    "Tan, Le: EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks "
    "(ICML 2019), arXiv:1905.11946; U-Net decoder as in Baheti et al.: Eff-UNet (CVPR "
    "Workshops 2020)."
)
BACKBONES = tuple(f"efficientnetb{i}" for i in range(8))
STRIDES = (16, 8, 4, 2)  # the skips, deepest first; the encoder ends at 1/32


def search_space(hp, input_shape):
    """Encoder size, decoder width and normalization."""
    width = hp.Choice("decoder_width", [8, 16, 32])
    return {
        "backbone": hp.Choice("backbone", ["efficientnetb0", "efficientnetb1", "efficientnetb2"]),
        "decoder_filters": tuple(width * 2**i for i in (4, 3, 2, 1, 0)),
        "normalization": hp.Boolean("normalization", default=True),
    }


@register_model("efficient_unet", reference=REFERENCE, search_space=search_space)
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

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int | None] | None = None,
        backbone: str = "efficientnetb0",
        weights: str | Path | None = None,
        decoder_filters: Sequence[int] = (256, 128, 64, 32, 16),
        normalization: bool = True,
        activation: str = "relu",
        dropout_rate: float = 0.0,
        name: str = "efficient_unet",
        **kwargs,
    ):
        settings = arguments(locals())
        settings["weights"] = None
        model = "efficient_unet"
        common = common_settings(
            model,
            num_classes=num_classes,
            input_shape=input_shape,
            activation=activation,
            normalization=normalization,
            dropout_rate=dropout_rate,
        )
        choice("backbone", backbone, BACKBONES, model=model)
        if (
            isinstance(decoder_filters, str)
            or len(decoder_filters) != 5
            or not all(
                isinstance(f, int) and not isinstance(f, bool) and f > 0 for f in decoder_filters
            )
        ):
            raise SettingsError(
                f"{model}: decoder_filters must be five positive integers (1/16, 1/8, 1/4, 1/2 "
                f"and full resolution), e.g. [256, 128, 64, 32, 16]. Received: {decoder_filters!r}"
            )
        reason = "the EfficientNet encoder halves the size 5 times"
        check_size(common.input_shape, 32, model=model, reason=reason)
        style = {
            "normalization": common.normalization,
            "activation": common.activation,
            "dropout_rate": common.dropout_rate,
        }

        features = backbone_features(
            backbone, common.input_shape, strides=(32, *STRIDES), weights=weights, model=model
        )
        inputs = layers.Input(common.input_shape, name="image")
        x, *skips = features(inputs)
        for level, width in enumerate(decoder_filters):
            x = blocks.upsample(x, name=f"dec{level}", method="bilinear")
            if level < len(skips):
                x = blocks.concat([x, skips[level]], name=f"dec{level}")
            x = blocks.conv_block(x, width, name=f"dec{level}", **style)
        super().__init__(
            inputs,
            classifier(x, common.num_classes),
            settings=settings,
            size_multiple=32,
            size_reason=reason,
            name=name,
            **kwargs,
        )
