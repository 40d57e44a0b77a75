"""Encoders from `keras.applications`, built without downloading, with local weights files.

Nothing is fetched from the internet: backbones start from random weights, or from a
weights file the user already has (e.g. Keras's ImageNet file for the backbone without
its top, `resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5`).

Example:
    >>> import keras
    >>> features = backbone_features("mobilenetv2", (64, 64, 3), strides=(4, 16))
    >>> [tuple(t.shape) for t in features.outputs]
    [(None, 16, 16, 144), (None, 4, 4, 576)]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras

from flexseg.errors import SettingsError

# The last layer at each stride (input size / feature size) of each backbone.
FEATURE_LAYERS = {
    "resnet50": {
        "builder": "ResNet50",
        "layers": {4: "conv2_block3_out", 8: "conv3_block4_out", 16: "conv4_block6_out"},
    },
    "resnet101": {
        "builder": "ResNet101",
        "layers": {4: "conv2_block3_out", 8: "conv3_block4_out", 16: "conv4_block23_out"},
    },
    "mobilenetv2": {
        "builder": "MobileNetV2",
        "layers": {
            2: "block_1_expand_relu",
            4: "block_3_expand_relu",
            8: "block_6_expand_relu",
            16: "block_13_expand_relu",
            32: "out_relu",
        },
    },
    **{
        f"efficientnetb{i}": {
            "builder": f"EfficientNetB{i}",
            "layers": {
                2: "block2a_expand_activation",
                4: "block3a_expand_activation",
                8: "block4a_expand_activation",
                16: "block6a_expand_activation",
                32: "top_activation",
            },
        }
        for i in range(8)
    },
}


def backbone_features(
    backbone: str,
    input_shape: Sequence[int | None],
    *,
    strides: Sequence[int],
    weights: str | Path | None = None,
    model: str = "backbone",
    alpha: float = 1.0,
) -> keras.Model:
    """A model from the backbone's input to its features at `strides` (e.g. (4, 16)).

    `weights`: None (random initialization) or the path of a local Keras weights file
    (`.weights.h5`, or a Keras 2 `.h5`) for the backbone built with `include_top=False`.
    `alpha` is MobileNetV2's width multiplier.
    """
    if backbone not in FEATURE_LAYERS:
        raise SettingsError(
            f"{model}: backbone must be one of {', '.join(FEATURE_LAYERS)}. "
            f"Received: backbone={backbone!r}"
        )
    spec = FEATURE_LAYERS[backbone]
    missing = [s for s in strides if s not in spec["layers"]]
    if missing:
        raise SettingsError(
            f"{model}: backbone {backbone!r} offers features at strides "
            f"{sorted(spec['layers'])}, not {missing}."
        )
    options = {"include_top": False, "weights": None, "input_shape": tuple(input_shape)}
    if backbone == "mobilenetv2":
        options["alpha"] = alpha
    full = getattr(keras.applications, spec["builder"])(**options)
    if weights is not None:
        load_backbone_weights(full, weights, backbone=backbone, model=model)
    outputs = [full.get_layer(spec["layers"][s]).output for s in strides]
    return keras.Model(full.input, outputs, name=f"{backbone}_features")


def load_backbone_weights(network: keras.Model, path: str | Path, *, backbone: str, model: str):
    """Load a local weights file into a keras.applications backbone, with a clear error."""
    path = Path(path)
    if not path.is_file():
        raise SettingsError(
            f"{model}: weights file {path} does not exist. Pass the path of a local Keras "
            f"weights file for keras.applications' {backbone} without its top "
            "(flexseg never downloads weights), or weights=None for random initialization."
        )
    if not path.name.endswith((".weights.h5", ".h5", ".hdf5")):
        raise SettingsError(
            f"{model}: weights file {path} must be a Keras weights file ending in "
            ".weights.h5 or .h5."
        )
    try:
        network.load_weights(path)
    except Exception as error:
        raise SettingsError(
            f"{model}: could not load {path} into the {backbone} backbone (include_top=False, "
            f"{network.count_params():,} parameters): {error}"
        ) from error
