"""Preset TOML files: the shipped ones are valid; malformed ones are errors naming file and key."""

import pytest

import flexseg
from flexseg import FlexsegError
from flexseg.models.catalogue import registry
from flexseg.models.catalogue.presets import read_preset
from flexseg.resources import registry_dir

VALID = """
architecture = "flexunet"
description = "d"
reference = "r"
[settings]
num_classes = 2
base_kernels = [5, 5]
"""


def test_shipped_presets_name_registered_architectures_and_valid_settings():
    names = flexseg.list_presets()
    assert {"flexunet_mvtec_screw", "flexunet_tiny"} <= set(names)
    assert sorted((registry_dir() / "models").glob("*.toml"))
    for name in names:
        preset = flexseg.get_preset(name)
        entry = registry.model_entry(preset.architecture)
        registry.check_settings(entry, preset.settings, context=name)
        assert preset.description and preset.reference


def test_list_presets_filters():
    assert flexseg.list_presets("*screw") == ["flexunet_mvtec_screw"]
    assert flexseg.list_presets("none*") == []


def test_unknown_preset_suggests():
    with pytest.raises(FlexsegError, match="Did you mean: flexunet_mvtec_screw"):
        flexseg.get_preset("flexunet_mvtec_scew")


def test_a_valid_file_reads_with_tuples(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(VALID)
    preset = read_preset(path)
    assert preset.name == "mine" and preset.architecture == "flexunet"
    assert preset.settings == {"num_classes": 2, "base_kernels": (5, 5)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            VALID.replace("reference", "referance"),
            r"unknown key 'referance'.*Did you mean: reference",
        ),
        (VALID.replace('description = "d"\n', ""), r"missing key 'description'"),
        (VALID.replace('"flexunet"', "3"), r"'architecture' must be a non-empty string"),
        (VALID.replace("[settings]", "settings = 1\n[other]"), r"unknown key 'other'"),
        ("architecture = ", r"not valid TOML"),
    ],
)
def test_malformed_files_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(FlexsegError, match=message) as error:
        read_preset(path)
    assert str(path) in str(error.value)
