"""Train from a config (TOML, or the original's train_eval_infer.config).

Writes into train.run_dir: best.keras (best validation foreground mIoU), last.keras,
history.json, train_losses.csv/.png, train_metrics.csv/.png, epoch_change/epoch_NNN.png and
config.toml. Kill it and rerun the same command: it resumes after the last completed epoch."""

from __future__ import annotations

import argparse
import sys

from flexseg.cli import common

DESCRIPTION = __doc__


def configure(parser: argparse.ArgumentParser) -> None:
    common.add_config_argument(parser, "TOML config (or the original's train_eval_infer.config)")
    common.add_verbose_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = common.load_config(args)
    from flexseg.train import train

    history = train(config)
    last = history["epochs"][-1]
    score = last.get("val_fg_miou", float("nan"))
    print(f"Trained {last['epoch']} epochs; last val_fg_miou {score:.4f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return common.standalone(sys.modules[__name__], argv, "python -m flexseg.train")
