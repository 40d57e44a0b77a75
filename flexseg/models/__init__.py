"""The built-in architectures; importing this package registers them."""

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
