"""Dataset statistics: counts checked by hand on tiny masks, both ROOT kinds, the plot."""

import json

import numpy as np
from PIL import Image

from flexseg.cli.data import main as data_tool
from flexseg.data import Palette, colorize

SCREW = Palette.load("mvtec_screw")


def write(split, stem, labels, off_palette=0):
    for sub in ("images", "masks"):
        (split / sub).mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros(labels.shape, np.uint8)).save(split / "images" / f"{stem}.png")
    mask = colorize(labels, SCREW)
    mask[0, :off_palette] = (200, 40, 180)
    Image.fromarray(mask).save(split / "masks" / f"{stem}.png")


def test_counts_per_split(tmp_path):
    a = np.zeros((10, 10), np.uint8)
    a[0:2, 0:3] = 4  # 6 thread_side pixels
    b = np.zeros((10, 10), np.uint8)
    b[5, 5] = 2
    b[6, 6] = 4
    write(tmp_path / "train", "a", a)
    write(tmp_path / "train", "b", b, off_palette=0)
    write(tmp_path / "test", "c", np.zeros((10, 10), np.uint8), off_palette=3)
    out = tmp_path / "stats.json"
    plot = tmp_path / "stats.png"
    assert (
        data_tool(
            "stats",
            [str(tmp_path), "--palette", "mvtec_screw", "--json", str(out), "--plot", str(plot)],
        )
        == 0
    )
    stats = json.loads(out.read_text())
    assert stats["classes"] == list(SCREW.names)
    train = stats["splits"]["train"]
    assert train["images"] == 2 and train["off_palette_pixels"] == 0
    assert train["pixel_counts"]["thread_side"] == 7 and train["pixel_counts"]["scratch_head"] == 1
    assert train["pixel_counts"]["background"] == 200 - 8
    assert train["images_with_class"] == {
        "background": 2,
        "manipulated_front": 0,
        "scratch_head": 1,
        "scratch_neck": 0,
        "thread_side": 2,
        "thread_top": 0,
    }
    test = stats["splits"]["test"]
    assert test["off_palette_pixels"] == 3 and test["pixel_counts"]["background"] == 97
    assert test["off_palette_by_nearest_class"]["scratch_head"] == 3
    assert set(stats["splits"]) == {"train", "test"}
    assert Image.open(plot).size[0] > 300


def test_a_single_split_folder_is_named_after_itself(tmp_path):
    write(tmp_path / "holdout", "x", np.ones((4, 4), np.uint8))
    out = tmp_path / "s.json"
    assert (
        data_tool(
            "stats", [str(tmp_path / "holdout"), "--palette", "mvtec_screw", "--json", str(out)]
        )
        == 0
    )
    stats = json.loads(out.read_text())
    assert list(stats["splits"]) == ["holdout"]
    assert stats["splits"]["holdout"]["pixel_counts"]["manipulated_front"] == 16


def test_not_a_dataset(tmp_path, capsys):
    assert (
        data_tool(
            "stats", [str(tmp_path), "--palette", "mvtec_screw", "--json", str(tmp_path / "s.json")]
        )
        == 2
    )
    assert "neither a split folder" in capsys.readouterr().err
