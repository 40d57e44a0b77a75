"""UNet 3+ (Huang et al. 2020): every decoder level gathers features from every scale.

Example:
    >>> import flexseg
    >>> model = flexseg.build("unet3plus", num_classes=6, input_shape=(64, 64, 3), base_filters=8)
    >>> model.output_shape
    (None, 64, 64, 6)
"""

from __future__ import annotations

from collections.abc import Sequence

from keras import layers, ops

from flexseg.models import blocks, checks
from flexseg.models.base import (
    SegmentationModel,
    arguments,
    choice,
    classifier,
    model_input,
    pooled_settings,
)
from flexseg.models.unet import unet_search_space
from flexseg.models.unetpp import averaged_heads
from flexseg.registry import register_model

REFERENCE = (
    "Huang et al.: UNet 3+: A Full-Scale Connected UNet for Medical Image Segmentation "
    "(ICASSP 2020), arXiv:2004.08790."
)


def search_space(hp, input_shape):
    """U-Net's space plus the per-scale width, deep supervision and the classification guide."""
    settings = unet_search_space(hp, input_shape)
    settings["skip_filters"] = hp.Choice("skip_filters", [16, 32, 64])
    settings["deep_supervision"] = hp.Boolean("deep_supervision")
    settings["classification_guided"] = hp.Boolean("classification_guided")
    return settings


@register_model("unet3plus", reference=REFERENCE, search_space=search_space)
class UNet3Plus(SegmentationModel):
    """UNet 3+: decoder level i concatenates every encoder level above it (max-pooled down),
    its own encoder level, and every deeper decoder level (bilinearly up-sampled), each
    reduced to `skip_filters` channels by a 3x3 convolution, then fuses them.

    Args: as `unet` (num_classes, input_shape, base_filters, num_layers, normalization,
    activation, dropout_rate, input_normalize), plus:
        skip_filters: channels of each scale's contribution (paper: 64).
        deep_supervision: a head on every decoder level and the bridge, up-sampled to full
            size, probabilities averaged.
        classification_guided: the classification-guided module, adapted to several
            classes: a per-image presence score per class, predicted from the bridge (dropout,
            1x1 convolution, global max pooling, sigmoid), scales that class's probabilities,
            which are then renormalized.
    Defaults: 64 base filters (paper), 5 levels, batch normalization, skip_filters 64.

    Example:
        >>> model = UNet3Plus(num_classes=3, input_shape=(32, 32, 3), base_filters=4,
        ...                   num_layers=3, skip_filters=4, classification_guided=True)
        >>> model.get_layer("cgm_presence").output.shape
        (None, 1, 1, 3)
    """

    input_sizes = "multiples of 2**(num_layers - 1): 16 by default"

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int | None] | None = None,
        base_filters: int = 64,
        num_layers: int = 5,
        normalization: bool = True,
        activation: str = "relu",
        dropout_rate: float = 0.0,
        skip_filters: int = 64,
        deep_supervision: bool = False,
        classification_guided: bool = False,
        input_normalize: bool = True,
        name: str = "unet3plus",
        **kwargs,
    ):
        settings = arguments(locals())
        model = "unet3plus"
        pooled = pooled_settings(model, settings)
        common, num_layers = pooled.common, pooled.num_layers
        skip_filters = checks.positive_int("skip_filters", skip_filters, model=model)
        choice("deep_supervision", deep_supervision, (False, True), model=model)
        choice("classification_guided", classification_guided, (False, True), model=model)
        style = {"normalization": common.normalization, "activation": common.activation}

        inputs, x = model_input(common, input_normalize)
        filters = pooled.filters
        encoder = blocks.unet_encoder(x, filters, dropout_rate=common.dropout_rate, **style)
        bridge = encoder[-1]
        decoder = {num_layers - 1: bridge}
        for i in range(num_layers - 2, -1, -1):
            parts = []
            for k in range(num_layers):
                source = encoder[k] if k <= i else decoder[k]
                name_ik = f"dec{i}_from{k}"
                if k < i:
                    source = layers.MaxPooling2D(2 ** (i - k), name=f"{name_ik}_pool")(source)
                elif k > i:
                    source = blocks.upsample(
                        source, name=name_ik, method="bilinear", factor=2 ** (k - i)
                    )
                parts.append(blocks.conv_norm_act(source, skip_filters, name=name_ik, **style))
            joined = blocks.concat(parts, name=f"dec{i}")
            decoder[i] = blocks.conv_norm_act(
                joined, skip_filters * num_layers, name=f"dec{i}", **style
            )

        if deep_supervision:
            sides = [
                blocks.upsample(decoder[i], name=f"side{i}", method="bilinear", factor=2**i)
                if i > 0
                else decoder[0]
                for i in range(num_layers)
            ]
            outputs = averaged_heads(sides, common.num_classes)
        else:
            outputs = classifier(decoder[0], common.num_classes)
        if classification_guided:
            presence = layers.Dropout(0.5, name="cgm_dropout")(bridge)
            presence = layers.Conv2D(common.num_classes, 1, name="cgm_conv")(presence)
            presence = layers.GlobalMaxPooling2D(keepdims=True, name="cgm_pool")(presence)
            presence = layers.Activation("sigmoid", dtype="float32", name="cgm_presence")(presence)
            guided = layers.Multiply(name="cgm_guide")([outputs, presence])
            if common.num_classes > 1:
                guided = guided / (ops.sum(guided, axis=-1, keepdims=True) + 1e-7)
            outputs = guided
        super().__init__(
            inputs,
            outputs,
            settings=settings,
            size_multiple=pooled.size_multiple,
            size_reason=pooled.size_reason,
            name=name,
            **kwargs,
        )
