"""The settings and weights a raw reference needs, read from a built flexseg FlexUNet."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("relu", "elu", "gelu", "silu", "swish", "tanh", "sigmoid")


@dataclass(frozen=True)
class FlexUNetSpec:
    """What defines a FlexUNet's computation (channels_last input of `input_shape`)."""

    num_classes: int
    input_shape: tuple[int, int, int]
    base_filters: int
    base_kernels: tuple[int, int]
    num_layers: int
    dropout_rate: float
    dilation: tuple[int, int]
    activation: str
    normalization: bool
    input_normalize: bool

    def filters(self, level: int) -> int:
        return self.base_filters * 2**level

    def kernel(self, level: int) -> tuple[int, int]:
        return tuple(max(k - 2 * level, 3) for k in self.base_kernels)

    def dilation_at(self, level: int) -> tuple[int, int]:
        return tuple(max(d - level, 1) for d in self.dilation)


def spec_of(model) -> FlexUNetSpec:
    """The spec of a flexseg FlexUNet; other models and multi-output heads are errors."""
    config = model.get_config()
    if "base_kernels" not in config or config.get("data_format") != "channels_last":
        raise ValueError(
            f"raw references exist for channels_last FlexUNet only; got {type(model).__name__} "
            f"with data_format={config.get('data_format')!r}."
        )
    if config["activation"] not in ACTIVATIONS:
        raise ValueError(f"raw references support activations {ACTIVATIONS}; got {config}.")
    if config["num_classes"] < 2:
        raise ValueError("raw references are written for softmax (multiclass) heads.")
    return FlexUNetSpec(
        num_classes=config["num_classes"],
        input_shape=tuple(config["input_shape"]),
        base_filters=config["base_filters"],
        base_kernels=tuple(config["base_kernels"]),
        num_layers=config["num_layers"],
        dropout_rate=config["dropout_rate"],
        dilation=tuple(config["dilation"]),
        activation=config["activation"],
        normalization=config["normalization"],
        input_normalize=config["input_normalize"],
    )


def weights_of(model) -> dict[str, list[np.ndarray]]:
    """Layer name -> its weights as NumPy arrays, in Keras's order (kernel, bias; BN's four)."""
    return {
        layer.name: [np.asarray(w) for w in layer.get_weights()]
        for layer in model.layers
        if layer.weights
    }
