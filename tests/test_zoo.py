"""The architectures of the zoo: sizes, settings errors, backbone weights files, search spaces."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import flexseg
from flexseg.errors import SettingsError

ARCHITECTURES = flexseg.list_models()
ZOO = [name for name in ARCHITECTURES if name != "flexunet"]


def predict(model, images):
    return keras.ops.convert_to_numpy(model(images, training=False))


def test_the_zoo_has_every_architecture_of_the_original_plus_unet_and_unetpp():
    assert set(ARCHITECTURES) >= {
        "flexunet", "unet", "unetpp", "attention_unet", "unet3plus", "multires_unet",
        "sharp_unet", "u2net", "transunet", "swin_unet", "deeplabv3plus", "efficient_unet",
    }  # fmt: skip


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("size", [128, 256])
def test_builds_at_128_and_256_with_six_classes(architecture, size):
    model = flexseg.build(f"{architecture}_tiny", num_classes=6, input_shape=(size, size, 3))
    assert model.output_shape == (None, size, size, 6)


@pytest.mark.parametrize(
    ("architecture", "shapes"),
    [("transunet", [(32, 32, 3), (48, 80, 1)]), ("swin_unet", [(32, 32, 3), (64, 32, 1)])],
)
def test_transformers_work_at_sizes_other_than_their_preset(architecture, shapes):
    for shape in shapes:
        model = flexseg.build(f"{architecture}_tiny", input_shape=shape)
        images = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
        outputs = predict(model, images)
        assert outputs.shape == (2, shape[0], shape[1], 3)
        np.testing.assert_allclose(outputs.sum(axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("name", "settings", "message"),
    [
        ("unet", {"upsampling": "nearest"}, "upsampling must be one of 'transpose', 'bilinear'"),
        ("unet", {"input_shape": (100, 96, 3)}, "Nearest valid sizes: 96 or 112"),
        ("unetpp", {"num_layers": 1}, "num_layers must be an integer >= 2"),
        ("sharp_unet", {"kernel": "box"}, "kernel must be one of 'laplacian', 'sharpen'"),
        ("multires_unet", {"base_filters": 2}, "alpha * base_filters must be at least 6"),
        ("u2net", {"input_shape": (100, 100, 3)}, "multiple of 32"),
        ("transunet", {"input_shape": (None, None, 3)}, "needs a known input height and width"),
        ("transunet", {"input_shape": (64, 64, 3), "num_heads": 5}, "Valid: [1, 2, 3, 4, 6, 8,"),
        ("swin_unet", {"input_shape": (250, 256, 3)}, "Nearest valid heights: 128 or 256"),
        ("swin_unet", {"input_shape": (256, 256, 3), "depths": (2, 2)}, "equally long"),
        (
            "swin_unet",
            {"input_shape": (256, 256, 3), "num_heads": (5, 6, 12, 24)},
            "Valid: [1, 2, 3,",
        ),
        ("deeplabv3plus", {"backbone": "vgg16"}, "backbone must be one of 'resnet50'"),
        ("deeplabv3plus", {"atrous_rates": (6, 0)}, "atrous_rates must be a list of positive"),
        ("efficient_unet", {"backbone": "efficientnetb9"}, "'efficientnetb7'"),
        ("efficient_unet", {"decoder_filters": (8, 8)}, "decoder_filters must be five"),
        ("attention_unet", {"activation": "rleu"}, "did you mean: relu"),
    ],
)
def test_invalid_settings_name_the_valid_alternatives(name, settings, message):
    with pytest.raises(SettingsError) as error:
        flexseg.build(name, num_classes=3, **settings)
    assert message.lower() in str(error.value).lower()


@pytest.mark.parametrize(
    ("architecture", "backbone", "builder", "extra"),
    [
        ("deeplabv3plus", "mobilenetv2", "MobileNetV2", {"alpha": 0.35}),
        ("efficient_unet", "efficientnetb0", "EfficientNetB0", {}),
    ],
)
def test_backbone_weights_load_from_a_local_file(tmp_path, architecture, backbone, builder, extra):
    shape = (32, 32, 3)
    keras.utils.set_random_seed(1)
    source = getattr(keras.applications, builder)(
        include_top=False, weights=None, input_shape=shape, **extra
    )
    path = tmp_path / f"{backbone}_notop.weights.h5"
    source.save_weights(path)
    expected = [keras.ops.convert_to_numpy(w) for w in source.weights]

    keras.utils.set_random_seed(2)
    model = flexseg.build(f"{architecture}_tiny", weights=str(path))
    # The features model ends at the deepest stride it uses: its weights are a prefix.
    loaded = model.get_layer(f"{backbone}_features").weights
    assert len(expected) >= len(loaded) > 10
    for variable, value in zip(loaded, expected, strict=False):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), value)
    # The weights live in the variables: the config does not point at the file.
    assert model.get_config()["weights"] is None

    keras.utils.set_random_seed(2)
    fresh = flexseg.build(f"{architecture}_tiny").get_layer(f"{backbone}_features").weights
    differs = [
        not np.array_equal(keras.ops.convert_to_numpy(variable), value)
        for variable, value in zip(fresh, expected, strict=False)
    ]
    assert any(differs), "random initialization equals the file: the comparison proves nothing"


def test_backbone_weights_errors_name_the_file(tmp_path):
    missing = tmp_path / "nothing.weights.h5"
    with pytest.raises(SettingsError, match=r"does not exist.*never downloads"):
        flexseg.build("efficient_unet_tiny", weights=str(missing))
    wrong_suffix = tmp_path / "weights.npz"
    wrong_suffix.write_bytes(b"x")
    with pytest.raises(
        SettingsError, match=r"must be a Keras weights file ending in \.weights\.h5"
    ):
        flexseg.build("efficient_unet_tiny", weights=str(wrong_suffix))
    other = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.35
    )
    other_path = tmp_path / "mobilenet.weights.h5"
    other.save_weights(other_path)
    with pytest.raises(
        SettingsError, match=r"could not load .*mobilenet.weights.h5 into the efficientnetb0"
    ):
        flexseg.build("efficient_unet_tiny", weights=str(other_path))


def test_deep_supervision_averages_the_heads():
    model = flexseg.build("unetpp_tiny")  # deep_supervision = true
    heads = [layer.output for layer in model.layers if layer.name.endswith("_probabilities")]
    assert len(heads) == 2  # X(0,1) and X(0,2) with 3 levels
    probe = keras.Model(model.inputs, [*heads, model.output])
    images = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    *sides, final = [keras.ops.convert_to_numpy(t) for t in probe(images, training=False)]
    np.testing.assert_allclose(final, np.mean(sides, axis=0), atol=1e-6)
    assert np.abs(sides[0] - sides[1]).max() > 1e-4  # two different heads, a real average


def test_u2net_side_outputs_are_fused_for_every_class():
    model = flexseg.build("u2net_tiny", num_classes=4, side_outputs=True)
    sides = [layer for layer in model.layers if layer.name.startswith("side") and layer.weights]
    assert len(sides) == 3 and all(layer.filters == 4 for layer in sides)
    images = np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3)).astype("float32")
    outputs = predict(model, images)
    assert outputs.shape == (1, 64, 64, 4)
    np.testing.assert_allclose(outputs.sum(axis=-1), 1.0, atol=1e-5)


def test_classification_guide_scales_each_class_and_renormalizes():
    keras.utils.set_random_seed(0)
    model = flexseg.build("unet3plus_tiny")
    probe = keras.Model(
        model.inputs,
        [model.get_layer("probabilities").output, model.get_layer("cgm_presence").output],
    )
    images = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    averaged, presence = [keras.ops.convert_to_numpy(t) for t in probe(images, training=False)]
    guided = averaged * presence
    np.testing.assert_allclose(
        predict(model, images), guided / guided.sum(axis=-1, keepdims=True), atol=1e-5
    )


@pytest.mark.parametrize("architecture", ["transunet_tiny", "swin_unet_tiny", "deeplabv3plus_tiny"])
def test_every_layer_with_weights_is_counted_in_macs(architecture):
    card = flexseg.describe(architecture)
    assert card.macs_uncounted == ()
    assert card.macs > 0
