"""Search architectures and their settings with KerasTuner, and report accuracy against cost.

The space is the chosen architectures' own declared spaces (the architecture itself a choice),
the learning rate, the loss and the batch size, as the config's [tune] section says; the
options below override it. Every trial trains as `flexseg train` would (precision, loss,
metrics, callbacks) and is scored by its best validation foreground mIoU; its parameters,
MACs and latency are measured, and --constraint budgets are held before it trains (latency is
timed on the built model). Writes into --out (default train.run_dir/tuning): trials.csv, trials.png,
pareto.csv, pareto.png, best.toml (trains from any folder), best.keras and report.md. Rerun
the same command after an interruption: finished trials are kept and the search goes on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flexseg.cli import common
from flexseg.config.schema import OBJECTIVES, TUNERS
from flexseg.toml_text import toml_value

DESCRIPTION = __doc__
EPILOG = """examples:
  flexseg tune run.toml --architectures flexunet,unet,attention_unet --max-trials 12 --epochs 5
  flexseg tune run.toml --constraint params<=2e6 --constraint latency_ms<=50 --time-budget 30
  flexseg tune run.toml --start-from-config --max-trials 12   # trial 0: the config's own model
  flexseg train runs/default/tuning/best.toml"""


def configure(parser: argparse.ArgumentParser) -> None:
    common.add_config_argument(parser, "TOML config (or the original's train_eval_infer.config)")
    option = parser.add_argument
    option("--architectures", help="comma-separated, e.g. flexunet,unet (default: model.name's)")
    option("--tuner", "--algorithm", dest="tuner", choices=TUNERS, help="default: random")
    option("--max-trials", "--trials", dest="max_trials", type=int, help="default: 10")
    option("--epochs", type=int, help="epochs per trial (default: 5)")
    option(
        "--executions-per-trial",
        type=int,
        metavar="N",
        help="train each trial N times, scored by the mean: one run's score is noisy (default: 1)",
    )
    option(
        "--time-budget", type=float, metavar="MINUTES", help="start no trial that would end later"
    )
    option("--objective", choices=tuple(OBJECTIVES), help="default: val_fg_miou")
    option(
        "--constraint",
        action="append",
        dest="constraints",
        metavar="MEASURE<=N",
        help="a budget on params, macs or latency_ms, e.g. params<=2e6 (repeatable)",
    )
    option(
        "--start-from-config",
        action="store_const",
        const=True,
        help="make the first trial the config's own model and training: the baseline to beat",
    )
    option("--out", type=Path, help="default: train.run_dir/tuning")
    common.add_verbose_argument(parser)


def tune_overrides(args: argparse.Namespace) -> list[str]:
    """The options given, as --set overrides of [tune] (they win over the config's values)."""
    values = {
        "architectures": args.architectures and [a for a in args.architectures.split(",") if a],
        "tuner": args.tuner,
        "max_trials": args.max_trials,
        "epochs": args.epochs,
        "executions_per_trial": args.executions_per_trial,
        "time_budget": args.time_budget,
        "objective": args.objective,
        "constraints": args.constraints,
        "start_from_config": args.start_from_config,
    }
    return [f"tune.{key}={toml_value(value)}" for key, value in values.items() if value is not None]


def run(args: argparse.Namespace) -> int:
    args.set = [*args.set, *tune_overrides(args)]
    config = common.load_config(args)
    from flexseg.tune import tune

    best = tune(config, out=args.out)
    out = args.out or config.run_dir / "tuning"
    if best.get("role") == "worker":
        print(f"Worker {best['worker']} ran trials {', '.join(best['trials']) or 'none'}; "
              "the chief writes the results.")  # fmt: skip
        return 0
    print(
        f"Best trial {best['trial']} ({best['architecture']}): {config.tune['objective']} "
        f"{best['score']:.4f}, {best['params']:,} parameters, {best['latency_ms']:.1f} ms per "
        f"image. Report: {out / 'report.md'}; train it: flexseg train {out / 'best.toml'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    return common.standalone(sys.modules[__name__], argv, "python -m flexseg.tune")
