"""`python -m flexseg.evaluate`: score segmentations with one confusion matrix per split.

Config mode scores a trained run (train.run_dir/best.keras) on eval.split (default test),
with anomaly scores 1 - p(background), and writes evaluation.json, evaluation.csv and
confusion_matrix.png into the run folder:

    python -m flexseg.evaluate run.toml

Folders mode scores any tool's colorized predictions against ground-truth masks, pairing
files by stem:

    python -m flexseg.evaluate --pred-dir PRED --gt-dir GT --palette mvtec_screw --json OUT.json

Writes OUT.json (keys: classes, iou, dice, precision, recall, pixel_counts, miou_foreground,
miou_all, pixel_accuracy, fw_iou, confusion_matrix, pixel_auroc, pixel_ap), and on request a
per-class CSV (--csv) and a confusion-matrix PNG (--plot). The headline is miou_foreground:
background is left out, so defects cannot hide behind background pixels.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import keras

from flexseg.config import Config, load_config
from flexseg.data.dataset import SegmentationDataset
from flexseg.data.masks import MaskDecoder
from flexseg.data.outputs import write_text_atomically
from flexseg.data.pairs import SHOWN
from flexseg.data.palette import Palette
from flexseg.errors import FlexsegError
from flexseg.metrics import SegmentationScores
from flexseg.metrics.report import format_table, plot_confusion, write_csv


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


def evaluate_run(config: Config, checkpoint: str | Path | None = None) -> dict:
    """Score a trained model on eval.split; writes the reports into the run folder."""
    run_dir = config.path(config.train["run_dir"])
    checkpoint = Path(checkpoint) if checkpoint else run_dir / "best.keras"
    if not checkpoint.is_file():
        raise FlexsegError(
            f"{checkpoint}: no checkpoint; train first (python -m flexseg.train CONFIG) or "
            "pass --checkpoint."
        )
    model = keras.models.load_model(checkpoint, compile=False)
    palette = config.palette()
    palette.check_num_classes(model.output_shape[-1])
    data = config.data
    height, width = model.input_shape[1:3]
    size = (height, width) if height and width else data["image_size"]
    split = SegmentationDataset(
        config.path(data["root"]), palette, split=config.eval["split"],
        image_size=tuple(size) if size else None, batch_size=config.eval["batch_size"],
        channels=data["channels"], scale=data["scale"], labels="sparse",
        mask_format=data["mask_format"], off_palette=data["off_palette"],
    )  # fmt: skip
    scores = SegmentationScores(palette.names)
    for index in range(len(split)):
        images, labels = split[index][:2]
        probabilities = keras.ops.convert_to_numpy(model.predict_on_batch(images))
        scores.update(labels, probabilities.argmax(-1), scores=1.0 - probabilities[..., 0])
    result = scores.result()
    result["checkpoint"] = str(checkpoint)
    result["split"] = config.eval["split"]
    write_text_atomically(run_dir / "evaluation.json", json.dumps(result, indent=2) + "\n")
    write_csv(result, run_dir / "evaluation.csv")
    plot_confusion(result, run_dir / "confusion_matrix.png")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flexseg.evaluate",
        description="Score a trained run (CONFIG), or folders of masks (--pred-dir/--gt-dir).",
    )
    parser.add_argument("config", nargs="?", help="the run's TOML config (config mode)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--checkpoint", type=Path, help="model file (default run_dir/best.keras)")
    parser.add_argument("--pred-dir", type=Path, help="folder of predicted masks")
    parser.add_argument("--gt-dir", type=Path, help="ground-truth masks (or a split folder)")
    parser.add_argument("--palette", help="palette preset, TOML or ini file")
    parser.add_argument("--json", type=Path, help="write the scores here")
    parser.add_argument("--csv", type=Path, help="write the per-class table here")
    parser.add_argument("--plot", type=Path, help="write the confusion-matrix PNG here")
    parser.add_argument(
        "--off-palette",
        choices=("error", "nearest", "ignore"),
        default="error",
        help="colors that are neither a palette color nor a blend of two (default: error)",
    )
    args = parser.parse_args(argv)
    folders = (args.pred_dir, args.gt_dir, args.palette, args.json)
    if args.config is not None:
        if any(folders):
            parser.error("give either CONFIG or --pred-dir/--gt-dir/--palette/--json, not both")
        try:
            result = evaluate_run(load_config(args.config, args.set), args.checkpoint)
        except FlexsegError as error:
            print(f"{parser.prog}: {error}", file=sys.stderr)
            return 2
        print(format_table(result))
        return 0
    if not all(folders):
        parser.error(
            "folders mode needs --pred-dir, --gt-dir, --palette and --json (or give CONFIG)"
        )
    try:
        result = evaluate_folders(
            args.pred_dir, args.gt_dir, Palette.load(args.palette), args.off_palette
        )
    except FlexsegError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    write_text_atomically(args.json, json.dumps(result, indent=2) + "\n")
    if args.csv:
        write_csv(result, args.csv)
    if args.plot:
        plot_confusion(result, args.plot)
    print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
