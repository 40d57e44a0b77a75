"""Config files: validation with suggestions, --set overrides, and the original's ini configs."""

import subprocess
import sys

import pytest

from flexseg.cli.config import main
from flexseg.config import ConfigError, config_from_dict, load_config

MINIMAL = {"data": {"root": "data", "palette": "mvtec_screw"}}

ORIGINAL = """
; a TensorFlow-FlexUNet config as published for MVTec screw
[model]
model         = "TensorFlowFlexUNet"
generator     =  False
image_width    = 256
image_height   = 256
image_channels = 3
input_normalize = False
num_classes    = 6
base_filters   = 16
base_kernels   = (9,9)
num_layers     = 8
dropout_rate   = 0.03
dilation       = (1,1)
optimizer       = "Adam"
learning_rate  = 0.00007
clipvalue      = 0.5
loss           = "categorical_crossentropy"
metrics        = ["dice_coef_multiclass"]
show_summary   = False
[train]
epochs        = 100
batch_size    = 2
patience      = 10
model_dir     = "./models/"
images_dir    = "../dataset/SCREW/train/images/"
masks_dir     = "../dataset/SCREW/train/masks/"
learning_rate_reducer = True
reducer_factor     = 0.5
reducer_patience   = 4
epoch_change_infer     = True
num_infer_images       = 6
save_weights_only  = True
[valid]
images_dir = "../dataset/SCREW/valid/images/"
masks_dir  = "../dataset/SCREW/valid/masks/"
[infer]
images_dir    = "./mini_test/images/"
output_dir    = "./mini_test_output/"
[mask]
mask_file_format = ".png"
color_map = {(0,0,0):0, (0,255,0):1,(255,0,0):2,(0,0,255):3, (0,255,255):4, (255,255,0):5}
"""


def test_defaults_and_overrides():
    config = config_from_dict(MINIMAL, overrides=["train.epochs=3", "train.loss=cce+dice",
                                                  "data.image_size=[64, 64]"])  # fmt: skip
    assert config.train["epochs"] == 3 and config.train["loss"] == "cce+dice"
    assert config.data["image_size"] == [64, 64] and config.train["optimizer"] == "adam"
    assert config.model == {"name": "flexunet"}
    assert config.palette().num_classes == 6


@pytest.mark.parametrize(
    ("data", "overrides", "message"),
    [
        (
            {**MINIMAL, "train": {"epoch": 3}},
            [],
            r"unknown key train\.epoch\. Did you mean: epochs",
        ),
        ({**MINIMAL, "trian": {}}, [], r"unknown section \[trian\]\. Did you mean: train"),
        ({**MINIMAL, "train": {"epochs": "3"}}, [], r"train\.epochs must be int; got '3'"),
        ({**MINIMAL, "train": {"epochs": 0}}, [], r"train\.epochs must be >= 1; got 0"),
        ({**MINIMAL, "train": {"optimizer": "adamm"}}, [], r"must be one of 'adam', 'adamw'.*adam"),
        (
            {**MINIMAL, "model": {"base_filter": 8}},
            [],
            r"model\.base_filter for flexunet\. Did you mean: base_filters",
        ),
        (
            {**MINIMAL, "model": {"name": "flexunt"}},
            [],
            r"model\.name: No model or preset named 'flexunt'",
        ),
        ({**MINIMAL, "model": {"num_classes": 4}}, [], r"has 6 classes .* num_classes=4"),
        ({"data": {"root": "d"}}, [], r"missing data\.palette"),
        (
            {**MINIMAL, "data": {"root": "d", "palette": "mvtec_scrw"}},
            [],
            r"Did you mean: mvtec_screw",
        ),
        (MINIMAL, ["epochs=3"], r"expected section\.key=value"),
        (MINIMAL, ["train.epoches=3"], r"Did you mean: epochs"),
        (
            {**MINIMAL, "data": {"root": "d", "palette": "mvtec_screw", "bool_key": True}},
            [],
            "unknown key data.bool_key",
        ),
        ({**MINIMAL, "train": {"patience": True}}, [], r"train\.patience must be int; got True"),
    ],
)
def test_mistakes_name_the_key(data, overrides, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data, overrides)


def test_toml_file_with_a_preset_and_relative_palette(tmp_path):
    palette_text = (
        '[[classes]]\nid = 0\nname = "bg"\ncolor = [0, 0, 0]\n'
        '[[classes]]\nid = 1\nname = "crack"\ncolor = [9, 9, 9]\n'
    )
    (tmp_path / "palette.toml").write_text(palette_text)
    path = tmp_path / "run.toml"
    path.write_text('[model]\nname = "flexunet_tiny"\nnum_classes = 2\n'
                    '[data]\nroot = "data"\npalette = "palette.toml"\n')  # fmt: skip
    config = load_config(path)
    assert config.palette().names == ("bg", "crack")
    assert config.path(config.data["root"]) == tmp_path / "data"
    path.write_text("[data\nroot = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_original_ini_with_color_map_loads_and_converts(tmp_path, capsys):
    path = tmp_path / "project" / "train_eval_infer.config"
    path.parent.mkdir()
    path.write_text(ORIGINAL)
    config = load_config(path)
    assert config.model["name"] == "flexunet" and config.model["base_kernels"] == (9, 9)
    assert config.model["input_normalize"] is False and config.model["num_layers"] == 8
    assert config.data["root"] == "../dataset/SCREW" and config.data["image_size"] == [256, 256]
    assert config.palette().colors.tolist()[4] == [0, 255, 255]  # ids from the dict values
    assert config.train["learning_rate"] == 0.00007 and config.train["clipvalue"] == 0.5
    assert config.train["loss"] == "cce" and config.train["legacy_dice_metric"] is True
    assert config.train["reduce_lr_patience"] == 4 and config.train["epoch_change_images"] == 6
    assert config.infer["input"] == "./mini_test/images/"
    assert any("[train] save_weights_only: not supported" in w for w in config.warnings)
    assert any("[model] show_summary" in w for w in config.warnings)

    assert main(["convert", str(path)]) == 0
    captured = capsys.readouterr()
    converted = tmp_path / "project" / "converted.toml"
    converted.write_text(captured.out)
    assert "warning: [train] save_weights_only" in captured.err
    assert load_config(converted).to_dict() == config.to_dict()


def test_original_ini_mistakes(tmp_path):
    path = tmp_path / "bad.config"
    path.write_text(ORIGINAL.replace("num_classes    = 6", "num_classes    = 6s"))
    with pytest.raises(Exception, match=r"\[model\] num_classes = '6s' is not a Python literal"):
        load_config(path)
    path.write_text(ORIGINAL.replace("../dataset/SCREW/train/images/", "../images/"))
    with pytest.raises(Exception, match=r"images_dir = '\.\./images/' is not ROOT/train/images"):
        load_config(path)
    path.write_text(
        ORIGINAL.replace("learning_rate_reducer = True", "learning_rate_reducer = False")
    )
    assert load_config(path).train["reduce_lr_patience"] == 0


@pytest.mark.parametrize(
    ("class_name", "architecture"),
    [("TensorFlowUNet", "unet"), ("TensorFlowEfficientNetB7UNet", "efficient_unet")],
)
def test_original_zoo_models_convert_without_flexunet_only_settings(
    tmp_path, class_name, architecture
):
    path = tmp_path / "train_eval_infer.config"
    path.write_text(ORIGINAL.replace('"TensorFlowFlexUNet"', f'"{class_name}"'))
    config = load_config(path)
    assert config.model["name"] == architecture
    assert "base_kernels" not in config.model and "dilation" not in config.model
    assert any(f"[model] base_kernels: {architecture} has no such setting" in w
               for w in config.warnings)  # fmt: skip
    if architecture == "efficient_unet":
        assert config.model["backbone"] == "efficientnetb7"
        assert "base_filters" not in config.model
    else:
        assert config.model["base_filters"] == 16


def test_check_command(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[data]\nroot = "d"\npalette = "mvtec_screw"\n')
    result = subprocess.run(
        [sys.executable, "-m", "flexseg.config", "check", str(path), "--set", "train.epochs=7"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "epochs = 7" in result.stdout and 'optimizer = "adam"' in result.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "flexseg.config", "check", str(path), "--set", "train.epoch=7"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "Did you mean: epochs" in bad.stderr
    ours = [line for line in bad.stderr.splitlines() if line.startswith("python -m flexseg.config")]
    assert len(ours) == 1  # one line from flexseg (TensorFlow may add its own log lines)
