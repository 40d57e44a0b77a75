"""The offline augmentation tool: names, class-index transforms, test untouched."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from flexseg import FlexsegError
from flexseg.cli.data import main as data_tool
from flexseg.data import MaskDecoder, Palette, colorize
from flexseg.data.augment import augment_dataset, build_transforms
from flexseg.data.pairs import find_pairs

SCREW = Palette.load("mvtec_screw")


def dataset(root):
    for part in ("train", "valid", "test"):
        for sub in ("images", "masks"):
            (root / part / sub).mkdir(parents=True)
        labels = np.zeros((40, 40), np.uint8)
        labels[5:15, 8:30] = 4
        labels[22:35, 20:26] = 2
        image = (labels * 40 + 20).astype(np.uint8)
        Image.fromarray(image).save(root / part / "images" / "s1.png")
        Image.fromarray(colorize(labels, SCREW)).save(root / part / "masks" / "s1.png")
    return root


def transforms():
    return build_transforms(
        ["hflip", "vflip", "rotate", "shrink", "shear", "elastic", "barrel"],
        angles=[30, 90],
        shrink_ratios=[0.8],
        shear_factors=[0.2],
        elastic_count=1,
        elastic_alpha=4,
        elastic_sigma=4,
        barrel_ks=[0.3],
        seed=0,
    )


def test_names_class_index_masks_and_an_untouched_test_split(tmp_path):
    source = dataset(tmp_path / "in")
    counts = augment_dataset(source, tmp_path / "out", SCREW, transforms())
    assert counts == {"train": 9, "valid": 9, "test": 1}
    names = sorted(p.name for p in (tmp_path / "out" / "train" / "images").iterdir())
    assert names == sorted([
        "s1.png", "hflipped_s1.png", "vflipped_s1.png", "rotated_30_s1.png", "rotated_90_s1.png",
        "shrunk_0.8_s1.png", "sheared_0.2_s1.png", "elastic_0_s1.png", "barrel_0.3_s1.png",
    ])  # fmt: skip
    assert [p.stem for p in find_pairs(tmp_path / "out" / "test")] == ["s1"]
    decoder = MaskDecoder(SCREW)  # off_palette="error": any new color would raise
    for pair in find_pairs(tmp_path / "out" / "train"):
        decoded = decoder.decode_file(pair.mask)
        assert decoded.blended_pixels == 0
        assert set(np.unique(decoded.labels)) <= {0, 2, 4}
        image = np.asarray(Image.open(pair.image)).astype(float)
        agree = np.rint((image - 20) / 40) == decoded.labels
        assert agree.mean() > 0.9, pair.stem  # image and mask moved together
    flipped = decoder.decode_file(tmp_path / "out" / "train" / "masks" / "hflipped_s1.png").labels
    original = decoder.decode_file(source / "train" / "masks" / "s1.png").labels
    assert np.array_equal(flipped, original[:, ::-1])


def test_test_split_is_refused_and_bad_options_named(tmp_path, capsys):
    source = dataset(tmp_path / "in")
    with pytest.raises(FlexsegError, match="test split is never augmented"):
        augment_dataset(source, tmp_path / "o", SCREW, transforms(), splits=("train", "test"))
    with pytest.raises(FlexsegError, match=r"unknown operation\(s\) \['twirl'\]"):
        build_transforms(
            ["twirl"],
            angles=[],
            shrink_ratios=[],
            shear_factors=[],
            elastic_count=0,
            elastic_alpha=1,
            elastic_sigma=1,
            barrel_ks=[],
            seed=0,
        )
    code = data_tool(
        "augment",
        [
            "--in",
            str(source),
            "--out",
            str(tmp_path / "cli"),
            "--palette",
            "mvtec_screw",
            "--ops",
            "hflip,rotate",
            "--angles",
            "90",
        ],
    )
    assert code == 0 and "train 3 images" in capsys.readouterr().out


def test_augmented_data_describes_itself_and_the_tools_read_its_palette(tmp_path):
    from flexseg.data.synthetic import write_dataset

    root = write_dataset(tmp_path / "screws", size=32, count=6, seed=0).root
    out = tmp_path / "augmented"
    for command in (
        ["augment", "--in", str(root), "--out", str(out), "--ops", "hflip"],  # no --palette
        ["stats", str(out), "--json", str(tmp_path / "stats.json")],
    ):
        result = subprocess.run([sys.executable, "-m", "flexseg", "data", *command],
                                capture_output=True, text=True)  # fmt: skip
        assert result.returncode == 0, result.stderr
    assert Palette.load(out) == Palette.load("mvtec_screw")
    assert "augmented_from" in (out / "dataset.toml").read_text()
