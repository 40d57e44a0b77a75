"""The built-in architectures; importing this package registers them."""

from flexseg.models.flexunet import FlexUNet

__all__ = ["FlexUNet"]
