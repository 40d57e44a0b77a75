"""FlexUNet is the original's architecture, checks its settings, and runs in either data format."""

import keras
import numpy as np
import pytest

import flexseg
from flexseg import SettingsError
from tests.model_checks import skip_unless_channels_first_runs


def conv_layers(model):
    return [layer for layer in model.layers if type(layer) is keras.layers.Conv2D]


def test_levels_follow_the_original_formulas():
    model = flexseg.build(
        "flexunet",
        num_classes=5,
        input_shape=(64, 64, 3),
        base_filters=3,
        base_kernels=(9, 9),
        num_layers=5,
        dilation=(3, 3),
        dropout_rate=0.1,
    )
    num_layers = 5
    expected = []  # (filters, kernel, dilation) of every 3x3-style conv, encoder then decoder
    for level in list(range(num_layers)) + list(range(num_layers - 2, -1, -1)):
        kernel = max(9 - 2 * level, 3)
        dilation = max(3 - level, 1)
        expected += [(3 * 2**level, (kernel, kernel), (dilation, dilation))] * 2
    convs = conv_layers(model)[:-1]
    assert [(c.filters, c.kernel_size, c.dilation_rate) for c in convs] == expected
    assert all(c.kernel_initializer.__class__.__name__ == "HeNormal" for c in convs)
    assert {c.padding for c in convs} == {"same"}
    rates = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    enc = [0.1 * level for level in range(num_layers)]
    dec = [0.1 * level for level in range(num_layers - 2, -1, -1)]
    np.testing.assert_allclose(rates, enc + dec)
    head = conv_layers(model)[-1]
    assert head.kernel_size == (1, 1) and head.filters == 5
    assert isinstance(model.layers[-1], keras.layers.Softmax) and model.layers[-1].axis == -1
    ups = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [(u.filters, u.kernel_size, u.strides) for u in ups] == [
        (3 * 2**level, (2, 2), (2, 2)) for level in range(num_layers - 2, -1, -1)
    ]


def test_layer_order_within_a_level():
    model = flexseg.build("flexunet_tiny")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[:8] == [
        "InputLayer",
        "Rescaling",
        "Conv2D",
        "BatchNormalization",
        "Dropout",
        "Conv2D",
        "BatchNormalization",
        "MaxPooling2D",
    ]
    plain = flexseg.build("flexunet_tiny", normalization=False, input_normalize=False)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in plain.layers)


def test_single_class_uses_final_activation():
    sigmoid = flexseg.build("flexunet", num_classes=1, input_shape=(16, 16, 1), num_layers=2)
    assert sigmoid.layers[-1].activation.__name__ == "sigmoid"
    linear = flexseg.build(
        "flexunet", num_classes=1, input_shape=(16, 16, 1), num_layers=2, final_activation="linear"
    )
    assert linear.layers[-1].activation.__name__ == "linear"
    images = np.random.default_rng(0).uniform(0, 255, (1, 16, 16, 1)).astype("float32")
    probabilities = keras.ops.convert_to_numpy(sigmoid(images))
    assert probabilities.min() > 0 and probabilities.max() < 1


def test_input_normalize_divides_by_255():
    keras.utils.set_random_seed(3)
    scaled = flexseg.build("flexunet_tiny", input_normalize=True, normalization=False)
    raw = flexseg.build("flexunet_tiny", input_normalize=False, normalization=False)
    raw.set_weights(scaled.get_weights())
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(scaled(images)),
        keras.ops.convert_to_numpy(raw(images / 255.0)),
        atol=1e-6,
    )


def test_channels_first_matches_channels_last():
    skip_unless_channels_first_runs()
    keras.utils.set_random_seed(4)
    last = flexseg.build("flexunet_tiny", normalization=False)
    first = flexseg.build(
        "flexunet_tiny", normalization=False, data_format="channels_first", input_shape=(3, 32, 32)
    )
    first.set_weights(last.get_weights())
    images = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    out_last = keras.ops.convert_to_numpy(last(images))
    out_first = keras.ops.convert_to_numpy(first(np.transpose(images, (0, 3, 1, 2))))
    np.testing.assert_allclose(np.transpose(out_first, (0, 2, 3, 1)), out_last, atol=1e-5)


def test_size_not_divisible_names_the_nearest_sizes():
    with pytest.raises(SettingsError, match=r"multiple of 8.*height=100.*96 or 104"):
        flexseg.build("flexunet", num_classes=2, input_shape=(100, 96, 3), num_layers=4)
    with pytest.raises(SettingsError, match=r"width=4.*Nearest valid sizes: 8\b"):
        flexseg.build("flexunet", num_classes=2, input_shape=(8, 4, 3), num_layers=4)


def test_size_unknown_at_build_is_checked_when_called():
    model = flexseg.build("flexunet", num_classes=2, input_shape=(None, None, 3), num_layers=3)
    assert model(np.zeros((1, 16, 24, 3), "float32")).shape == (1, 16, 24, 2)
    with pytest.raises(SettingsError, match=r"multiple of 4.*height=18.*16 or 20"):
        model(np.zeros((1, 18, 16, 3), "float32"))
    with pytest.raises(SettingsError, match=r"width=10"):
        model.predict(np.zeros((1, 16, 10, 3), "float32"), verbose=0)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"base_filters": 0}, r"base_filters must be an integer >= 1\. Received: base_filters=0"),
        ({"num_layers": 2.5}, r"num_layers=2\.5"),
        ({"base_kernels": (3, 3, 3)}, r"base_kernels must be an integer or a pair"),
        ({"dilation": "2"}, r"dilation=.2."),
        ({"activation": "rellu"}, r"activation='rellu'\. Did you mean: relu"),
        ({"dropout_rate": 1.5}, r"dropout_rate must be a number in \[0, 1\)"),
        ({"dropout_rate": 0.4, "num_layers": 4}, r"deepest level's dropout.*1\.2"),
        ({"final_activation": "sigmoid"}, r"final_activation applies only when num_classes == 1"),
        ({"input_shape": (32, 32, None)}, r"channels may not"),
        ({"input_shape": (32, 32)}, r"three positive integers"),
        ({"data_format": "nhwc"}, r"data_format=.nhwc."),
        ({"num_classes": 0}, r"num_classes must be an integer >= 1"),
    ],
)
def test_bad_settings_are_named(settings, message):
    arguments = {"num_classes": 3, "input_shape": (32, 32, 3), "num_layers": 3, **settings}
    with pytest.raises(SettingsError, match=message):
        flexseg.build("flexunet", **arguments)
