"""flexseg: semantic segmentation models that run unchanged on TensorFlow, JAX and PyTorch.

`import flexseg` is cheap: Keras and its backend load when a model is first built or listed.

Example:
    >>> import flexseg
    >>> model = flexseg.build("flexunet", num_classes=3, input_shape=(64, 64, 3), num_layers=3)
    >>> model.output_shape
    (None, 64, 64, 3)
"""

from typing import TYPE_CHECKING

from flexseg.errors import FlexsegError, SettingsError
from flexseg.lazy import lazy_exports

__version__ = "0.1.0"

_CATALOGUE = "flexseg.models.catalogue"
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ModelCard": f"{_CATALOGUE}.cards",
        "describe": f"{_CATALOGUE}.cards",
        "Preset": f"{_CATALOGUE}.presets",
        "get_preset": f"{_CATALOGUE}.presets",
        "list_presets": f"{_CATALOGUE}.presets",
        "build": f"{_CATALOGUE}.registry",
        "list_models": f"{_CATALOGUE}.registry",
        "load_model": f"{_CATALOGUE}.registry",
        "register_model": f"{_CATALOGUE}.registry",
    },
)

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from flexseg.models.catalogue.cards import ModelCard, describe
    from flexseg.models.catalogue.presets import Preset, get_preset, list_presets
    from flexseg.models.catalogue.registry import build, list_models, load_model, register_model

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
    "load_model",
    "register_model",
]
