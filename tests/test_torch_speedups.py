"""flexseg.run.torch_speedups: the torch backend's kernel layout and in-place Adam step change
what a model computes by float rounding only; on other backends they do nothing."""

import keras
import numpy as np
import pytest

import flexseg
from flexseg.run import torch_speedups

on_torch = pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="torch speed-ups apply to the torch backend only"
)


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    # No dropout: its random masks follow the memory layout, which the speed-ups change.
    return flexseg.build("flexunet_tiny", input_shape=(32, 32, 3), dropout_rate=0.0)


def _batch(num_classes, seed=1):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    labels = np.eye(num_classes, dtype="float32")[rng.integers(0, num_classes, (2, 32, 32))]
    return images, labels


def _trained(speed_up: bool, steps: int = 4):
    model = _model()
    # Adam's step is about the learning rate wherever a gradient is tiny, whatever its size,
    # so rounding in such gradients moves a weight by up to that much: at 1e-2 two layouts
    # drifted 2.7e-4 apart in 4 steps on an AVX2-only AMD EPYC, at 1e-3 1.6e-7.
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    applied = torch_speedups.speed_up(model) if speed_up else []
    images, labels = _batch(model.output_shape[-1])
    losses = [float(model.train_on_batch(images, labels)) for _ in range(steps)]
    return model, applied, losses


def test_other_backends_untouched():
    if keras.backend.backend() == "torch":
        pytest.skip("the torch backend is the one that changes")
    _, applied, _ = _trained(speed_up=True, steps=1)
    assert applied == []


@on_torch
def test_layout_keeps_shapes_values_and_saved_files(tmp_path):
    model = _model()
    before = [np.array(w) for w in model.get_weights()]
    images, _ = _batch(model.output_shape[-1])
    expected = keras.ops.convert_to_numpy(model(images))
    assert torch_speedups.speed_up(model) == ["channels_last_inputs", "channels_last_kernels"]
    kernel = next(layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert not kernel.value.is_contiguous()  # stored out-h-w-in: Keras's view is channels-last
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(images)), expected, atol=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = flexseg.load_model(tmp_path / "m.keras")
    for old, new in zip(before, loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


@on_torch
def test_training_matches_keras_own_code(monkeypatch):
    from keras.src.backend.torch import nn as torch_nn

    with monkeypatch.context() as keras_own:  # the input patch is process-wide once applied
        keras_own.setattr(torch_nn, "conv", getattr(torch_nn.conv, "keras_conv", torch_nn.conv))
        plain, _, plain_losses = _trained(speed_up=False)
    fast, applied, fast_losses = _trained(speed_up=True)
    assert applied == ["channels_last_inputs", "channels_last_kernels", "in_place_adam"]
    np.testing.assert_allclose(fast_losses, plain_losses, rtol=1e-4)
    for a, b in zip(plain.get_weights(), fast.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    kernel = next(layer.kernel for layer in fast.layers if isinstance(layer, keras.layers.Conv2D))
    prefix = kernel.path.replace("/", "_")
    slots = [v for v in fast.optimizer.variables if v.name.startswith(prefix)]
    assert len(slots) == 2  # momentum and velocity, laid out like their kernel
    assert all(slot.value.stride() == kernel.value.stride() for slot in slots)


@on_torch
@pytest.mark.parametrize(
    ("kernel_size", "strides", "padding", "dilation"),
    [(3, 1, "same", 1), (3, 2, "same", 1), (4, 2, "same", 1), (3, 1, "valid", 2), (1, 1, "same", 1),
     (5, 1, "same", 3)],
)  # fmt: skip
def test_channels_last_inputs_convolve_as_keras_does(kernel_size, strides, padding, dilation):
    from keras.src.backend.torch import nn as torch_nn

    assert torch_speedups.channels_last_inputs()
    patched = torch_nn.conv
    assert isinstance(patched, torch_speedups._ChannelsLastConv)
    rng = np.random.default_rng(0)
    inputs = keras.ops.convert_to_tensor(rng.normal(size=(2, 11, 13, 4)).astype("float32"))
    kernel = keras.ops.convert_to_tensor(
        rng.normal(size=(kernel_size, kernel_size, 4, 6)).astype("float32")
    )
    settings = dict(strides=strides, padding=padding, dilation_rate=dilation)
    fast = keras.ops.convert_to_numpy(keras.ops.conv(inputs, kernel, **settings))
    keras_own = keras.ops.convert_to_numpy(patched.keras_conv(inputs, kernel, **settings))
    assert fast.shape == keras_own.shape
    np.testing.assert_allclose(fast, keras_own, rtol=1e-5, atol=1e-5)


@on_torch
@pytest.mark.parametrize("scale", [1.0, 1e-6])  # tiny gradients: where epsilon matters
def test_in_place_adam_step_equals_keras_step(scale):
    """The same gradients through Keras's torch Adam and the in-place step: equal to rounding,
    for AdamW's decoupled decay too."""
    import torch

    results = []
    for in_place in (False, True):
        keras.utils.set_random_seed(0)
        start = np.random.default_rng(0).normal(size=(3, 3, 4, 5))
        variables = [keras.Variable(start, dtype="float32")]
        optimizer = keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.1)
        optimizer.build(variables)
        if in_place:
            assert torch_speedups.in_place_adam(optimizer)
        rng = np.random.default_rng(1)
        for _ in range(5):
            gradient = torch.tensor(scale * rng.normal(size=(3, 3, 4, 5)), dtype=torch.float32)
            optimizer.apply([gradient], variables)
        results.append(np.array(variables[0]))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)
    assert np.abs(results[1] - start).max() > 0.01


@on_torch
def test_opt_out(monkeypatch):
    monkeypatch.setenv(torch_speedups.OPT_OUT, "0")
    assert torch_speedups.speed_up(_model()) == []


@on_torch
def test_amsgrad_keeps_keras_step():
    optimizer = keras.optimizers.Adam(amsgrad=True)
    assert not torch_speedups.in_place_adam(optimizer)
