"""flexseg: semantic segmentation models that run unchanged on TensorFlow, JAX and PyTorch.

Example:
    >>> import flexseg
    >>> model = flexseg.build("flexunet", num_classes=3, input_shape=(64, 64, 3), num_layers=3)
    >>> model.output_shape
    (None, 64, 64, 3)
"""

__version__ = "0.1.0"

from flexseg import models as _builtin_models  # noqa: F401  (registers the built-in architectures)
from flexseg.cards import ModelCard, describe
from flexseg.errors import FlexsegError, SettingsError
from flexseg.presets import Preset, get_preset, list_presets
from flexseg.registry import build, list_models, register_model

__all__ = [
    "FlexsegError",
    "ModelCard",
    "Preset",
    "SettingsError",
    "__version__",
    "build",
    "describe",
    "get_preset",
    "list_models",
    "list_presets",
    "register_model",
]
