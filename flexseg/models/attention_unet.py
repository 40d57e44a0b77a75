"""Attention U-Net (Oktay et al. 2018): U-Net whose skips pass through additive attention gates."""

from __future__ import annotations

from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import blocks
from flexseg.models.parts.base import classifier, settings_table
from flexseg.models.unet import UNet

REFERENCE = (
    "Oktay et al.: Attention U-Net: Learning Where to Look for the Pancreas (MIDL 2018), "
    "arXiv:1804.03999."
)


@register_model("attention_unet", reference=REFERENCE)
class AttentionUNet(UNet):
    """U-Net with an attention gate on every skip: the coarser decoder features decide, per
    pixel, how much of the skip passes (gates computed at the coarser resolution, as in the
    paper, with half the skip's filters).

    Args: as `unet` (num_classes, input_shape, base_filters, num_layers, normalization,
    activation, dropout_rate, upsampling, input_normalize). Defaults: 32 base filters,
    5 levels, batch normalization, transposed-convolution up-sampling.

    Example:
        >>> model = AttentionUNet(num_classes=3, input_shape=(32, 32, 3), base_filters=4,
        ...                       num_layers=3)
        >>> model.get_layer("gate0_psi").output.shape[-1]
        1
    """

    defaults = settings_table(UNet.defaults, base_filters=32)

    def graph(self, x, s):
        def gate(skip, coarser, level):
            filters = max(skip.shape[-1] // 2, 1)
            return blocks.attention_gate(
                skip, coarser, filters, name=f"gate{level}", normalization=s.normalization
            )

        features = blocks.unet_encoder(x, s.filters, **s.style)
        x = blocks.unet_decoder(
            features, s.filters, upsampling=s["upsampling"], gate_skip=gate, **s.style
        )
        return classifier(x, s)
