"""Score any tool's colorized predictions against ground-truth masks, pairing files by stem.

The result holds classes, per-class iou, dice, precision, recall and pixel_counts,
miou_foreground, miou_all, pixel_accuracy, fw_iou, confusion_matrix, pixel_auroc and pixel_ap
(`flexseg.metrics.SegmentationScores`). The headline is miou_foreground: background is left
out, so defects cannot hide behind background pixels.
"""

from __future__ import annotations

from pathlib import Path

from flexseg.data.masks import MaskDecoder
from flexseg.data.pairs import SHOWN
from flexseg.data.palette import Palette
from flexseg.errors import FlexsegError
from flexseg.metrics import SegmentationScores


def pair_masks(pred_dir: Path, gt_dir: Path) -> list[tuple[Path, Path]]:
    """(prediction, ground truth) pairs by stem; unpaired files on either side are an error."""
    if (gt_dir / "masks").is_dir():
        gt_dir = gt_dir / "masks"
    found = {}
    for label, folder in (("prediction", pred_dir), ("ground-truth", gt_dir)):
        if not folder.is_dir():
            raise FlexsegError(f"{folder}: {label} folder not found.")
        found[label] = {p.stem: p for p in sorted(folder.glob("*.png"))}
        if not found[label]:
            raise FlexsegError(f"{folder}: no .png {label} masks.")
    predictions, truths = found["prediction"], found["ground-truth"]
    problems = []
    for what, stems in (
        ("ground-truth mask(s) without a prediction", sorted(set(truths) - set(predictions))),
        ("prediction(s) without a ground-truth mask", sorted(set(predictions) - set(truths))),
    ):
        if stems:
            more = f" and {len(stems) - SHOWN} more" if len(stems) > SHOWN else ""
            problems.append(f"{len(stems)} {what}: {', '.join(stems[:SHOWN])}{more}")
    if problems:
        raise FlexsegError(
            f"{pred_dir} vs {gt_dir}: files pair by stem; " + "; ".join(problems) + "."
        )
    return [(predictions[stem], truths[stem]) for stem in sorted(truths)]


def evaluate_folders(
    pred_dir: str | Path, gt_dir: str | Path, palette: Palette, off_palette: str = "error"
) -> dict:
    """Score every prediction against its ground truth; returns the JSON-ready result."""
    scores = SegmentationScores(palette.names)
    truth_decoder = MaskDecoder(palette, off_palette=off_palette)
    prediction_decoder = MaskDecoder(palette, off_palette=off_palette)
    for prediction, truth in pair_masks(Path(pred_dir), Path(gt_dir)):
        expected = truth_decoder.decode_file(truth).labels
        predicted = prediction_decoder.decode_file(prediction).labels
        if predicted.shape != expected.shape:
            raise FlexsegError(
                f"{prediction}: prediction is {predicted.shape[1]}x{predicted.shape[0]} but its "
                f"ground truth {truth} is {expected.shape[1]}x{expected.shape[0]}."
            )
        scores.update(expected, predicted)
    return scores.result()
