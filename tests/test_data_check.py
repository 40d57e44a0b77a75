"""Bad data is found before training starts, all of it at once: flexseg data check, and the
same check in flexseg train."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from flexseg.config import config_from_dict
from flexseg.data.check import DataError, check_dataset
from flexseg.data.palette import Palette
from flexseg.data.synthetic import write_dataset
from flexseg.train import train


@pytest.fixture
def root(tmp_path):
    return write_dataset(tmp_path / "screws", size=32, count=15, seed=0).root


def masks(root, split):
    return sorted((root / split / "masks").iterdir())


def spoil(root):
    """Five problems of four kinds in three splits; the last training mask among them."""
    last = masks(root, "train")[-1]
    pixels = np.array(Image.open(last))
    pixels[:3, :3] = (12, 200, 3)  # a color of no class
    Image.fromarray(pixels).save(last)
    image = root / "train" / "images" / masks(root, "train")[0].name
    image.write_bytes(image.read_bytes()[:200])  # truncated: the header reads, pixels do not
    Image.fromarray(np.zeros((20, 32, 3), np.uint8)).save(masks(root, "valid")[0])
    masks(root, "test")[0].unlink()
    (root / "test" / "images" / "notes.txt").write_text("x")


def test_every_problem_is_reported_in_one_message(root):
    screw = Palette.load("mvtec_screw")
    assert check_dataset(root, screw).ok
    spoil(root)
    report = check_dataset(root, screw)
    assert report.problem_count == 5
    text = report.message()
    assert "train: 1 mask(s) with colors of no class: " in text and "e.g. (12, 200, 3)" in text
    assert "train: 1 image(s) that do not decode" in text
    assert "valid: 1 pair(s) whose mask size differs from the image" in text
    assert "test: 1 image(s) without a mask" in text and "unsupported type" in text
    with pytest.raises(DataError, match="5 problem"):
        report.raise_on_problems()
    assert check_dataset(root, screw, splits=["valid"]).problem_count == 1


def test_the_command_exits_2_with_the_report(root):
    command = [sys.executable, "-m", "flexseg", "data", "check", str(root)]
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    spoil(root)
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2
    assert "5 problem(s)" in result.stderr and "colors of no class" in result.stderr


def test_training_stops_before_its_first_step_and_writes_nothing(root, tmp_path):
    spoil(root)
    config = config_from_dict({
        "model": {"name": "flexunet", "base_filters": 2, "num_layers": 2},
        "data": {"root": str(root)},  # the palette from the dataset's dataset.toml
        "train": {"epochs": 1, "run_dir": str(tmp_path / "run")},
    })  # fmt: skip
    with pytest.raises(DataError, match=r"problem\(s\) in the data") as error:
        train(config, verbose=0)
    assert "colors of no class" in str(error.value)  # the last mask of the split is checked
    assert not (tmp_path / "run").exists()
