"""What `train.class_weight_correction` gains on the demo's recipe, scored on the test split.

    python -m benchmarks.class_weight_correction \\
        --json benchmarks/results/class_weight_correction_cpu.json \\
        --markdown benchmarks/results/class_weight_correction_cpu.md
    python -m benchmarks.class_weight_correction --smoke   # every step on a tiny dataset
    python -m benchmarks.class_weight_correction --redraw RESULT.json --markdown RESULT.md

The demo weighs each defect class 30 times the background in its cross-entropy, so that a
rare class is found at all, and the trained model's probabilities lean toward the defects
by the same factor. The correction divides the probabilities by the class weights raised to
a strength t at inference only.

1. Writes the demo's synthetic dataset (--count images of --size, seed --seed).
2. Trains the demo preset `flexunet_cpu_demo` with the demo's recipe for --epochs with each of
   --seeds (no correction: it changes nothing in training).
3. Loads each trained model with every --strengths value (the correction has no weights:
   `RunSetup.trained_model` rebuilds the checkpoint with the config's) and scores the
   validation split with flexseg's evaluator.
4. Chooses the one strength with the best mean validation fg mIoU over the seeds (the test
   split unseen until now), then scores the test split without and with it: the per-seed
   gap, its mean and 95% interval. The correction is one multiply per pixel; the models'
   ms/image are timed in turn anyway.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import describe_machine, publish
from benchmarks.paired import timed_in_turn
from benchmarks.seeds import float_list, seed_list, spread_text, summarize
from benchmarks.tune import recipe

OUTPUTS = ("json", "markdown", "redraw")  # options that are not settings of the run


def strength_list(text: str) -> list[float]:
    """`--strengths 0,0.5,1`: distinct numbers >= 0, 0 (no correction) among them."""
    values = float_list(text)
    if 0.0 not in values:
        raise argparse.ArgumentTypeError(f"{text!r}: 0 must be among the strengths")
    return values


def corrected(config: dict, strength: float):
    """`config`'s trained model with the correction `strength` (it has no weights:
    `RunSetup.trained_model` gives the checkpoint the config's correction)."""
    from flexseg.config import config_from_dict
    from flexseg.run.setup import RunSetup

    again = copy.deepcopy(config)
    again["train"]["class_weight_correction"] = strength
    return RunSetup(config_from_dict(again)).trained_model()


def preset_config(root: Path, run_dir: Path, epochs: int, seed: int, size: int) -> dict:
    """The demo preset `flexunet_cpu_demo` with the demo's recipe on `root`, at `size`."""
    config = recipe(root, run_dir, epochs, seed)
    config["model"] = {"name": "flexunet_cpu_demo", "input_shape": [size, size, 3]}
    return config


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The data, epochs, seeds, smoke and output options of the correction benchmarks."""
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=24, help="as benchmarks.tune's runs")
    parser.add_argument("--seed", type=int, default=0, help="of the data")
    parser.add_argument("--seeds", type=seed_list, default=[0, 1, 2], help="training seeds")
    parser.add_argument("--smoke", action="store_true", help="tiny, to test every step")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--redraw", type=Path, metavar="JSON", help="no run: the table again")


def run_or_redraw(args: argparse.Namespace, run, table) -> int:
    """`run(args, scratch folder)` and publish its report with `table`, or with --redraw only
    write the table again from a result's JSON."""
    if args.redraw:
        report = json.loads(args.redraw.read_text(encoding="utf-8"))
        publish(report, table(report), None, args.markdown)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        report = run(args, Path(folder))
    publish(report, table(report), args.json, args.markdown)
    return 0


def scores(config: dict, model, split: str) -> dict:
    """flexseg's evaluator on `split`: fg mIoU and the per-class IoU."""
    from flexseg.config import config_from_dict
    from flexseg.evaluate.trained import score_split
    from flexseg.run.setup import RunSetup

    again = copy.deepcopy(config)
    again["eval"]["split"] = split
    setup = RunSetup(config_from_dict(again))
    result = score_split(model, setup.evaluation_data(model))
    return {
        "miou_foreground": result["miou_foreground"],
        "iou": dict(zip(result["classes"], result["iou"], strict=True)),
    }


def run(args: argparse.Namespace, work: Path) -> dict:
    import keras

    from flexseg.config import config_from_dict
    from flexseg.data.synthetic import write_dataset
    from flexseg.runtime import resolve_precision
    from flexseg.train import train

    root = write_dataset(work / "data", size=args.size, count=args.count, seed=args.seed).root
    runs = []
    for seed in args.seeds:
        config = preset_config(root, work / f"preset_{seed}", args.epochs, seed, args.size)
        started = time.perf_counter()
        train(config_from_dict(config), verbose=0)
        seconds = time.perf_counter() - started
        models = {t: corrected(config, t) for t in args.strengths}
        validation = {t: scores(config, m, "valid") for t, m in models.items()}
        runs.append({"seed": seed, "train_seconds": seconds, "config": config,
                     "valid": validation, "models": models})  # fmt: skip
    mean_valid = {
        t: statistics.mean(r["valid"][t]["miou_foreground"] for r in runs) for t in args.strengths
    }
    chosen = max(args.strengths, key=lambda t: (mean_valid[t], -t))  # ties: the weaker
    for r in runs:
        r["test"] = {t: scores(r["config"], r["models"][t], "test") for t in (0.0, chosen)}
    last = runs[-1]["models"]
    timings = timed_in_turn({"none": last[0.0], "chosen": last[chosen]}, args.latency_rounds)
    gaps = [r["test"][chosen]["miou_foreground"] - r["test"][0.0]["miou_foreground"] for r in runs]
    kept = [
        {
            "seed": r["seed"],
            "train_seconds": r["train_seconds"],
            "valid": {str(t): v for t, v in r["valid"].items()},
            "test": {str(t): v for t, v in r["test"].items()},
        }
        for r in runs
    ]
    return {
        "command": "python -m benchmarks.class_weight_correction " + " ".join(sys.argv[1:]),
        "machine": describe_machine(),
        "backend": keras.backend.backend(),
        "precision": resolve_precision("auto"),
        "settings": {k: v for k, v in vars(args).items() if k not in OUTPUTS},
        "class_weights": runs[0]["config"]["data"]["class_weights"],
        "runs": kept,
        "mean_valid": {str(t): v for t, v in mean_valid.items()},
        "chosen": chosen,
        "test_gap": summarize(gaps),
        "latency_ms": {"none": timings["none"], "chosen": timings["chosen"]},
    }


def table(report: dict) -> str:
    settings, machine = report["settings"], report["machine"]
    strengths = [str(t) for t in settings["strengths"]]
    chosen = str(report["chosen"])
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores; backend {report['backend']}, "
        f"precision {report['precision']}. The demo preset `flexunet_cpu_demo` trained with "
        f"the demo's recipe (class weights {report['class_weights']}) for {settings['epochs']} "
        f"epochs on the demo's data ({settings['count']} images of {settings['size']}x"
        f"{settings['size']}), then scored by flexseg's evaluator with each correction "
        "strength t (probabilities divided by the class weights ** t at inference).",
        "",
        "Validation fg mIoU (the strength is chosen here):",
        "",
        "| seed | " + " | ".join(f"t={t}" for t in strengths) + " |",
        "|---:|" + "---:|" * len(strengths),
    ]
    for r in report["runs"]:
        cells = " | ".join(f"{r['valid'][t]['miou_foreground']:.3f}" for t in strengths)
        lines.append(f"| {r['seed']} | {cells} |")
    means = " | ".join(f"{report['mean_valid'][t]:.3f}" for t in strengths)
    lines += [f"| mean | {means} |", "", f"Chosen: t={chosen}. Test split:", ""]
    classes = list(report["runs"][0]["test"]["0.0"]["iou"])[1:]
    lines += [
        "| seed | t | test miou_foreground | " + " | ".join(classes) + " |",
        "|---:|---:|---:|" + "---:|" * len(classes),
    ]
    for r in report["runs"]:
        for t in dict.fromkeys(["0.0", chosen]):
            test = r["test"][t]
            cells = " | ".join(_score(test["iou"][c]) for c in classes)
            lines.append(f"| {r['seed']} | {t} | {test['miou_foreground']:.3f} | {cells} |")
    gap = report["test_gap"]
    spread = spread_text(gap)
    times = report["latency_ms"]
    ratios = [c / n for c, n in zip(times["chosen"], times["none"], strict=True)]
    lines += [
        "",
        f"Corrected minus uncorrected, test miou_foreground: mean {gap['mean']:+.3f} ({spread}). "
        f"ms/image, corrected over uncorrected: {statistics.median(ratios):.2f}x median over "
        f"{len(ratios)} rounds timed in turn ({min(ratios):.2f}-{max(ratios):.2f}x).",
    ]
    return "\n".join(lines) + "\n"


def _score(value: float | None) -> str:
    """A score to 3 decimals; absent (a class with no pixels and none predicted): a dash."""
    return "-" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.class_weight_correction", description=__doc__
    )
    add_run_options(parser)
    parser.add_argument(
        "--strengths",
        type=strength_list,
        default=[0.0, 0.25, 0.5, 0.75, 1.0],
        help="correction strengths scored on validation (0 among them)",
    )
    parser.add_argument("--latency-rounds", type=int, default=7)
    args = parser.parse_args(argv)
    if args.smoke:
        args.size, args.count, args.epochs, args.seeds = 64, 24, 1, [0, 1]
        args.strengths, args.latency_rounds = [0.0, 0.5], 2
    return run_or_redraw(args, run, table)


if __name__ == "__main__":
    raise SystemExit(main())
