"""UNet++ (Zhou et al. 2018): U-Nets of every depth nested, joined by dense skip pathways."""

from __future__ import annotations

from keras import layers

from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import blocks
from flexseg.models.parts.base import classifier, settings_table
from flexseg.models.unet import UNet

REFERENCE = (
    "Zhou, Rahman Siddiquee, Tajbakhsh, Liang: UNet++: A Nested U-Net Architecture for "
    "Medical Image Segmentation (DLMIA 2018), arXiv:1807.10165."
)


def averaged_heads(tensors, num_classes: int):
    """One class head per tensor; the output is their averaged probabilities.

    This is the papers' "accurate mode" for deep supervision: every head gets the gradient
    of the loss on the average (flexseg trains one output per model).
    """
    activation = "softmax" if num_classes > 1 else "sigmoid"
    probabilities = [
        layers.Activation(activation, dtype="float32", name=f"head{i}_probabilities")(
            layers.Conv2D(num_classes, 1, name=f"head{i}")(x)
        )
        for i, x in enumerate(tensors, start=1)
    ]
    return layers.Average(dtype="float32", name="probabilities")(probabilities)


@register_model("unetpp", reference=REFERENCE)
class UNetPlusPlus(UNet):
    """UNet++: node X(i, j) at depth i joins every earlier node of its depth with the
    up-sampled X(i + 1, j - 1), so the decoder of each depth re-uses all shallower ones.

    Args: as `unet` (num_classes, input_shape, base_filters, num_layers, normalization,
    activation, dropout_rate, upsampling, input_normalize), plus `deep_supervision`: a head on
    every top node X(0, j), their probabilities averaged (the paper's accurate mode).
    Defaults: 32 base filters (paper), 5 levels, batch normalization.

    Example:
        >>> model = UNetPlusPlus(num_classes=3, input_shape=(32, 32, 3), base_filters=4,
        ...                      num_layers=3, deep_supervision=True)
        >>> [layer.name for layer in model.layers if layer.name.startswith("head")][:2]
        ['head1', 'head2']
    """

    defaults = settings_table(UNet.defaults, base_filters=32, deep_supervision=False)

    def check(self, s):
        s.choice("deep_supervision", (False, True))
        return super().check(s)

    def graph(self, x, s):
        filters, levels = s.filters, s.num_layers
        # nodes[i][j] is X(i, j); column 0 is the encoder.
        nodes = [[feature] for feature in blocks.unet_encoder(x, filters, **s.style)]
        for j in range(1, levels):
            for i in range(levels - j):
                name_ij = f"x{i}{j}"
                up = blocks.upsample(
                    nodes[i + 1][j - 1], filters[i], name=name_ij, method=s["upsampling"]
                )
                joined = blocks.concat([*nodes[i], up], name=name_ij)
                nodes[i].append(blocks.conv_block(joined, filters[i], name=name_ij, **s.style))
        if s["deep_supervision"]:
            return averaged_heads(nodes[0][1:], s.num_classes)
        return classifier(nodes[0][-1], s)
