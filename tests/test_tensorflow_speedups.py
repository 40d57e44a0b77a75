"""flexseg.run.tensorflow_speedups: Adam as TensorFlow's fused kernel updates variables and
slots as Keras's own step does, to float rounding; on other backends nothing changes."""

import keras
import numpy as np
import pytest

import flexseg
from flexseg.run import tensorflow_speedups

on_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the speed-up applies to TensorFlow only"
)


def _trained(speed_up: bool, optimizer, steps: int = 4):
    keras.utils.set_random_seed(0)
    model = flexseg.build("flexunet_tiny", input_shape=(32, 32, 3), dropout_rate=0.0)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    applied = tensorflow_speedups.speed_up(model) if speed_up else []
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    classes = model.output_shape[-1]
    labels = np.eye(classes, dtype="float32")[rng.integers(0, classes, (2, 32, 32))]
    losses = [float(model.train_on_batch(images, labels)) for _ in range(steps)]
    return model, applied, losses


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
    keras_model, _, keras_losses = _trained(False, make_optimizer())
    fused_model, applied, fused_losses = _trained(True, make_optimizer())
    assert applied == ["fused_adam"]
    np.testing.assert_allclose(fused_losses, keras_losses, rtol=1e-4)
    for keras_values, fused_values in zip(_state(keras_model), _state(fused_model), strict=True):
        for expected, got in zip(keras_values, fused_values, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-5)
    assert fused_model.optimizer.iterations.numpy() == 4


@on_tensorflow
def test_amsgrad_other_optimizers_and_the_opt_out_keep_keras_step(monkeypatch):
    for optimizer in (keras.optimizers.Adam(amsgrad=True), keras.optimizers.SGD()):
        _, applied, _ = _trained(True, optimizer, steps=1)
        assert applied == []
    monkeypatch.setenv(tensorflow_speedups.OPT_OUT, "0")
    _, applied, _ = _trained(True, keras.optimizers.Adam(), steps=1)
    assert applied == []


@on_tensorflow
def test_idempotent_and_not_applied_before_the_optimizer_is_built():
    keras.utils.set_random_seed(0)
    model = flexseg.build("flexunet_tiny", input_shape=(32, 32, 3))
    assert tensorflow_speedups.speed_up(model) == []  # not compiled
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy")
    assert tensorflow_speedups.speed_up(model) == []  # compiled, optimizer not built
    model.optimizer.build(model.trainable_variables)
    step = None
    for _ in range(2):
        assert tensorflow_speedups.speed_up(model) == ["fused_adam"]
        step = step or model.optimizer.update_step
        assert model.optimizer.update_step is step


def test_other_backends_untouched():
    if keras.backend.backend() == "tensorflow":
        pytest.skip("the TensorFlow backend is the one that changes")
    _, applied, _ = _trained(True, keras.optimizers.Adam(), steps=1)
    assert applied == []
