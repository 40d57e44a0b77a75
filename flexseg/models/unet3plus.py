"""UNet 3+ (Huang et al. 2020): every decoder level gathers features from every scale."""

from __future__ import annotations

from keras import layers, ops

from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import blocks
from flexseg.models.parts.base import POOLED_DEFAULTS, SegmentationModel, classifier, settings_table
from flexseg.models.unetpp import averaged_heads

REFERENCE = (
    "Huang et al.: UNet 3+: A Full-Scale Connected UNet for Medical Image Segmentation "
    "(ICASSP 2020), arXiv:2004.08790."
)


@register_model("unet3plus", reference=REFERENCE)
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
    defaults = settings_table(
        POOLED_DEFAULTS,
        base_filters=64,
        skip_filters=64,
        deep_supervision=False,
        classification_guided=False,
    )

    def check(self, s):
        s.positive_int("skip_filters")
        s.choice("deep_supervision", (False, True))
        s.choice("classification_guided", (False, True))
        return s.with_levels()

    def graph(self, x, s):
        levels, width = s.num_layers, s["skip_filters"]
        encoder = blocks.unet_encoder(x, s.filters, **s.style)
        bridge = encoder[-1]
        decoder = {levels - 1: bridge}
        for i in range(levels - 2, -1, -1):
            parts = []
            for k in range(levels):
                source = encoder[k] if k <= i else decoder[k]
                name_ik = f"dec{i}_from{k}"
                if k < i:
                    source = layers.MaxPooling2D(2 ** (i - k), name=f"{name_ik}_pool")(source)
                elif k > i:
                    source = blocks.upsample(
                        source, name=name_ik, method="bilinear", factor=2 ** (k - i)
                    )
                parts.append(blocks.conv_norm_act(source, width, name=name_ik, **s.norm_act))
            joined = blocks.concat(parts, name=f"dec{i}")
            decoder[i] = blocks.conv_norm_act(joined, width * levels, name=f"dec{i}", **s.norm_act)

        if s["deep_supervision"]:
            sides = [
                blocks.upsample(decoder[i], name=f"side{i}", method="bilinear", factor=2**i)
                if i > 0
                else decoder[0]
                for i in range(levels)
            ]
            outputs = averaged_heads(sides, s.num_classes)
        else:
            outputs = classifier(decoder[0], s)
        if not s["classification_guided"]:
            return outputs
        presence = layers.Dropout(0.5, name="cgm_dropout")(bridge)
        presence = layers.Conv2D(s.num_classes, 1, name="cgm_conv")(presence)
        presence = layers.GlobalMaxPooling2D(keepdims=True, name="cgm_pool")(presence)
        presence = layers.Activation("sigmoid", dtype="float32", name="cgm_presence")(presence)
        guided = layers.Multiply(name="cgm_guide")([outputs, presence])
        if s.num_classes > 1:
            guided = guided / (ops.sum(guided, axis=-1, keepdims=True) + 1e-7)
        return guided
