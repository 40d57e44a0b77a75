"""The synthetic screw dataset: where defects sit, their size, both layouts, seeds."""

import numpy as np
import pytest
from PIL import Image

from flexseg import FlexsegError
from flexseg.cli.data import main as data_tool
from flexseg.data import MaskDecoder, Palette
from flexseg.data.pairs import find_pairs
from flexseg.data.synthetic import DEFECTS, render_sample, write_dataset


@pytest.mark.parametrize("defect", DEFECTS)
def test_defect_class_is_where_it_sits_and_its_size_is_bounded(defect):
    for index in range(6):
        sample = render_sample(128, seed=5, index=index, defect=defect)
        where = sample.labels > 0
        assert set(np.unique(sample.labels)) == {0, DEFECTS.index(defect) + 1}
        assert 0.0005 <= where.mean() <= 0.02
        along, screw = sample.along[where], sample.geometry
        regions = {
            "scratch_head": (0, screw.head_end),
            "scratch_neck": (screw.head_end, screw.neck_end),
            "thread_side": (screw.neck_end, screw.thread_end),
            "thread_top": (screw.neck_end, screw.thread_end),
            "manipulated_front": (screw.thread_end - 2.5, screw.length + 1),
        }
        low, high = regions[defect]
        assert low <= along.min() and along.max() <= high, (defect, along.min(), along.max())


def test_good_samples_have_no_defect():
    sample = render_sample(64, seed=0, index=0, defect="good")
    assert not sample.labels.any() and sample.image.std() > 5


def test_writes_both_layouts_deterministically(tmp_path):
    first = write_dataset(tmp_path / "a", size=64, count=24, seed=3)
    second = write_dataset(tmp_path / "b", size=64, count=24, seed=3)
    write_dataset(tmp_path / "c", size=64, count=24, seed=4)
    assert first.counts == second.counts
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.png"))
    for relative in files:
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()

    def train_images(name):
        return {p.name: p.read_bytes() for p in (tmp_path / name / "train" / "images").iterdir()}

    assert train_images("a") != train_images("c")

    root = tmp_path / "a"
    decoder = MaskDecoder(Palette.load("mvtec_screw"))
    kinds_seen = set()
    for split in ("train", "valid", "test"):
        for pair in find_pairs(root / split):
            labels = decoder.decode_file(pair.mask).labels
            ids = set(np.unique(labels)) - {0}
            assert len(ids) <= 1
            kind = DEFECTS[ids.pop() - 1] if ids else "good"
            kinds_seen.add(kind)
            raw = root / "mvtec_ad" / "screw"
            if kind == "good":
                assert (raw / "train" / "good" / pair.image.name).exists() or (
                    raw / "test" / "good" / pair.image.name
                ).exists()
                continue
            truth = np.asarray(Image.open(raw / "ground_truth" / kind / f"{pair.stem}_mask.png"))
            assert set(np.unique(truth)) <= {0, 255}
            assert np.array_equal(truth > 0, labels > 0)
            raw_image = raw / "test" / kind / pair.image.name
            assert raw_image.read_bytes() == pair.image.read_bytes()
    assert kinds_seen == {kind for part in first.counts.values() for kind in part}
    assert len(kinds_seen) >= 4
    assert 'palette = "mvtec_screw"' in (root / "dataset.toml").read_text()


def test_split_is_stratified_by_defect_type(tmp_path):
    written = write_dataset(tmp_path / "d", size=48, count=60, seed=0)
    for kind in ("good", *DEFECTS):
        total = sum(written.counts[part].get(kind, 0) for part in written.counts)
        if total >= 5:
            assert written.counts["test"].get(kind, 0) >= 1, kind
            assert written.counts["train"].get(kind, 0) >= written.counts["test"].get(kind, 0)


def test_refuses_to_mix_into_an_existing_folder(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(FlexsegError, match="not empty"):
        write_dataset(tmp_path, size=48, count=3)


def test_command_line(tmp_path, capsys):
    assert (
        data_tool(
            "synthetic",
            ["--out", str(tmp_path / "cli"), "--size", "48", "--count", "6", "--seed", "2"],
        )
        == 0
    )
    assert "Wrote" in capsys.readouterr().out
    assert data_tool("synthetic", ["--out", str(tmp_path / "bad"), "--split", "0.5,0.5"]) == 2
    assert "three fractions" in capsys.readouterr().err
