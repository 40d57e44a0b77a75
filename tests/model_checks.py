"""The standard checks every registered architecture must pass, on whatever backend runs the suite.

An architecture's test is one call: `run_standard_checks("<name>_tiny", tmp_path)`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import keras
import numpy as np
import pytest

import flexseg


@functools.cache
def channels_first_convolutions_run() -> bool:
    """Whether this backend and device run channels_first convolutions. TensorFlow's own CPU
    kernels take channels_last only; with oneDNN (on by default on many x86 CPUs) and on
    GPUs they take both, so the same suite can meet either."""
    x = np.zeros((1, 1, 4, 4), "float32")
    try:
        keras.ops.conv(x, np.zeros((1, 1, 1, 1), "float32"), data_format="channels_first")
        keras.ops.conv_transpose(
            x, np.zeros((2, 2, 1, 1), "float32"), strides=2, data_format="channels_first"
        )
    except Exception:  # each backend raises its own error type
        return False
    return True


def skip_unless_channels_first_runs() -> None:
    if not channels_first_convolutions_run():
        pytest.skip(
            f"{keras.backend.backend()} runs no channels_first convolution on this device "
            "(TensorFlow's CPU kernels without oneDNN take channels_last only)"
        )


def fixed_batch(model: keras.Model, batch_size: int = 2, seed: int = 0):
    """A deterministic (images, one-hot labels) batch whose labels follow the image content."""
    rng = np.random.default_rng(seed)
    shape = (batch_size, *model.input_shape[1:])
    images = rng.uniform(0, 255, size=shape).astype("float32")
    num_classes = model.output_shape[-1]
    brightness = images.mean(axis=-1)
    edges = np.quantile(brightness, np.linspace(0, 1, num_classes + 1)[1:-1])
    labels = np.digitize(brightness, edges)
    return images, np.eye(num_classes, dtype="float32")[labels]


def predict(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Inference-mode probabilities. On JAX through predict_on_batch, one compiled function:
    called eagerly, JAX compiles each operation on its own, which is slower there."""
    if keras.backend.backend() == "jax":
        return keras.ops.convert_to_numpy(model.predict_on_batch(images))
    return keras.ops.convert_to_numpy(model(images, training=False))


# TensorFlow traces a step's gradient and Adam update of every variable into a graph before
# running it: 15-50 s for the larger tiny presets on 2 cores, against 2-4 s run eagerly. There
# the training step runs eagerly, and check_forward traces the forward pass (predict_on_batch)
# and compares it with the eager one. JAX and torch run the step as `flexseg train` does.
EAGER_TRAINING_STEP = keras.backend.backend() == "tensorflow"


def check_forward(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Output has the expected shape and is a probability distribution over classes per pixel;
    on TensorFlow, the traced forward pass predicts what the eager one does."""
    outputs = predict(model, images)
    expected = (images.shape[0], *model.output_shape[1:])
    assert outputs.shape == expected, f"output shape {outputs.shape}, expected {expected}"
    assert np.all(np.isfinite(outputs))
    if outputs.shape[-1] > 1:
        np.testing.assert_allclose(outputs.sum(axis=-1), 1.0, atol=1e-5)
        assert outputs.min() >= 0.0
    if EAGER_TRAINING_STEP:
        traced = keras.ops.convert_to_numpy(model.predict_on_batch(images))
        np.testing.assert_allclose(traced, outputs, rtol=0, atol=1e-5)
    return outputs


def check_training_step_lowers_loss(model: keras.Model, images: np.ndarray, labels: np.ndarray):
    """The loss of the fixed batch after one optimizer step is lower than before it."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-2),
        loss="categorical_crossentropy",
        run_eagerly=EAGER_TRAINING_STEP,
    )
    loss_before = float(np.asarray(model.train_on_batch(images, labels)))
    loss_after = float(np.asarray(model.train_on_batch(images, labels)))
    assert np.isfinite(loss_before) and np.isfinite(loss_after)
    assert loss_after < loss_before, f"loss went from {loss_before:.5f} to {loss_after:.5f}"


def check_config_round_trip(model: keras.Model):
    """from_config(get_config()) rebuilds a model with an identical config and weight layout."""
    config = model.get_config()
    rebuilt = type(model).from_config(json.loads(json.dumps(config)))
    assert json.dumps(rebuilt.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]


def check_save_and_load(model: keras.Model, images: np.ndarray, folder: Path):
    """A .keras file loads without custom_objects and predicts exactly as before."""
    path = folder / f"{model.name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model)
    assert json.dumps(loaded.get_config(), sort_keys=True) == json.dumps(
        model.get_config(), sort_keys=True
    )
    np.testing.assert_allclose(predict(loaded, images), predict(model, images), rtol=0, atol=1e-6)


def run_standard_checks(name: str, folder: Path, **settings):
    """Every check above on a freshly built model `name` (an architecture or preset)."""
    keras.utils.set_random_seed(0)
    model = flexseg.build(name, **settings)
    images, labels = fixed_batch(model)
    check_forward(model, images)
    check_config_round_trip(model)
    check_training_step_lowers_loss(model, images, labels)
    check_save_and_load(model, images, folder)
