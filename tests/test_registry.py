"""flexseg.build, list_models and register_model: names, settings and errors."""

import json

import keras
import pytest

import flexseg
from flexseg import FlexsegError, SettingsError
from flexseg.models.catalogue import registry
from flexseg.models.catalogue.presets import Preset


def one_by_one(num_classes, input_shape=(None, None, 3), filters=4):
    inputs = keras.Input(input_shape)
    hidden = keras.layers.Conv2D(filters, 1)(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(num_classes, 1, activation="softmax")(hidden))


def test_unknown_name_lists_the_closest_names():
    with pytest.raises(
        FlexsegError, match=r"No model or preset named 'flexunt'.*Closest: flexunet"
    ):
        flexseg.build("flexunt", num_classes=2)
    with pytest.raises(FlexsegError, match=r"Closest: .*flexunet_tiny"):
        flexseg.build("flexunet_tin")


def test_unknown_setting_is_named_never_ignored():
    with pytest.raises(SettingsError, match=r"'base_filter' \(did you mean base_filters or"):
        flexseg.build("flexunet", num_classes=2, base_filter=8)
    with pytest.raises(SettingsError, match=r"'colour'.*It takes: num_classes, input_shape"):
        flexseg.build("flexunet_tiny", colour="red")


def test_missing_num_classes_is_explained():
    with pytest.raises(SettingsError, match=r"flexunet needs num_classes=\.\.\. \(the number of"):
        flexseg.build("flexunet")


def test_none_means_default():
    defaults = flexseg.build("flexunet", num_classes=2, input_shape=(32, 32, 3))
    with_nones = flexseg.build(
        "flexunet", num_classes=2, input_shape=(32, 32, 3), num_layers=None, base_filters=None
    )
    assert with_nones.get_config() == defaults.get_config()
    assert with_nones.get_config()["num_layers"] == 6


def test_default_input_shape_accepts_any_valid_size():
    model = flexseg.build("flexunet", num_classes=2, num_layers=2)
    assert model.input_shape == (None, None, None, 3)
    assert model(keras.ops.zeros((1, 6, 10, 3))).shape == (1, 6, 10, 2)


def test_list_models_filters_and_sorts():
    registry.register_model("zz_second")(one_by_one)
    registry.register_model("zz_first")(one_by_one)
    assert flexseg.list_models("zz_*") == ["zz_first", "zz_second"]
    assert flexseg.list_models("nothing*") == []
    assert flexseg.list_models() == sorted(flexseg.list_models())


def test_register_twice_needs_override():
    flexseg.register_model("twice", reference="first")(one_by_one)
    with pytest.raises(FlexsegError, match=r"'twice' is already registered.*override=True"):
        flexseg.register_model("twice")(one_by_one)
    flexseg.register_model("twice", reference="second", override=True)(one_by_one)
    assert registry.model_entry("twice").reference == "second"
    model = flexseg.build("twice", num_classes=3, filters=2)
    assert model.output_shape == (None, None, None, 3)
    with pytest.raises(SettingsError, match=r"'filtres' \(did you mean filters\?\)"):
        flexseg.build("twice", num_classes=3, filtres=2)


def test_builtin_name_cannot_be_taken_silently():
    with pytest.raises(FlexsegError, match="already registered"):
        flexseg.register_model("flexunet")(one_by_one)


def test_registered_class_loads_without_custom_objects(tmp_path):
    model = flexseg.build("flexunet_tiny")
    path = tmp_path / "model.keras"
    model.save(path)
    config = json.loads(__import__("zipfile").ZipFile(path).read("config.json"))
    assert config["registered_name"] == "flexseg>FlexUNet"
    assert type(keras.models.load_model(path)).__name__ == "FlexUNet"


def test_preset_settings_are_overridden_by_user_settings():
    model = flexseg.build(
        "flexunet_mvtec_screw", input_shape=(64, 64, 3), num_layers=3, base_filters=2
    )
    config = model.get_config()
    assert config["input_shape"] == [64, 64, 3]
    assert config["num_layers"] == 3 and config["base_filters"] == 2
    assert config["base_kernels"] == [9, 9] and config["input_normalize"] is False
    assert config["num_classes"] == 6


def test_preset_naming_an_unknown_architecture(monkeypatch, tmp_path):
    broken = Preset("broken", "flexunett", "d", "r", {"num_classes": 2}, tmp_path / "broken.toml")
    monkeypatch.setattr(registry.presets, "find_preset", lambda name: broken)
    with pytest.raises(
        FlexsegError, match=r"broken\.toml\) names architecture 'flexunett'.*flexunet"
    ):
        flexseg.build("broken")


def test_preset_with_a_bad_setting_names_the_preset(monkeypatch, tmp_path):
    bad = Preset("bad", "flexunet", "d", "r", {"num_classes": 2, "depth": 3}, tmp_path / "bad.toml")
    monkeypatch.setattr(registry.presets, "find_preset", lambda name: bad)
    with pytest.raises(SettingsError, match=r"'depth'.*\(from preset 'bad'\)"):
        flexseg.build("bad")


def test_preset_and_architecture_names_may_not_clash(monkeypatch, tmp_path):
    clash = Preset("flexunet", "flexunet", "d", "r", {"num_classes": 2}, tmp_path / "flexunet.toml")
    monkeypatch.setattr(registry.presets, "find_preset", lambda name: clash)
    with pytest.raises(FlexsegError, match="both a registered architecture and a preset"):
        flexseg.build("flexunet")


def test_an_architecture_written_as_a_settings_table(tmp_path):
    """The README's recipe: a SegmentationModel subclass with defaults, check and graph."""
    from flexseg.models.parts import blocks
    from flexseg.models.parts.base import SegmentationModel, classifier, settings_table

    @flexseg.register_model("plain_unet", reference="a U-Net without skips")
    class PlainUNet(SegmentationModel):
        defaults = settings_table(base_filters=8, num_layers=3, normalization=True)

        def check(self, s):
            return s.with_levels()

        def graph(self, x, s):
            deepest = blocks.unet_encoder(x, s.filters, **s.style)[-1]
            x = blocks.upsample(
                deepest, name="up", method="bilinear", factor=2 ** (s.num_layers - 1)
            )
            return classifier(x, s)

    model = flexseg.build("plain_unet", num_classes=3, input_shape=(32, 32, 3), base_filters=4)
    assert model.output_shape == (None, 32, 32, 3) and model.name == "plain_unet"
    assert model.get_config() == {
        "name": "plain_unet", "trainable": True, "num_classes": 3, "input_shape": [32, 32, 3],
        "base_filters": 4, "num_layers": 3, "normalization": True,
    }  # fmt: skip
    assert registry.model_entry("plain_unet").setting_names() == [
        "num_classes", "input_shape", "name", "inference_class_factors",
        "fold_inference_factors", "base_filters", "num_layers", "normalization",
    ]  # fmt: skip
    with pytest.raises(SettingsError, match=r"plain_unet does not take .*'depth'"):
        PlainUNet(num_classes=3, depth=4)  # the class itself refuses unknown settings
    with pytest.raises(SettingsError, match=r"multiple of 4 \(num_layers=3 pools 2 times"):
        flexseg.build("plain_unet", num_classes=3, input_shape=(30, 32, 3))
    path = tmp_path / "plain.keras"
    model.save(path)
    assert keras.models.load_model(path).get_config() == model.get_config()


def test_a_saved_model_loads_in_a_fresh_interpreter_with_flexseg_load_model(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "model.keras"
    flexseg.build("flexunet_tiny").save(path)
    code = (
        "import flexseg, keras\n"
        f"try:\n    keras.models.load_model({str(path)!r})\n    print('keras: loaded')\n"
        "except TypeError:\n    print('keras: unregistered')\n"
        f"print(flexseg.load_model({str(path)!r}).output_shape)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    # As the README says: import flexseg registers nothing, flexseg.load_model does.
    assert done.stdout.splitlines()[-2:] == ["keras: unregistered", "(None, 32, 32, 3)"]
