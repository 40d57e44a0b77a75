"""Score a trained run (CONFIG), or folders of masks (--pred-dir/--gt-dir).

Config mode scores train.run_dir/best.keras on eval.split (default test), with anomaly scores
1 - p(background), and writes evaluation.json, evaluation.csv and confusion_matrix.png into the
run folder. Folders mode scores any tool's colorized predictions against ground-truth masks,
pairing files by stem, and writes --json (and on request --csv and --plot). The headline is
miou_foreground: background is left out, so defects cannot hide behind background pixels."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flexseg.cli import common

DESCRIPTION = __doc__
EPILOG = """examples:
  flexseg evaluate run.toml
  flexseg evaluate run.toml --set eval.split=valid --set train.class_weight_correction=0.5
  flexseg evaluate --pred-dir PRED --gt-dir GT --palette mvtec_screw --json OUT.json"""
FOLDER_OPTIONS = ("pred_dir", "gt_dir", "palette", "json")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="the run's TOML config (config mode)")
    common.add_set_argument(parser)
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
    parser.set_defaults(usage_error=parser.error)
    common.add_verbose_argument(parser)


def run(args: argparse.Namespace) -> int:
    folders = [getattr(args, key) for key in FOLDER_OPTIONS]
    if args.config is not None and any(folders):
        args.usage_error("give either CONFIG or --pred-dir/--gt-dir/--palette/--json, not both")
    if args.config is None and not all(folders):
        args.usage_error(
            "folders mode needs --pred-dir, --gt-dir, --palette and --json (or give CONFIG)"
        )
    from flexseg.metrics.report import format_table

    if args.config is not None:
        from flexseg.evaluate.trained import evaluate_run

        print(format_table(evaluate_run(common.load_config(args), args.checkpoint)))
        return 0
    from flexseg.data.palette import Palette
    from flexseg.evaluate.folders import evaluate_folders
    from flexseg.metrics.report import plot_confusion, write_csv
    from flexseg.outputs import write_text_atomically

    result = evaluate_folders(
        args.pred_dir, args.gt_dir, Palette.load(args.palette), args.off_palette
    )
    write_text_atomically(args.json, json.dumps(result, indent=2) + "\n")
    if args.csv:
        write_csv(result, args.csv)
    if args.plot:
        plot_confusion(result, args.plot)
    print(format_table(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    return common.standalone(sys.modules[__name__], argv, "python -m flexseg.evaluate")
