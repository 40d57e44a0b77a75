"""`python -m flexseg.train CONFIG [--set section.key=value ...]`: train from a config.

Writes into train.run_dir: best.keras (best validation foreground mIoU), last.keras,
history.json, train_losses.csv/.png, train_metrics.csv/.png, epoch_change/epoch_NNN.png and
config.toml. Kill it and rerun the same command: it resumes after the last completed epoch.
"""

from __future__ import annotations

import argparse
import sys

from flexseg.config import load_config
from flexseg.errors import FlexsegError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flexseg.train", description=__doc__)
    parser.add_argument("config", help="TOML config (or the original's train_eval_infer.config)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a config key, e.g. --set train.epochs=3")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, args.set)
        for warning in config.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        from flexseg.training import train

        history = train(config)
    except FlexsegError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    last = history["epochs"][-1]
    score = last.get("val_fg_miou", float("nan"))
    print(f"Trained {last['epoch']} epochs; last val_fg_miou {score:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
