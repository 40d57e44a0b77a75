"""Evaluation scores against hand counts, and the evaluate-folders command."""

import csv
import json
import re

import numpy as np
import pytest
from PIL import Image

from flexseg import FlexsegError
from flexseg.cli.evaluate import main
from flexseg.data import IGNORE_LABEL, Palette, colorize
from flexseg.metrics import SegmentationScores

SCREW = Palette.load("mvtec_screw")


def test_hand_counted_scores_with_a_class_absent_from_both():
    truth = np.array([[0, 0, 0, 1], [0, 2, 2, 1], [0, 2, 2, 0]])
    prediction = np.array([[0, 0, 1, 1], [0, 2, 0, 1], [0, 2, 2, 0]])
    scores = SegmentationScores(["background", "a", "b", "never"])
    scores.update(truth, prediction)
    result = scores.result()
    # background: tp 5, fp 1 (b->bg), fn 1 (bg->a) -> 5/7
    # a: tp 2, fp 1 -> 2/3; b: tp 3, fn 1 -> 3/4
    assert result["iou"][:3] == pytest.approx([5 / 7, 2 / 3, 3 / 4])
    assert result["iou"][3] is None and result["dice"][3] is None
    assert result["dice"][:3] == pytest.approx([10 / 12, 4 / 5, 6 / 7])
    assert result["precision"][:3] == pytest.approx([5 / 6, 2 / 3, 1.0])
    assert result["recall"][:3] == pytest.approx([5 / 6, 1.0, 3 / 4])
    assert result["miou_foreground"] == pytest.approx((2 / 3 + 3 / 4) / 2)
    assert result["miou_all"] == pytest.approx((5 / 7 + 2 / 3 + 3 / 4) / 3)
    assert result["pixel_accuracy"] == pytest.approx(10 / 12)
    assert result["fw_iou"] == pytest.approx(6 / 12 * 5 / 7 + 2 / 12 * 2 / 3 + 4 / 12 * 3 / 4)
    assert result["pixel_counts"] == [6, 2, 4, 0]
    assert result["confusion_matrix"][2] == [1, 0, 3, 0]


def test_all_background_prediction_scores_zero_foreground_miou():
    truth = np.zeros((100, 100), np.uint8)
    truth[10:13, 10:20] = 3  # 0.3% defect pixels, like the screw data
    scores = SegmentationScores(SCREW.names)
    scores.update(truth, np.zeros_like(truth))
    result = scores.result()
    assert result["pixel_accuracy"] == pytest.approx(0.997)  # what the original's metric rewarded
    assert result["miou_foreground"] == 0.0
    assert result["iou"][1] is None  # manipulated_front: absent from both
    assert result["pixel_auroc"] == 0.5


def test_ignored_pixels_are_left_out():
    truth = np.array([[0, 1, IGNORE_LABEL]])
    scores = SegmentationScores(["background", "a"])
    scores.update(truth, np.array([[0, 1, 1]]))
    assert scores.result()["iou"] == [1.0, 1.0]


def brute_force_auroc_ap(labels, scores):
    order = np.argsort(-scores, kind="stable")
    labels, scores = labels[order], scores[order]
    positives, negatives = scores[labels], scores[~labels]
    greater = (positives[:, None] > negatives[None]).mean()
    ties = (positives[:, None] == negatives[None]).mean()
    precisions = []
    for threshold in np.unique(positives):
        chosen = scores >= threshold
        precisions.append((labels[chosen].sum() / chosen.sum(), (positives == threshold).sum()))
    ap = sum(p * n for p, n in precisions) / len(positives)
    return greater + ties / 2, ap


def test_auroc_and_ap_match_their_definitions():
    rng = np.random.default_rng(0)
    truth = (rng.random((50, 50)) < 0.1).astype(np.uint8)
    scores_map = np.clip(rng.normal(0.3 + 0.3 * truth, 0.2), 0, 1)
    scores_map = np.round(scores_map, 4)  # on the 1e-4 grid the streaming histogram uses
    scores = SegmentationScores(["background", "defect"])
    scores.update(truth, (scores_map > 0.5).astype(np.uint8), scores=scores_map)
    result = scores.result()
    auroc, ap = brute_force_auroc_ap(truth.ravel() > 0, scores_map.ravel())
    assert result["pixel_auroc"] == pytest.approx(auroc, abs=1e-9)
    assert result["pixel_ap"] == pytest.approx(ap, abs=1e-9)
    assert result["anomaly_scores"] == "1 - p(background)"


def test_bad_inputs():
    scores = SegmentationScores(["background", "a"])
    with pytest.raises(FlexsegError, match="differ in shape"):
        scores.update(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(FlexsegError, match=r"prediction holds class ids outside 0\.\.1: \[7\]"):
        scores.update(np.zeros((1, 2)), np.array([[0, 7]]))


def write_masks(folder, masks):
    folder.mkdir(parents=True)
    for stem, labels in masks.items():
        Image.fromarray(colorize(np.asarray(labels, np.uint8), SCREW)).save(folder / f"{stem}.png")


def test_evaluate_folders_against_hand_counts(tmp_path, capsys):
    write_masks(tmp_path / "gt", {"a": [[0, 4, 4], [0, 0, 2]], "b": [[0, 0, 0], [3, 3, 0]]})
    write_masks(tmp_path / "pred", {"a": [[0, 4, 0], [0, 0, 2]], "b": [[0, 0, 0], [3, 0, 0]]})
    out = tmp_path / "scores.json"
    code = main([
        "--pred-dir", str(tmp_path / "pred"), "--gt-dir", str(tmp_path / "gt"),
        "--palette", "mvtec_screw", "--json", str(out), "--csv", str(tmp_path / "s.csv"),
        "--plot", str(tmp_path / "confusion.png"),
    ])  # fmt: skip
    assert code == 0
    result = json.loads(out.read_text())
    # thread_side: tp 1, fn 1 -> 1/2; scratch_head: 1/1; scratch_neck: tp 1, fn 1 -> 1/2
    assert result["iou"][4] == 0.5 and result["iou"][2] == 1.0 and result["iou"][3] == 0.5
    assert result["iou"][1] is None and result["iou"][5] is None
    assert result["miou_foreground"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert result["iou"][0] == pytest.approx(7 / 9)  # tp 7, fn 0, fp 2
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert rows[4]["class"] == "thread_side" and float(rows[4]["iou"]) == 0.5
    assert rows[1]["iou"] == ""  # null
    assert Image.open(tmp_path / "confusion.png").size[0] > 300
    assert re.search(r"miou_foreground\s+0\.6667", capsys.readouterr().out)


def test_evaluate_folders_errors(tmp_path, capsys):
    write_masks(tmp_path / "gt", {"a": [[0]], "b": [[0]], "c": [[0]]})
    write_masks(tmp_path / "pred", {"a": [[0]], "x": [[0]]})
    args = ["--pred-dir", str(tmp_path / "pred"), "--gt-dir", str(tmp_path / "gt"),
            "--palette", "mvtec_screw", "--json", str(tmp_path / "o.json")]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "2 ground-truth mask(s) without a prediction: b, c" in err
    assert "1 prediction(s) without a ground-truth mask: x" in err
    assert not (tmp_path / "o.json").exists()
