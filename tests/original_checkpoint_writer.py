"""Write TensorFlow-FlexUNet checkpoints the way the original did: Keras 2 (tf_keras), HDF5.

Run as a script in a subprocess (it needs TensorFlow, whatever backend the suite uses):

    python tests/original_checkpoint_writer.py SETTINGS_JSON OUT_DIR

Builds the original's graph with tf_keras, in the original's layer-creation order, gives
every weight a random value (batch-norm statistics included, so ordering mistakes show),
and writes OUT_DIR/best_model.h5 (full model), OUT_DIR/weights.h5 (weights only),
OUT_DIR/images.npy and OUT_DIR/predictions.npy (the Keras 2 model's output on them).
"""

import json
import sys
from pathlib import Path

import numpy as np
import tf_keras as k2


def original_flexunet(s):
    """The original's create_model(), restated for Keras 2 from its published description."""
    num_layers = s["num_layers"]
    kernels, dilations = [], []
    k, d = s["base_kernels"][0], s["dilation"][0]
    for _ in range(num_layers):
        kernels.append((k, k))
        dilations.append((d, d))
        k, d = max(k - 2, 3), max(d - 1, 1)

    def conv(filters, level):
        return k2.layers.Conv2D(
            filters,
            kernels[level],
            activation=s["activation"],
            kernel_initializer="he_normal",
            dilation_rate=dilations[level],
            padding="same",
        )

    def block(x, level):
        filters = s["base_filters"] * 2**level
        for step in ("conv", "norm", "dropout", "conv", "norm"):
            if step == "conv":
                x = conv(filters, level)(x)
            elif step == "norm" and s["normalization"]:
                x = k2.layers.BatchNormalization()(x)
            elif step == "dropout":
                x = k2.layers.Dropout(s["dropout_rate"] * level)(x)
        return x

    inputs = k2.layers.Input(tuple(s["input_shape"]))
    x = k2.layers.Lambda(lambda t: t / 255)(inputs) if s["input_normalize"] else inputs
    encoded = []
    for level in range(num_layers):
        x = block(x, level)
        encoded.append(x)
        if level < num_layers - 1:
            x = k2.layers.MaxPool2D(pool_size=(2, 2))(x)
    for level in reversed(range(num_layers - 1)):
        filters = s["base_filters"] * 2**level
        x = k2.layers.Conv2DTranspose(filters, (2, 2), strides=(2, 2), padding="same")(x)
        x = k2.layers.concatenate([x, encoded[level]])
        x = block(x, level)
    head = "softmax" if s["num_classes"] > 1 else (s.get("final_activation") or "sigmoid")
    outputs = k2.layers.Conv2D(s["num_classes"], (1, 1), activation=head)(x)
    return k2.Model(inputs=[inputs], outputs=[outputs])


def main(settings_path, out_dir):
    settings = json.loads(Path(settings_path).read_text())
    out = Path(out_dir)
    rng = np.random.default_rng(1)
    model = original_flexunet(settings)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            randomized = [rng.normal(0.0, 0.2, w.shape).astype("float32") for w in weights]
            if isinstance(layer, k2.layers.BatchNormalization):
                randomized[3] = rng.uniform(0.5, 2.0, weights[3].shape).astype("float32")
            layer.set_weights(randomized)
    scale = 255.0 if settings["input_normalize"] else 1.0
    images = rng.uniform(0, scale, size=(2, *settings["input_shape"])).astype("float32")
    np.save(out / "images.npy", images)
    np.save(out / "predictions.npy", model.predict(images, verbose=0))
    model.save(out / "best_model.h5", save_format="h5")
    model.save_weights(out / "weights.h5")


if __name__ == "__main__":
    main(*sys.argv[1:])
