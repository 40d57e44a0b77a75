"""UNet++ (Zhou et al. 2018): U-Nets of every depth nested, joined by dense skip pathways.

Example:
    >>> import flexseg
    >>> model = flexseg.build("unetpp", num_classes=6, input_shape=(64, 64, 3), base_filters=8)
    >>> model.output_shape
    (None, 64, 64, 6)
"""

from __future__ import annotations

from collections.abc import Sequence

from keras import layers

from flexseg.models import blocks
from flexseg.models.base import (
    SegmentationModel,
    arguments,
    choice,
    classifier,
    model_input,
    pooled_settings,
)
from flexseg.models.unet import UPSAMPLING, unet_search_space
from flexseg.registry import register_model

REFERENCE = (
    "Zhou, Rahman Siddiquee, Tajbakhsh, Liang: UNet++: A Nested U-Net Architecture for "
    "Medical Image Segmentation (DLMIA 2018), arXiv:1807.10165."
)


def search_space(hp, input_shape):
    """U-Net's space plus deep supervision."""
    settings = unet_search_space(hp, input_shape)
    settings["deep_supervision"] = hp.Boolean("deep_supervision")
    return settings


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


@register_model("unetpp", reference=REFERENCE, search_space=search_space)
class UNetPlusPlus(SegmentationModel):
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
        upsampling: str = "transpose",
        deep_supervision: bool = False,
        input_normalize: bool = True,
        name: str = "unetpp",
        **kwargs,
    ):
        settings = arguments(locals())
        model = "unetpp"
        pooled = pooled_settings(model, settings)
        common, num_layers = pooled.common, pooled.num_layers
        choice("upsampling", upsampling, UPSAMPLING, model=model)
        choice("deep_supervision", deep_supervision, (False, True), model=model)

        inputs, x = model_input(common, input_normalize)
        filters = pooled.filters
        style = pooled.style
        # nodes[i][j] is X(i, j); column 0 is the encoder.
        nodes = [[feature] for feature in blocks.unet_encoder(x, filters, **style)]
        for j in range(1, num_layers):
            for i in range(num_layers - j):
                name_ij = f"x{i}{j}"
                up = blocks.upsample(
                    nodes[i + 1][j - 1], filters[i], name=name_ij, method=upsampling
                )
                joined = blocks.concat([*nodes[i], up], name=name_ij)
                nodes[i].append(blocks.conv_block(joined, filters[i], name=name_ij, **style))
        if deep_supervision:
            outputs = averaged_heads(nodes[0][1:], common.num_classes)
        else:
            outputs = classifier(nodes[0][-1], common.num_classes)
        super().__init__(
            inputs,
            outputs,
            settings=settings,
            size_multiple=pooled.size_multiple,
            size_reason=pooled.size_reason,
            name=name,
            **kwargs,
        )
