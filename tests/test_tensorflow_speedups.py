"""flexseg.run.tensorflow_speedups: Adam as TensorFlow's fused kernel updates variables and
slots as Keras's own step does, and small-map convolutions as one matrix product train as
Keras's convolution does, to float rounding; on other backends nothing changes."""

import keras
import numpy as np
import pytest

import flexseg
from flexseg.run import small_map_conv, tensorflow_speedups
from tests.conv_checks import count_written_out_maps, keras_own_conv

on_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the speed-ups apply to TensorFlow only"
)


def _trained(optimizer, fused: bool = False, steps: int = 2):
    """The tiny model after `steps` training steps, and each step's loss. Two steps: from the
    third on, TensorFlow's own path does not repeat itself on a busy CPU without oneDNN (one
    CI run gave 1.1379 and another 1.1378 for the same third loss), while the first two
    agree to 1e-6."""
    keras.utils.set_random_seed(0)
    # A 32x32 input reaches 4x4 maps (16 pixels) at the tiny model's bottom.
    model = flexseg.build("flexunet_tiny", input_shape=(32, 32, 3), dropout_rate=0.0)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    if fused:
        assert tensorflow_speedups.fused_adam(model.optimizer)
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    classes = model.output_shape[-1]
    labels = np.eye(classes, dtype="float32")[rng.integers(0, classes, (2, 32, 32))]
    losses = [float(model.train_on_batch(images, labels)) for _ in range(steps)]
    return model, losses


def _state(model):
    slots = [np.array(v) for v in model.optimizer.variables]
    return [np.array(w) for w in model.get_weights()], slots


@on_tensorflow
@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: keras.optimizers.Adam(1e-2),
        lambda: keras.optimizers.AdamW(1e-2, weight_decay=0.1),
        lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-2, 1, 0.5)),
    ],
    ids=["adam", "adamw", "schedule"],
)
def test_fused_adam_computes_keras_update(make_optimizer):
    keras_model, keras_losses = _trained(make_optimizer())
    fused_model, fused_losses = _trained(make_optimizer(), fused=True)
    np.testing.assert_allclose(fused_losses, keras_losses, rtol=1e-4)
    for keras_values, fused_values in zip(_state(keras_model), _state(fused_model), strict=True):
        for expected, got in zip(keras_values, fused_values, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-5)
    assert fused_model.optimizer.iterations.numpy() == 2


@on_tensorflow
def test_small_map_training_matches_keras_own_path(monkeypatch):
    from keras.src.backend.tensorflow import nn as tf_nn

    monkeypatch.setattr(tf_nn, "conv", keras_own_conv())
    routed = count_written_out_maps(monkeypatch)
    _, expected = _trained(keras.optimizers.Adam(1e-2))
    assert tensorflow_speedups.small_map_convolutions()
    assert isinstance(tf_nn.conv, small_map_conv.SmallMapConv)
    _, got = _trained(keras.optimizers.Adam(1e-2))
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    # Only the small maps are written out; the 32x32 and 16x16 convolutions stay Keras's.
    assert routed and all(h * w <= small_map_conv.SMALL_MAP_PIXELS for h, w in routed)


@on_tensorflow
def test_speed_up_waits_for_a_built_adam_and_is_idempotent():
    keras.utils.set_random_seed(0)
    model = flexseg.build("flexunet_tiny", input_shape=(32, 32, 3))
    assert tensorflow_speedups.speed_up(model) == ["small_map_convolutions"]  # not compiled
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
    assert tensorflow_speedups.speed_up(model) == ["small_map_convolutions"]  # not built
    model.optimizer.build(model.trainable_variables)
    step = None
    for _ in range(2):
        assert tensorflow_speedups.speed_up(model) == ["small_map_convolutions", "fused_adam"]
        step = step or model.optimizer.update_step
        assert model.optimizer.update_step is step


@on_tensorflow
def test_amsgrad_other_optimizers_and_the_opt_out_keep_keras_step(monkeypatch):
    for optimizer in (keras.optimizers.Adam(amsgrad=True), keras.optimizers.SGD()):
        assert not tensorflow_speedups.fused_adam(optimizer)
    model, _ = _trained(keras.optimizers.Adam(), steps=1)
    monkeypatch.setenv(tensorflow_speedups.OPT_OUT, "0")
    assert tensorflow_speedups.speed_up(model) == []
    assert not isinstance(model.optimizer.update_step, tensorflow_speedups._FusedAdamStep)


def test_other_backends_untouched():
    if keras.backend.backend() == "tensorflow":
        pytest.skip("the TensorFlow backend is the one that changes")
    model, _ = _trained(keras.optimizers.Adam(), steps=1)
    assert tensorflow_speedups.speed_up(model) == []
