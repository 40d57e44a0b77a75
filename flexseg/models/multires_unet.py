"""MultiResUNet (Ibtehaz & Rahman 2020): MultiRes blocks in place of conv pairs, Res paths
on the skips."""

from __future__ import annotations

from keras import layers

from flexseg.errors import SettingsError
from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import blocks
from flexseg.models.parts.base import POOLED_DEFAULTS, SegmentationModel, classifier, settings_table

REFERENCE = (
    "Ibtehaz, Rahman: MultiResUNet: Rethinking the U-Net Architecture for Multimodal "
    "Biomedical Image Segmentation (Neural Networks 2020), arXiv:1902.04049."
)


@register_model("multires_unet", reference=REFERENCE)
class MultiResUNet(SegmentationModel):
    """MultiResUNet: each level is a MultiRes block (three chained 3x3 convolutions, widths
    W/6, W/3, W/2 with W = alpha * filters, concatenated, plus a 1x1 shortcut); the skip of
    level i crosses a Res path of num_layers - 1 - i residual units.

    Args: num_classes, input_shape, base_filters (paper: 32), num_layers (paper: 5),
    normalization, activation, input_normalize as in `unet`; alpha (paper: 1.67).

    Example:
        >>> model = MultiResUNet(num_classes=3, input_shape=(32, 32, 3), base_filters=6,
        ...                      num_layers=3)
        >>> model.get_layer("respath0_2_add").output.shape
        (None, 32, 32, 6)
    """

    input_sizes = "multiples of 2**(num_layers - 1): 16 by default"
    # The paper has no dropout.
    defaults = settings_table(POOLED_DEFAULTS, without=("dropout_rate",), alpha=1.67)

    def check(self, s):
        s = s.with_levels()
        alpha = s["alpha"]
        if (
            isinstance(alpha, bool)
            or not isinstance(alpha, int | float)
            or alpha * s.base_filters < 6
        ):
            raise SettingsError(
                f"multires_unet: alpha * base_filters must be at least 6 (the block's narrowest "
                f"convolution has alpha * base_filters / 6 filters). Received: alpha={alpha!r}, "
                f"base_filters={s.base_filters}."
            )
        return s

    def graph(self, x, s):
        levels, alpha = s.num_layers, s["alpha"]
        skips = []
        for level, width in enumerate(s.filters):
            if level > 0:
                x = layers.MaxPooling2D(2, name=f"enc{level - 1}_pool")(x)
            x = blocks.multires_block(x, width, name=f"enc{level}", alpha=alpha, **s.norm_act)
            if level < levels - 1:
                skips.append(
                    blocks.res_path(
                        x, width, levels - 1 - level, name=f"respath{level}", **s.norm_act
                    )
                )
        for level in range(levels - 2, -1, -1):
            up = blocks.upsample(x, s.filters[level], name=f"dec{level}")
            joined = blocks.concat([up, skips[level]], name=f"dec{level}")
            x = blocks.multires_block(
                joined, s.filters[level], name=f"dec{level}", alpha=alpha, **s.norm_act
            )
        return classifier(x, s)
