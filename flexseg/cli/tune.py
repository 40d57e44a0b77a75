"""Search architecture settings and the learning rate with KerasTuner.

KerasTuner varies the architecture's declared search space (FlexUNet: base filters, depth,
kernel size, dropout, batch norm) and the learning rate; everything else comes from CONFIG,
and every trial trains as `flexseg train` would (precision, loss, metrics, callbacks). Each
trial is scored by its best validation foreground mIoU. Writes into --out (default
train.run_dir/tuning): trials.csv, trials.png, best.json, and best.toml, the config with the
best settings, ready for `flexseg train`. Rerun the same command after an interruption:
finished trials are kept and the search goes on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flexseg.cli import common
from flexseg.tune import ALGORITHMS

DESCRIPTION = __doc__


def configure(parser: argparse.ArgumentParser) -> None:
    common.add_config_argument(parser, "TOML config (or the original's train_eval_infer.config)")
    parser.add_argument("--trials", type=int, default=10, help="trials (default 10; not hyperband)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per trial (default 5)")
    parser.add_argument("--algorithm", default="random", choices=ALGORITHMS)
    parser.add_argument("--out", type=Path, help="default: train.run_dir/tuning")
    common.add_verbose_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = common.load_config(args)
    from flexseg.tune import tune

    best = tune(config, trials=args.trials, epochs=args.epochs, algorithm=args.algorithm,
                out=args.out)  # fmt: skip
    shown = ", ".join(f"{k}={v}" for k, v in best.items() if k not in ("trial", "score"))
    print(f"Best trial {best['trial']}: val_fg_miou {best['score']:.4f} with {shown}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return common.standalone(sys.modules[__name__], argv, "python -m flexseg.tune")
