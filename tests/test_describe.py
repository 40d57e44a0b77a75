"""Model cards and MAC counts, checked against counts done by hand."""

import json

import keras
import pytest

import flexseg
from flexseg import FlexsegError
from flexseg.models.catalogue.cards import model_card
from flexseg.models.catalogue.macs import count_macs


def flexunet_macs_by_hand(height, width, channels, classes, base_filters, kernel, num_layers):
    """Conv: positions x k*k x in x out; 2x2 stride-2 transposed: in positions x 4 x in x out."""
    total, in_channels = 0, channels
    for level in range(num_layers):
        k = max(kernel - 2 * level, 3)
        filters = base_filters * 2**level
        positions = (height >> level) * (width >> level)
        total += positions * k * k * (in_channels * filters + filters * filters)
        in_channels = filters
    for level in range(num_layers - 2, -1, -1):
        k = max(kernel - 2 * level, 3)
        filters = base_filters * 2**level
        total += (height >> (level + 1)) * (width >> (level + 1)) * 4 * in_channels * filters
        positions = (height >> level) * (width >> level)
        total += positions * k * k * (2 * filters * filters + filters * filters)
        in_channels = filters
    return total + height * width * in_channels * classes


@pytest.mark.parametrize(
    ("shape", "classes", "base_filters", "kernel", "num_layers"),
    [((64, 48, 3), 6, 4, 7, 4), ((32, 32, 1), 2, 2, 3, 2), ((16, 16, 3), 3, 8, 5, 1)],
)
def test_flexunet_macs_match_the_hand_count(shape, classes, base_filters, kernel, num_layers):
    card = flexseg.describe(
        "flexunet",
        num_classes=classes,
        input_shape=shape,
        base_filters=base_filters,
        base_kernels=kernel,
        num_layers=num_layers,
    )
    assert card.macs == flexunet_macs_by_hand(*shape, classes, base_filters, kernel, num_layers)
    assert card.macs_uncounted == ()


def test_published_screw_preset_settings_and_cost():
    """The original's MVTec-screw FlexUNet (built once here: 125M parameters)."""
    card = flexseg.describe("flexunet_mvtec_screw", input_shape=(256, 256, 3))
    settings = card.settings
    assert settings["num_classes"] == 6
    assert settings["base_filters"] == 16 and settings["base_kernels"] == [9, 9]
    assert settings["num_layers"] == 8 and settings["dropout_rate"] == 0.03
    assert settings["dilation"] == [1, 1]
    assert settings["input_normalize"] is False and settings["normalization"] is False
    assert flexseg.get_preset("flexunet_mvtec_screw").settings["input_shape"] == (512, 512, 3)
    # The hand count fixes the layout: 16 filters doubling over 8 levels, kernels 9 to 3.
    assert card.params == 124_996_934
    assert card.macs == flexunet_macs_by_hand(256, 256, 3, 6, 16, 9, 8)


def test_card_fields_and_json():
    card = flexseg.describe("flexunet_tiny")
    model = flexseg.build("flexunet_tiny")
    assert card.name == "flexunet_tiny" and card.architecture == "flexunet"
    assert card.params == model.count_params()
    assert card.trainable_params == card.params - 160  # batch-norm moving statistics
    assert card.input_shape == (32, 32, 3) and card.output_shape == (32, 32, 3)
    assert "U-Net" in card.reference
    assert card.settings["num_layers"] == 3 and card.settings["normalization"] is True
    assert json.loads(json.dumps(card.to_dict()))["macs"] == card.macs
    assert "flexunet_tiny (flexunet)" in str(card) and "GMAC" in str(card)


def test_card_of_a_built_model_equals_describe():
    model = flexseg.build("flexunet_tiny")
    assert model_card(model, "flexunet_tiny") == flexseg.describe("flexunet_tiny")
    inputs = keras.Input((4, 4, 1))
    plain = keras.Model(inputs, keras.layers.Conv2D(2, 1)(inputs))
    with pytest.raises(FlexsegError, match="not a registered model class"):
        model_card(plain)


def test_describe_needs_a_concrete_size():
    with pytest.raises(FlexsegError, match=r"pass a concrete input_shape such as \(256, 256, 3\)"):
        flexseg.describe("flexunet", num_classes=2)


def test_other_layers_are_counted_or_reported():
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.SeparableConv2D(6, 3, padding="same")(inputs)  # 64*(9*4) + 64*(4*6)
    x = keras.layers.DepthwiseConv2D(3, padding="valid")(x)  # 36*(9*6)
    x = keras.layers.Dense(5)(x)  # 36*(6*5)
    x = keras.layers.LayerNormalization()(x)
    outputs = keras.layers.Embedding(3, 2)(keras.ops.cast(x[..., 0], "int32"))
    counted = count_macs(keras.Model(inputs, outputs))
    assert counted.total == 64 * 36 + 64 * 24 + 36 * 54 + 36 * 30
    assert counted.uncounted == ["embedding (Embedding)"]


def test_nested_models_are_counted():
    inner_in = keras.Input((4, 4, 2))
    inner = keras.Model(inner_in, keras.layers.Conv2D(3, 1)(inner_in), name="inner")
    outer_in = keras.Input((4, 4, 2))
    outer = keras.Model(outer_in, keras.layers.Conv2D(1, 1)(inner(outer_in)))
    counted = count_macs(outer)
    assert counted.total == 16 * 2 * 3 + 16 * 3 * 1
    assert any(name.startswith("inner/") for name in counted.per_layer)
