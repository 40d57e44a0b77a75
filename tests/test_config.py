"""Config files: validation with suggestions, --set overrides, and the original's ini configs."""

import subprocess
import sys

import pytest

from flexseg.cli.config import main
from flexseg.config import ConfigError, config_from_dict, load_config
from flexseg.errors import FlexsegError

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
        (
            {"data": {"root": "d"}},
            [],
            r"data\.palette is not set and .*dataset\.toml does not exist",
        ),
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
    with pytest.raises(FlexsegError, match=r"\[model\] num_classes = '6s' is not a Python literal"):
        load_config(path)
    path.write_text(ORIGINAL.replace("../dataset/SCREW/train/images/", "../images/"))
    with pytest.raises(FlexsegError, match=r"images_dir = '\.\./images/' is not ROOT/train/images"):
        load_config(path)
    path.write_text(ORIGINAL.replace('model         = "TensorFlowFlexUNet"', "model = {}"))
    with pytest.raises(FlexsegError, match=r"\[model\] model = \{\} must be a str"):
        load_config(path)
    path.write_text(ORIGINAL.replace('loss           = "categorical_crossentropy"', "loss = []"))
    with pytest.raises(FlexsegError, match=r"\[model\] loss = \[\] must be a str"):
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


def test_a_dataset_folder_describes_its_palette(tmp_path):
    from flexseg.data.synthetic import write_dataset

    root = write_dataset(tmp_path / "screws", size=32, count=6, seed=0).root
    path = tmp_path / "run.toml"
    path.write_text('[data]\nroot = "screws"\n')
    config = load_config(path)
    assert config.palette().names[1] == "manipulated_front"
    assert config.data["palette"] == "screws/dataset.toml"  # the resolved config says which
    for spec in ("screws", "screws/dataset.toml"):  # the folder, or its dataset.toml
        path.write_text(f'[data]\nroot = "screws"\npalette = "{spec}"\n')
        assert load_config(path).palette() == config.palette()
    (root / "dataset.toml").unlink()
    path.write_text('[data]\nroot = "screws"\n')
    with pytest.raises(ConfigError, match=r"data\.palette is not set and .*screws/dataset\.toml"):
        load_config(path)


def minimal_with(sections: dict) -> dict:
    """MINIMAL with `sections` merged in ([data] key by key)."""
    return {**MINIMAL, **sections, "data": {**MINIMAL["data"], **sections.get("data", {})}}


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"infer": {"tile_size": 64, "tile_overlap": 64}},
         r"infer\.tile_overlap=64 must be smaller than infer\.tile_size=64"),
        ({"train": {"clipvalue": 1.0, "clipnorm": 1.0}}, r"clipvalue and train\.clipnorm"),
        ({"train": {"weight_decay": 0.01}}, r"weight_decay=0\.01 applies to optimizer adamw"),
        ({"train": {"lr_schedule": "cosine"}}, r"set train\.reduce_lr_patience = 0"),
        ({"train": {"learning_rate": 1e-4, "min_learning_rate": 1e-3}},
         r"min_learning_rate=0\.001 is above train\.learning_rate=0\.0001"),
        ({"model": {"input_shape": [64, 64, 1]}}, r"has 1 channels but data\.channels is 3"),
        ({"model": {"input_shape": [64, 64, 3]}, "data": {"image_size": [32, 32]}},
         r"input_shape \[64, 64, 3\] disagrees with data\.image_size \[32, 32\]"),
        ({"data": {"image_size": [0, "a"]}}, r"image_size \[0, 'a'\] must be two positive"),
        ({"data": {"class_weights": [1, 2]}}, r"class_weights has 2 values .* 6 classes"),
        ({"data": {"class_weights": {"scratch": 3}}},
         r"names unknown classes \['scratch'\]\. Did you mean: scratch_neck, scratch_head"),
        ({"data": {"class_weights": [1, 1, 1, 1, 1, -1]}}, r"numbers >= 0"),
        ({"data": {"mask_format": "index", "off_palette": "nearest"}},
         r"off_palette = \"nearest\" applies to color masks only"),
        ({"data": {"scale": "unit"}}, r"divides them by 255 again \(model\.input_normalize"),
        ({"train": {"class_weight_correction": 1}},
         r"train\.class_weight_correction is set but data\.class_weights is not"),
        ({"tune": {"class_weight_correction": [0, 0.5]}},
         r"tune\.class_weight_correction is set but data\.class_weights is not"),
        ({"train": {"class_weight_correction": 0.5}, "data": {"class_weights": [0, 1, 1, 1, 1, 1]}},
         r"divides by data\.class_weights, which must then all be positive"),
        ({"tune": {"class_weight_correction": [-0.5]}, "data": {"class_weights": [1] * 6}},
         r"tune\.class_weight_correction: expected a number >= 0"),
        ({"train": {"class_weight_correction": -1}}, r"class_weight_correction"),
    ],
)  # fmt: skip
def test_keys_that_cannot_work_together_are_refused_when_the_config_loads(sections, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(minimal_with(sections))


@pytest.mark.parametrize(
    "sections",
    [
        {"infer": {"tile_size": 64, "tile_overlap": 63}},
        {"train": {"clipnorm": 1.0}},
        {"train": {"optimizer": "adamw", "weight_decay": 0.01}},
        {"train": {"lr_schedule": "cosine", "reduce_lr_patience": 0}},
        {"model": {"input_shape": [32, 32, 3]}, "data": {"image_size": [32, 32]}},
        {"model": {"input_normalize": False}, "data": {"scale": "unit"}},
        {"data": {"mask_format": "index"}},
        {"data": {"class_weights": {"scratch_head": 3}}},
        {"data": {"class_weights": {"scratch_head": 3}}, "train": {"class_weight_correction": 1}},
        {"data": {"class_weights": [1] * 6}, "tune": {"class_weight_correction": [0, 0.5]}},
    ],
)
def test_the_same_keys_load_when_they_agree(sections):
    config_from_dict(minimal_with(sections))
