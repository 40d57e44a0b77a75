"""Every registered architecture passes the shared model checks through its `<name>_tiny` preset."""

import pytest

import flexseg
from tests.model_checks import run_standard_checks

ARCHITECTURES = flexseg.list_models()


def test_there_is_something_to_check():
    assert "flexunet" in ARCHITECTURES


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_architecture_has_a_tiny_preset(architecture):
    preset = flexseg.get_preset(f"{architecture}_tiny")
    assert preset.architecture == architecture


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_standard_checks(architecture, tmp_path):
    run_standard_checks(f"{architecture}_tiny", tmp_path)
