"""MVTec AD conversion on a small MVTec-layout tree written by the test."""

import tomllib

import numpy as np
import pytest
from PIL import Image

from flexseg import FlexsegError
from flexseg.cli.data import main as data_tool
from flexseg.data import MaskDecoder, Palette
from flexseg.data.mvtec import convert
from flexseg.data.pairs import find_pairs

DEFECTS = ("manipulated_front", "scratch_head", "thread_top")


def mvtec_tree(root, per_defect=5, good=4, size=32):
    category = root / "screw"
    rng = np.random.default_rng(0)
    for index in range(good):
        path = category / "test" / "good" / f"{index:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(path)
    for defect in DEFECTS:
        for index in range(per_defect):
            image = category / "test" / defect / f"{index:03d}.png"
            mask = category / "ground_truth" / defect / f"{index:03d}_mask.png"
            image.parent.mkdir(parents=True, exist_ok=True)
            mask.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(image)
            binary = np.zeros((size, size), np.uint8)
            binary[index : index + 4, 5:9] = 255
            Image.fromarray(binary).save(mask)
    (category / "train" / "good").mkdir(parents=True)
    return root


def test_converts_with_colorized_masks_and_a_stratified_split(tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    counts = convert(root, "screw", tmp_path / "out", include_good=True, seed=1)
    palette = Palette.load("mvtec_screw")
    decoder = MaskDecoder(palette)
    for defect in DEFECTS:
        assert counts["train"][defect] == 3 and counts["valid"][defect] == 1
        assert counts["test"][defect] == 1
    assert sum(c["good"] for c in counts.values()) == 4
    seen_sources = set()
    for part in ("train", "valid", "test"):
        for pair in find_pairs(tmp_path / "out" / part):
            kind, number = pair.stem.rsplit("_", 1)
            assert (kind, number) not in seen_sources  # each source image in exactly one split
            seen_sources.add((kind, number))
            labels = decoder.decode_file(pair.mask).labels
            source = root / "screw" / "test" / kind / f"{number}.png"
            assert pair.image.read_bytes() == source.read_bytes()
            if kind == "good":
                assert not labels.any()
                continue
            truth = np.asarray(
                Image.open(root / "screw" / "ground_truth" / kind / f"{number}_mask.png")
            )
            assert np.array_equal(labels > 0, truth > 0)
            assert set(np.unique(labels)) == {0, palette.names.index(kind)}
    assert len(seen_sources) == 19
    provenance = tomllib.loads((tmp_path / "out" / "dataset.toml").read_text())
    assert provenance["category"] == "screw" and provenance["split_seed"] == 1
    assert provenance["counts"]["test"]["scratch_head"] == 1
    assert len(provenance["classes"]) == 6


def test_good_images_only_on_request(tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    counts = convert(root, "screw", tmp_path / "out")
    assert sum(c["good"] for c in counts.values()) == 0


def test_errors_name_what_is_wrong(tmp_path):
    root = mvtec_tree(tmp_path / "mvtec")
    (root / "screw" / "ground_truth" / "thread_top" / "002_mask.png").unlink()
    with pytest.raises(
        FlexsegError, match=r"1 defect image\(s\) without a ground_truth mask: thread_top/002\.png"
    ):
        convert(root, "screw", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written
    with pytest.raises(FlexsegError, match="category folder not found"):
        convert(root, "bottle", tmp_path / "out2")
    (root / "screw" / "test" / "bent").mkdir()
    with pytest.raises(FlexsegError, match=r"defect folder\(s\) \['bent'\] are not classes"):
        convert(root, "screw", tmp_path / "out3")


def test_refuses_a_non_empty_output(tmp_path, capsys):
    root = mvtec_tree(tmp_path / "mvtec")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("old results")
    code = data_tool(
        "mvtec", ["--root", str(root), "--category", "screw", "--out", str(tmp_path / "out")]
    )
    assert code == 2 and "not empty" in capsys.readouterr().err
    assert (tmp_path / "out" / "keep.txt").read_text() == "old results"
