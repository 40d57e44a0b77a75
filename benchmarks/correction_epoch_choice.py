"""With `train.class_weight_correction` set, should corrected or uncorrected validation scores
choose the epoch to keep?

    python -m benchmarks.correction_epoch_choice \\
        --json benchmarks/results/correction_epoch_choice_cpu.json \\
        --markdown benchmarks/results/correction_epoch_choice_cpu.md
    python -m benchmarks.correction_epoch_choice --smoke   # every step on a tiny dataset

The correction changes inference only, so one training serves both choices, free of the
run-to-run noise that two trainings would add:

1. Writes the demo's synthetic dataset and trains the demo preset `flexunet_cpu_demo` with the
   demo's recipe for --epochs with each of --seeds, as a tuning trial is trained (RunSetup's
   compiled model and control callbacks), keeping every epoch's weights.
2. Scores every epoch on the validation split with flexseg's evaluator, uncorrected and with
   correction --strength (`RunSetup.trained_model` gives a checkpoint the config's correction).
3. Keeps the epoch with the best uncorrected score (what a run trained without the correction
   keeps) and the one with the best corrected score (what `flexseg train` keeps with the
   correction set), and scores both on the test split with the correction: the per-seed gap,
   its mean and 95% interval.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

from benchmarks.class_weight_correction import (
    add_run_options,
    preset_config,
    run_or_redraw,
    scores,
)
from benchmarks.machine import describe_machine
from benchmarks.seeds import spread_text, summarize

OUTPUTS = ("json", "markdown", "redraw")  # options that are not settings of the run


def train_keeping_every_epoch(config: dict, folder: Path) -> list[Path]:
    """Train `config` as a tuning trial is trained; the path of every epoch's model."""
    import keras

    from flexseg.config import config_from_dict
    from flexseg.run.setup import RunSetup

    setup = RunSetup(config_from_dict(config))
    keras.utils.set_random_seed(config["train"]["seed"])
    training, validation = setup.training_data()
    model = setup.compiled_model(len(training), setup.dataset("train").image_size)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []

    class KeepEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            paths.append(folder / f"epoch_{epoch + 1:03d}.keras")
            self.model.save(paths[-1])

    model.fit(
        training,
        validation_data=validation,
        epochs=config["train"]["epochs"],
        callbacks=[*setup.control_callbacks(), KeepEpoch()],
        verbose=0,
    )
    return paths


def score_epoch(config: dict, path: Path, strength: float, split: str) -> float:
    """`split`'s fg mIoU of the model at `path` with correction `strength`."""
    from flexseg.config import config_from_dict
    from flexseg.run.setup import RunSetup

    again = copy.deepcopy(config)
    again["train"]["class_weight_correction"] = strength
    model = RunSetup(config_from_dict(again)).trained_model(path)
    return scores(again, model, split)["miou_foreground"]


def best_epoch(values: list[float]) -> int:
    """The 1-based epoch of the highest score, the first of equals (as ModelCheckpoint keeps).

    Example:
        >>> best_epoch([0.1, 0.4, 0.4, 0.2])
        2
    """
    return values.index(max(values)) + 1


def run(args: argparse.Namespace, work: Path) -> dict:
    import keras

    from flexseg.data.synthetic import write_dataset
    from flexseg.runtime import resolve_precision

    root = write_dataset(work / "data", size=args.size, count=args.count, seed=args.seed).root
    runs = []
    for seed in args.seeds:
        config = preset_config(root, work / f"run_{seed}", args.epochs, seed, args.size)
        paths = train_keeping_every_epoch(config, work / f"epochs_{seed}")
        valid = {
            key: [score_epoch(config, path, strength, "valid") for path in paths]
            for key, strength in (("uncorrected", 0.0), ("corrected", args.strength))
        }
        chosen = {key: best_epoch(values) for key, values in valid.items()}
        test = {
            key: score_epoch(config, paths[epoch - 1], args.strength, "test")
            for key, epoch in chosen.items()
        }
        runs.append({"seed": seed, "valid": valid, "chosen": chosen, "test_corrected": test})
    gaps = [r["test_corrected"]["corrected"] - r["test_corrected"]["uncorrected"] for r in runs]
    return {
        "command": "python -m benchmarks.correction_epoch_choice " + " ".join(sys.argv[1:]),
        "machine": describe_machine(),
        "backend": keras.backend.backend(),
        "precision": resolve_precision("auto"),
        "settings": {k: v for k, v in vars(args).items() if k not in OUTPUTS},
        "runs": runs,
        "test_gap": summarize(gaps),
    }


def table(report: dict) -> str:
    settings, machine = report["settings"], report["machine"]
    t = settings["strength"]
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores; backend {report['backend']}, "
        f"precision {report['precision']}. The demo preset `flexunet_cpu_demo` trained once "
        f"per seed with the demo's recipe for {settings['epochs']} epochs on the demo's data "
        f"({settings['count']} images of {settings['size']}x{settings['size']}); every epoch "
        f"scored on validation uncorrected and with correction t={t:g}; the epoch each keeps "
        f"scored on test with correction t={t:g}.",
        "",
        "| seed | kept by | epoch | its val fg mIoU (uncorrected / corrected) "
        "| test miou_foreground, corrected |",
        "|---:|---|---:|---|---:|",
    ]
    for r in report["runs"]:
        for key in ("uncorrected", "corrected"):
            epoch = r["chosen"][key]
            u, c = (r["valid"][k][epoch - 1] for k in ("uncorrected", "corrected"))
            lines.append(
                f"| {r['seed']} | {key} val | {epoch} | {u:.3f} / {c:.3f} "
                f"| {r['test_corrected'][key]:.3f} |"
            )
    gap = report["test_gap"]
    lines += [
        "",
        "Kept by corrected minus kept by uncorrected validation, test miou_foreground with "
        f"the correction: mean {gap['mean']:+.3f} ({spread_text(gap)}).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.correction_epoch_choice", description=__doc__
    )
    add_run_options(parser)
    parser.add_argument("--strength", type=float, default=0.5, help="the correction t")
    args = parser.parse_args(argv)
    if args.smoke:
        args.size, args.count, args.epochs, args.seeds = 64, 24, 2, [0, 1]
    return run_or_redraw(args, run, table)


if __name__ == "__main__":
    raise SystemExit(main())
