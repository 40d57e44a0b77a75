"""The wheel carries the presets; plugins add architectures through entry points."""

import json
import os
import sys
import textwrap
import zipfile

import keras

from tests.packaging_helpers import OFFLINE, ROOT, build_wheel, fresh_venv_seeing_our_packages, run

CHECK_INSTALLED = """
import json, flexseg
from flexseg.resources import registry_dir
model = flexseg.build("flexunet_tiny")
print(json.dumps({
    "module": flexseg.__file__,
    "registry": str(registry_dir()),
    "presets": flexseg.list_presets(),
    "screw_layers": flexseg.get_preset("flexunet_mvtec_screw").settings["num_layers"],
    "output_shape": list(model.output_shape[1:]),
}))
"""


def test_wheel_ships_the_presets_and_builds_outside_the_source_tree(tmp_path):
    wheel = build_wheel(ROOT, tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    assert "flexseg/registry_files/models/flexunet_mvtec_screw.toml" in names
    assert "flexseg/models/flexunet.py" in names
    assert not any(name.startswith("tests/") for name in names)

    python = fresh_venv_seeing_our_packages(tmp_path / "venv")
    run([sys.executable, "-m", "pip", "--python", python, "install", *OFFLINE, wheel], timeout=300)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["KERAS_BACKEND"] = keras.backend.backend()
    result = run([python, "-c", CHECK_INSTALLED], cwd=outside, env=env, timeout=300)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    venv = str(tmp_path / "venv")
    assert report["module"].startswith(venv), report["module"]
    assert report["registry"].startswith(venv) and report["registry"].endswith("registry_files")
    assert {"flexunet_mvtec_screw", "flexunet_tiny"} <= set(report["presets"])
    assert report["screw_layers"] == 8
    assert report["output_shape"] == [32, 32, 3]


PLUGIN_PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "flexseg-plugin-demo"
version = "0.0.1"

[project.entry-points."flexseg.models"]
plugin_conv = "flexseg_plugin_demo:plugin_conv"
by_import = "flexseg_plugin_demo.more"
broken = "flexseg_plugin_demo:does_not_exist"
flexunet = "flexseg_plugin_demo:plugin_conv"

[tool.hatch.build.targets.wheel]
packages = ["flexseg_plugin_demo"]
"""

PLUGIN_INIT = '''
import keras


def plugin_conv(num_classes, input_shape=(None, None, 3), filters=4):
    """A plugin builder: registered under its entry-point name."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(filters, 3, padding="same")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(num_classes, 1, activation="softmax")(x))


plugin_conv.reference = "a test plugin"
'''

PLUGIN_MORE = """
import keras
import flexseg


@flexseg.register_model("plugin_by_import", reference="registered when imported")
def plugin_by_import(num_classes, input_shape=(None, None, 1)):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Conv2D(num_classes, 1)(inputs))
"""

USE_PLUGINS = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import flexseg
    names = flexseg.list_models()
conv = flexseg.build("plugin_conv", num_classes=3, input_shape=(8, 8, 3), filters=2)
card = flexseg.describe("plugin_conv", num_classes=3, input_shape=(8, 8, 3), filters=2)
by_import = flexseg.build("plugin_by_import", num_classes=2, input_shape=(8, 8, 1))
print(json.dumps({
    "models": names,
    "warnings": [str(w.message) for w in caught if "flexseg" in str(w.message)],
    "conv_shape": list(conv.output_shape[1:]),
    "conv_macs": card.macs, "conv_reference": card.reference, "conv_settings": card.settings,
    "by_import_shape": list(by_import.output_shape[1:]),
    "conv_source": flexseg.models.catalogue.registry.model_entry("plugin_conv").source,
    "flexunet_source": flexseg.models.catalogue.registry.model_entry("flexunet").source,
}))
"""


def test_plugins_add_architectures_through_entry_points(tmp_path):
    source = tmp_path / "plugin"
    (source / "flexseg_plugin_demo").mkdir(parents=True)
    (source / "pyproject.toml").write_text(PLUGIN_PYPROJECT)
    (source / "flexseg_plugin_demo" / "__init__.py").write_text(textwrap.dedent(PLUGIN_INIT))
    (source / "flexseg_plugin_demo" / "more.py").write_text(textwrap.dedent(PLUGIN_MORE))
    site = tmp_path / "site"
    run([sys.executable, "-m", "pip", "install", *OFFLINE, "--target", site, source], timeout=300)

    env = dict(os.environ, PYTHONPATH=str(site), KERAS_BACKEND=keras.backend.backend())
    result = run([sys.executable, "-c", USE_PLUGINS], cwd=tmp_path, env=env, timeout=300)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"flexunet", "plugin_conv", "plugin_by_import"} <= set(report["models"])
    assert "broken" not in report["models"]
    broken, clash = sorted(report["warnings"])
    assert "skipped model plugin 'broken' from flexseg-plugin-demo" in broken
    assert "does_not_exist" in broken
    assert "skipped model plugin 'flexunet'" in clash and "already registered by flexseg" in clash
    assert report["conv_source"] == "flexseg-plugin-demo"
    assert report["flexunet_source"] == "flexseg"
    assert report["conv_shape"] == [8, 8, 3] and report["by_import_shape"] == [8, 8, 2]
    assert report["conv_macs"] == 64 * 9 * 3 * 2 + 64 * 2 * 3
    assert report["conv_reference"] == "a test plugin"
    assert report["conv_settings"] == {"num_classes": 3, "input_shape": [8, 8, 3], "filters": 2}
