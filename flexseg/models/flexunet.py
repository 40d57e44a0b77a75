"""FlexUNet: TensorFlow-FlexUNet's U-Net, rebuilt with backend-agnostic Keras 3 layers.

Level n (n = 0 ... num_layers - 1) has base_filters * 2**n filters, kernel
max(k - 2n, 3) for base_kernels (k, k) and dilation max(d - n, 1) for dilation (d, d).
Layers are created in the original's order, so the original's Keras 2 checkpoints
(`models/best_model.h5`, full model or weights only) load with `model.load_weights(path)`.

Example:
    >>> import flexseg
    >>> model = flexseg.build("flexunet", num_classes=4, input_shape=(64, 64, 1), num_layers=4)
    >>> model.output_shape
    (None, 64, 64, 4)
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from flexseg.errors import SettingsError
from flexseg.models import checks
from flexseg.models.layers import PixelConv2DTranspose
from flexseg.registry import register_model

REFERENCE = (
    "Ronneberger, Fischer, Brox: U-Net (MICCAI 2015), arXiv:1505.04597; "
    "flexible depth and kernels as in antillia.com's TensorFlow-FlexUNet (2025)."
)


def level_kernel(base_kernels: tuple[int, int], level: int) -> tuple[int, int]:
    """Kernel size of a level: shrinks by 2 per level, never below 3."""
    return (max(base_kernels[0] - 2 * level, 3), max(base_kernels[1] - 2 * level, 3))


def level_dilation(dilation: tuple[int, int], level: int) -> tuple[int, int]:
    """Dilation rate of a level: shrinks by 1 per level, never below 1."""
    return (max(dilation[0] - level, 1), max(dilation[1] - level, 1))


def search_space(hp, input_shape: Sequence[int | None]) -> dict:
    """FlexUNet settings for KerasTuner to vary; depths limited to what the input size allows.

    Example:
        >>> import keras_tuner
        >>> settings = search_space(keras_tuner.HyperParameters(), (64, 64, 3))
        >>> sorted(settings)
        ['base_filters', 'base_kernels', 'dropout_rate', 'normalization', 'num_layers']
    """
    sizes = [s for s in input_shape[:2] if s]
    deepest = min((_max_levels(s) for s in sizes), default=6)
    kernel = hp.Choice("base_kernel", [3, 5, 7])
    return {
        "base_filters": hp.Choice("base_filters", [8, 16, 32]),
        "num_layers": hp.Int("num_layers", min(3, deepest), min(6, deepest)),
        "base_kernels": (kernel, kernel),
        "dropout_rate": hp.Float("dropout_rate", 0.0, 0.1, step=0.025),
        "normalization": hp.Boolean("normalization", default=True),
    }


def _max_levels(size: int) -> int:
    levels = 1
    while size % 2**levels == 0:
        levels += 1
    return levels


@register_model("flexunet", reference=REFERENCE, search_space=search_space)
class FlexUNet(keras.Model):
    """U-Net whose depth, kernel sizes and dilation are settings (TensorFlow-FlexUNet).

    Args:
        num_classes: output channels, background included; softmax when > 1.
        input_shape: (height, width, channels) for channels_last; height and width may
            be None, and must be multiples of 2**(num_layers - 1).
        base_filters: filters of level 0, doubled per level. The original has no
            default; 16 is its published MVTec-screw value.
        base_kernels: kernel size of level 0, an int or (kh, kw).
        num_layers: levels including the bridge.
        dropout_rate: dropout of level n is dropout_rate * n. The original has no
            default; 0.03 is its published MVTec-screw value.
        dilation: dilation of level 0, an int or (dh, dw).
        activation: Keras activation name of every convolution.
        normalization: batch normalization after every convolution.
        input_normalize: divide inputs by 255 (the original code's default; its
            published configs set it off and feed 0-255 pixels).
        final_activation: output activation when num_classes == 1 (None: sigmoid).
            Multiclass models always end with softmax.
        data_format: "channels_last", "channels_first", or None for Keras's setting.
        name: the model's name.

    Example:
        >>> model = FlexUNet(num_classes=3, input_shape=(32, 32, 3), base_filters=4, num_layers=3)
        >>> model.count_params() > 0
        True
    """

    input_sizes = "multiples of 2**(num_layers - 1): 32 by default"

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int | None] | None = None,
        base_filters: int = 16,
        base_kernels: int | Sequence[int] = (3, 3),
        num_layers: int = 6,
        dropout_rate: float = 0.03,
        dilation: int | Sequence[int] = (1, 1),
        activation: str = "relu",
        normalization: bool = False,
        input_normalize: bool = True,
        final_activation: str | None = None,
        data_format: str | None = None,
        name: str = "flexunet",
        **kwargs,
    ):
        # === Settings, checked before anything is built ===
        model = "flexunet"
        data_format = checks.data_format(data_format, model=model)
        if input_shape is None:
            input_shape = (None, None, 3) if data_format == "channels_last" else (3, None, None)
        input_shape = checks.image_shape(input_shape, model=model, data_format=data_format)
        num_classes = checks.positive_int("num_classes", num_classes, model=model)
        base_filters = checks.positive_int("base_filters", base_filters, model=model)
        base_kernels = checks.int_pair("base_kernels", base_kernels, model=model)
        num_layers = checks.positive_int("num_layers", num_layers, model=model)
        dilation = checks.int_pair("dilation", dilation, model=model)
        activation = checks.activation_name("activation", activation, model=model)
        dropout_rate = checks.fraction("dropout_rate", dropout_rate, model=model)
        if dropout_rate * (num_layers - 1) >= 1:
            raise SettingsError(
                f"{model}: the deepest level's dropout, dropout_rate * (num_layers - 1) = "
                f"{dropout_rate * (num_layers - 1):g}, must stay below 1. Received: "
                f"dropout_rate={dropout_rate}, num_layers={num_layers}; lower either."
            )
        if final_activation is not None:
            if num_classes > 1:
                raise SettingsError(
                    f"{model}: final_activation applies only when num_classes == 1; a model "
                    f"with {num_classes} classes always ends with softmax. Received: "
                    f"final_activation={final_activation!r}; leave it unset."
                )
            checks.activation_name("final_activation", final_activation, model=model)
        size_multiple = 2 ** (num_layers - 1)
        spatial = input_shape[:2] if data_format == "channels_last" else input_shape[1:]
        checks.divisible_size(*spatial, size_multiple, model=model, reason=_size_reason(num_layers))
        channel_axis = -1 if data_format == "channels_last" else 1

        def conv(filters: int, level: int, layer_name: str) -> layers.Conv2D:
            return layers.Conv2D(
                filters,
                level_kernel(base_kernels, level),
                dilation_rate=level_dilation(dilation, level),
                padding="same",
                activation=activation,
                kernel_initializer="he_normal",
                data_format=data_format,
                name=layer_name,
            )

        def conv_block(x, filters: int, level: int, prefix: str):
            x = conv(filters, level, f"{prefix}_conv1")(x)
            if normalization:
                x = layers.BatchNormalization(axis=channel_axis, name=f"{prefix}_bn1")(x)
            x = layers.Dropout(dropout_rate * level, name=f"{prefix}_dropout")(x)
            x = conv(filters, level, f"{prefix}_conv2")(x)
            if normalization:
                x = layers.BatchNormalization(axis=channel_axis, name=f"{prefix}_bn2")(x)
            return x

        # === Functional graph, in the original's layer order ===
        inputs = keras.Input(shape=input_shape, name="image")
        x = layers.Rescaling(1.0 / 255, name="rescale")(inputs) if input_normalize else inputs
        skips = []
        for level in range(num_layers):
            x = conv_block(x, base_filters * 2**level, level, f"enc{level}")
            skips.append(x)
            if level < num_layers - 1:
                x = layers.MaxPooling2D(2, data_format=data_format, name=f"enc{level}_pool")(x)
        for level in range(num_layers - 2, -1, -1):
            filters = base_filters * 2**level
            x = PixelConv2DTranspose(
                filters, 2, padding="same", data_format=data_format, name=f"dec{level}_up"
            )(x)
            x = layers.Concatenate(axis=channel_axis, name=f"dec{level}_concat")([x, skips[level]])
            x = conv_block(x, filters, level, f"dec{level}")
        x = layers.Conv2D(num_classes, 1, data_format=data_format, name="head")(x)
        # Probabilities in float32 under mixed precision too (rare classes need the digits).
        if num_classes > 1:
            outputs = layers.Softmax(axis=channel_axis, name="probabilities", dtype="float32")(x)
        else:
            outputs = layers.Activation(
                final_activation or "sigmoid", name="probabilities", dtype="float32"
            )(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.image_shape = input_shape
        self.base_filters = base_filters
        self.base_kernels = base_kernels
        self.num_layers = num_layers
        self.dropout_rate = dropout_rate
        self.dilation = dilation
        self.activation = activation
        self.normalization = bool(normalization)
        self.input_normalize = bool(input_normalize)
        self.final_activation = final_activation
        self.data_format = data_format
        self.size_multiple = size_multiple

    def call(self, inputs, training=None, mask=None):
        # Sizes unknown when the model was built are checked here, once they are known.
        spatial = inputs.shape[1:3] if self.data_format == "channels_last" else inputs.shape[2:4]
        checks.divisible_size(
            *spatial, self.size_multiple, model=self.name, reason=_size_reason(self.num_layers)
        )
        return super().call(inputs, training=training, mask=mask)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_classes": self.num_classes,
            "input_shape": list(self.image_shape),
            "base_filters": self.base_filters,
            "base_kernels": list(self.base_kernels),
            "num_layers": self.num_layers,
            "dropout_rate": self.dropout_rate,
            "dilation": list(self.dilation),
            "activation": self.activation,
            "normalization": self.normalization,
            "input_normalize": self.input_normalize,
            "final_activation": self.final_activation,
            "data_format": self.data_format,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _size_reason(num_layers: int) -> str:
    return f"num_layers={num_layers} pools {num_layers - 1} times by 2"
