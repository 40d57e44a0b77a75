"""`python -m flexseg.tune CONFIG [--trials N] [--epochs E] [--algorithm A]`: search settings.

KerasTuner varies the architecture's declared search space (FlexUNet: base filters, depth,
kernel size, dropout, batch norm) and the learning rate; everything else comes from CONFIG.
Each trial is scored by its best validation foreground mIoU. Writes into --out (default
train.run_dir/tuning): trials.csv, trials.png, best.json, and best.toml, the config with the
best settings, ready for `python -m flexseg.train`. Rerun the same command after an
interruption: finished trials are kept and the search goes on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flexseg.config import load_config
from flexseg.errors import FlexsegError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flexseg.tune", description=__doc__)
    parser.add_argument("config", help="TOML config (or the original's train_eval_infer.config)")
    parser.add_argument("--trials", type=int, default=10, help="trials (default 10; not hyperband)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per trial (default 5)")
    parser.add_argument(
        "--algorithm", default="random", choices=("random", "bayesian", "hyperband")
    )
    parser.add_argument("--out", type=Path, help="default: train.run_dir/tuning")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a config key, e.g. --set train.batch_size=4")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, args.set)
        from flexseg.training.tuning import tune

        best = tune(
            config, trials=args.trials, epochs=args.epochs, algorithm=args.algorithm, out=args.out
        )
    except FlexsegError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    shown = ", ".join(f"{k}={v}" for k, v in best.items() if k not in ("trial", "score"))
    print(f"Best trial {best['trial']}: val_fg_miou {best['score']:.4f} with {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
