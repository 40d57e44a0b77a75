"""The architectures, one module each; `parts/` holds what they are built from and
`catalogue/` what describes them (registry, presets, model cards, MAC counts, search spaces).

The registry imports the modules in `ARCHITECTURES` (which registers them) the first time it
is asked for a model, so importing this package costs nothing.

Example:
    >>> from flexseg.models import FlexUNet
    >>> FlexUNet(num_classes=2, input_shape=(32, 32, 1), num_layers=2).output_shape
    (None, 32, 32, 2)
"""

from typing import TYPE_CHECKING

from flexseg.lazy import lazy_exports

# Class name -> module; importing a module registers its architecture.
ARCHITECTURES = {
    "AttentionUNet": "flexseg.models.attention_unet",
    "DeepLabV3Plus": "flexseg.models.deeplabv3plus",
    "EfficientUNet": "flexseg.models.efficient_unet",
    "FlexUNet": "flexseg.models.flexunet",
    "MultiResUNet": "flexseg.models.multires_unet",
    "SharpUNet": "flexseg.models.sharp_unet",
    "SwinUNet": "flexseg.models.swin_unet",
    "TransUNet": "flexseg.models.transunet",
    "U2Net": "flexseg.models.u2net",
    "UNet": "flexseg.models.unet",
    "UNet3Plus": "flexseg.models.unet3plus",
    "UNetPlusPlus": "flexseg.models.unetpp",
}

__getattr__, __dir__ = lazy_exports(__name__, ARCHITECTURES)

if TYPE_CHECKING:
    from flexseg.models.attention_unet import AttentionUNet
    from flexseg.models.deeplabv3plus import DeepLabV3Plus
    from flexseg.models.efficient_unet import EfficientUNet
    from flexseg.models.flexunet import FlexUNet
    from flexseg.models.multires_unet import MultiResUNet
    from flexseg.models.sharp_unet import SharpUNet
    from flexseg.models.swin_unet import SwinUNet
    from flexseg.models.transunet import TransUNet
    from flexseg.models.u2net import U2Net
    from flexseg.models.unet import UNet
    from flexseg.models.unet3plus import UNet3Plus
    from flexseg.models.unetpp import UNetPlusPlus

__all__ = [
    "AttentionUNet",
    "DeepLabV3Plus",
    "EfficientUNet",
    "FlexUNet",
    "MultiResUNet",
    "SharpUNet",
    "SwinUNet",
    "TransUNet",
    "U2Net",
    "UNet",
    "UNet3Plus",
    "UNetPlusPlus",
]
