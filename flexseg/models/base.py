"""What every zoo architecture shares: checked common settings, the class head, config I/O.

An architecture is a `SegmentationModel` subclass whose `__init__` lists its settings, calls
`common_settings(...)`, builds a functional graph from the blocks in `flexseg.models.blocks`,
and hands inputs, outputs and its settings to `SegmentationModel.__init__`. Its config is
exactly those settings, so `from_config(get_config())` rebuilds it.

Example:
    >>> import flexseg
    >>> model = flexseg.build("unet", num_classes=3, input_shape=(32, 32, 1), base_filters=4,
    ...                       num_layers=3)
    >>> model.get_config()["base_filters"], model.size_multiple
    (4, 4)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
from keras import layers

from flexseg.errors import SettingsError
from flexseg.models import checks


@dataclass(frozen=True)
class CommonSettings:
    """The settings every convolutional architecture takes, checked."""

    num_classes: int
    input_shape: tuple[int | None, int | None, int]
    base_filters: int
    activation: str
    normalization: bool
    dropout_rate: float


def common_settings(
    model: str,
    *,
    num_classes: Any,
    input_shape: Any,
    base_filters: Any = 16,
    activation: Any = "relu",
    normalization: Any = True,
    dropout_rate: Any = 0.0,
    require_size: bool = False,
) -> CommonSettings:
    """Check the shared settings of `model`; `require_size` for models that need H and W known."""
    if input_shape is None:
        input_shape = (None, None, 3)
    input_shape = checks.image_shape(input_shape, model=model, data_format="channels_last")
    if require_size and None in input_shape[:2]:
        raise SettingsError(
            f"{model}: needs a known input height and width (its position embeddings or "
            f"attention windows are sized from them). Received: input_shape={input_shape!r}; "
            "pass e.g. input_shape=(256, 256, 3)."
        )
    if not isinstance(normalization, bool):
        raise SettingsError(
            f"{model}: normalization must be true or false (batch normalization after every "
            f"convolution). Received: normalization={normalization!r}"
        )
    return CommonSettings(
        num_classes=checks.positive_int("num_classes", num_classes, model=model),
        input_shape=input_shape,
        base_filters=checks.positive_int("base_filters", base_filters, model=model),
        activation=checks.activation_name("activation", activation, model=model),
        normalization=normalization,
        dropout_rate=checks.fraction("dropout_rate", dropout_rate, model=model),
    )


@dataclass(frozen=True)
class PooledSettings:
    """The common settings of a U-shaped CNN plus its depth and the size rule it implies."""

    common: CommonSettings
    num_layers: int
    size_multiple: int
    size_reason: str

    @property
    def filters(self) -> list[int]:
        """base_filters doubled per level: [16, 32, 64, ...]."""
        return [self.common.base_filters * 2**level for level in range(self.num_layers)]

    @property
    def style(self) -> dict[str, Any]:
        """The keyword arguments every conv block of the model takes."""
        c = self.common
        return {
            "normalization": c.normalization,
            "activation": c.activation,
            "dropout_rate": c.dropout_rate,
        }


def pooled_settings(model: str, settings: Mapping[str, Any]) -> PooledSettings:
    """Check the settings of a U-Net-like model that pools num_layers - 1 times by 2."""
    common = common_settings(
        model,
        num_classes=settings["num_classes"],
        input_shape=settings["input_shape"],
        base_filters=settings["base_filters"],
        activation=settings["activation"],
        normalization=settings["normalization"],
        dropout_rate=settings.get("dropout_rate", 0.0),
    )
    num_layers = checks.positive_int("num_layers", settings["num_layers"], model=model, minimum=2)
    multiple = 2 ** (num_layers - 1)
    reason = f"num_layers={num_layers} pools {num_layers - 1} times by 2"
    check_size(common.input_shape, multiple, model=model, reason=reason)
    return PooledSettings(common, num_layers, multiple, reason)


def arguments(local_names: Mapping[str, Any]) -> dict[str, Any]:
    """The settings an `__init__` received: call as `arguments(locals())` on its first line."""
    return {
        key: value
        for key, value in local_names.items()
        if key not in ("self", "name", "kwargs", "__class__")
    }


def model_input(settings: CommonSettings, input_normalize: bool = True):
    """(the Input, the tensor the network starts from: pixels / 255 when input_normalize)."""
    inputs = keras.Input(shape=settings.input_shape, name="image")
    if not input_normalize:
        return inputs, inputs
    return inputs, layers.Rescaling(1.0 / 255, name="rescale")(inputs)


def choice(name: str, value: Any, options: Sequence[Any], *, model: str) -> Any:
    """Return `value` if it is one of `options`, else raise listing them."""
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise SettingsError(f"{model}: {name} must be one of {listed}. Received: {name}={value!r}")
    return value


def check_size(input_shape: Sequence[int | None], multiple: int, *, model: str, reason: str):
    """Raise if a known input height or width is not a multiple of `multiple`."""
    checks.divisible_size(input_shape[0], input_shape[1], multiple, model=model, reason=reason)


def classifier(x, num_classes: int, name: str = "head"):
    """1x1 convolution to class scores, then softmax (sigmoid for one class), in float32."""
    x = layers.Conv2D(num_classes, 1, name=name)(x)
    activation = "softmax" if num_classes > 1 else "sigmoid"
    return layers.Activation(activation, dtype="float32", name="probabilities")(x)


class SegmentationModel(keras.Model):
    """A functional segmentation model that remembers the settings it was built from.

    Subclasses pass `settings` (their `__init__` arguments, num_classes and input_shape
    included) and `size_multiple` (what height and width must divide by; 1 for any size).
    """

    def __init__(
        self,
        inputs,
        outputs,
        *,
        settings: Mapping[str, Any],
        size_multiple: int = 1,
        size_reason: str = "",
        name: str,
        **kwargs,
    ):
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.settings = {key: _plain(value) for key, value in settings.items()}
        self.num_classes = settings["num_classes"]
        self.image_shape = tuple(settings["input_shape"])
        self.size_multiple = size_multiple
        self.size_reason = size_reason

    def call(self, inputs, training=None, mask=None):
        # Sizes unknown when the model was built are checked once they are known.
        if self.size_multiple > 1:
            checks.divisible_size(
                inputs.shape[1],
                inputs.shape[2],
                self.size_multiple,
                model=self.name,
                reason=self.size_reason,
            )
        return super().call(inputs, training=training, mask=mask)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, **self.settings}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _plain(value: Any) -> Any:
    """Tuples become lists, so a config survives JSON unchanged."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
