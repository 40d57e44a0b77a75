"""Synthetic data -> train -> evaluate -> infer -> report, on a CPU in minutes.

Generates the synthetic screw-defect dataset, trains the CPU-sized FlexUNet preset
`flexunet_cpu_demo`, scores it on the held-out test split, predicts the test images, and
writes a report, all on the backend that KERAS_BACKEND names. Everything lands under one
folder (default runs/demo):

    data/{train,valid,test}/{images,masks}   the dataset (plus its MVTec AD layout)
    demo.toml                                the config; rerun any step with it
    run/                                     checkpoints, logs, curves (train.run_dir)
    predictions/                             colorized test predictions, named like the masks
    samples/                                 image | ground truth | prediction panels
    evaluation.json                          the test scores
    report.md                                metrics table, curves, samples, timings

The folder is written as <out>.incomplete and renamed when done, so a folder named <out>
always holds a finished demo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flexseg.cli import common

DESCRIPTION = __doc__
EPILOG = """example (a quick look):
  flexseg demo --out /tmp/demo --count 30 --size 64 --epochs 1"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="default runs/demo")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing demo")
    parser.add_argument("--size", type=int, default=128, help="image side (default 128)")
    parser.add_argument("--count", type=int, default=400, help="images (default 400)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    parser.add_argument(
        "--minutes", type=float, default=8.5, help="training stops after this (default 8.5)"
    )
    parser.add_argument("--seed", type=int, default=0, help="data and training seed")
    common.add_verbose_argument(parser)


def run(args: argparse.Namespace) -> int:
    from flexseg.demo import run_demo

    run_demo(
        args.out,
        size=args.size,
        count=args.count,
        epochs=args.epochs,
        minutes=args.minutes,
        seed=args.seed,
        overwrite=args.overwrite,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    return common.standalone(sys.modules[__name__], argv, "python -m flexseg.demo")
