"""FlexUNet: TensorFlow-FlexUNet's U-Net, rebuilt with backend-agnostic Keras 3 layers.

Level n (n = 0 ... num_layers - 1) has base_filters * 2**n filters, kernel
max(k - 2n, 3) for base_kernels (k, k) and dilation max(d - n, 1) for dilation (d, d).
Layers are created in the original's order, so the original's Keras 2 checkpoints
(`models/best_model.h5`, full model or weights only) load with `model.load_weights(path)`.
"""

from __future__ import annotations

from keras import layers

from flexseg.errors import SettingsError
from flexseg.models.catalogue.registry import register_model
from flexseg.models.parts import checks
from flexseg.models.parts.base import SegmentationModel, classifier, settings_table
from flexseg.models.parts.layers import PixelConv2DTranspose

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


@register_model("flexunet", reference=REFERENCE)
class FlexUNet(SegmentationModel):
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
            TensorFlow runs channels_first on GPUs and on CPUs with oneDNN only.
        name: the model's name.

    Example:
        >>> model = FlexUNet(num_classes=4, input_shape=(64, 64, 1), num_layers=4)
        >>> model.output_shape
        (None, 64, 64, 4)
    """

    input_sizes = "multiples of 2**(num_layers - 1): 32 by default"
    defaults = settings_table(
        base_filters=16,
        base_kernels=(3, 3),
        num_layers=6,
        dropout_rate=0.03,
        dilation=(1, 1),
        activation="relu",
        normalization=False,
        input_normalize=True,
        final_activation=None,
        data_format=None,  # Keras's image_data_format(), recorded as resolved
    )

    def check(self, s):
        s = s.with_levels(minimum=1)
        kernels = checks.int_pair("base_kernels", s["base_kernels"], model=s.model)
        dilation = checks.int_pair("dilation", s["dilation"], model=s.model)
        deepest = s.dropout_rate * (s.num_layers - 1)
        if deepest >= 1:
            raise SettingsError(
                f"flexunet: the deepest level's dropout, dropout_rate * (num_layers - 1) = "
                f"{deepest:g}, must stay below 1. Received: dropout_rate={s['dropout_rate']}, "
                f"num_layers={s.num_layers}; lower either."
            )
        final = s["final_activation"]
        if final is not None and s.num_classes > 1:
            raise SettingsError(
                f"flexunet: final_activation applies only when num_classes == 1; a model "
                f"with {s.num_classes} classes always ends with softmax. Received: "
                f"final_activation={final!r}; leave it unset."
            )
        if final is not None:
            checks.activation_name("final_activation", final, model=s.model)
        return s.with_given(base_kernels=kernels, dilation=dilation)

    def graph(self, x, s):
        """Level by level in the original's layer order, so its checkpoints load."""
        levels, axis, data_format = s.num_layers, s.channel_axis, s.data_format

        def conv(filters: int, level: int, layer_name: str) -> layers.Conv2D:
            return layers.Conv2D(
                filters,
                level_kernel(s["base_kernels"], level),
                dilation_rate=level_dilation(s["dilation"], level),
                padding="same",
                activation=s.activation,
                kernel_initializer="he_normal",
                data_format=data_format,
                name=layer_name,
            )

        def conv_block(x, filters: int, level: int, prefix: str):
            x = conv(filters, level, f"{prefix}_conv1")(x)
            if s.normalization:
                x = layers.BatchNormalization(axis=axis, name=f"{prefix}_bn1")(x)
            x = layers.Dropout(s.dropout_rate * level, name=f"{prefix}_dropout")(x)
            x = conv(filters, level, f"{prefix}_conv2")(x)
            if s.normalization:
                x = layers.BatchNormalization(axis=axis, name=f"{prefix}_bn2")(x)
            return x

        skips = []
        for level, filters in enumerate(s.filters):
            x = conv_block(x, filters, level, f"enc{level}")
            skips.append(x)
            if level < levels - 1:
                x = layers.MaxPooling2D(2, data_format=data_format, name=f"enc{level}_pool")(x)
        for level in range(levels - 2, -1, -1):
            filters = s.filters[level]
            x = PixelConv2DTranspose(
                filters, 2, padding="same", data_format=data_format, name=f"dec{level}_up"
            )(x)
            x = layers.Concatenate(axis=axis, name=f"dec{level}_concat")([x, skips[level]])
            x = conv_block(x, filters, level, f"dec{level}")
        return classifier(x, s)
