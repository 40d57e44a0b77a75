"""Architecture and hyperparameter search with KerasTuner, driven by a flexseg config.

The architecture named by model.name declares its search space next to its definition
(`register_model(..., search_space=...)`); the learning rate is searched too. Every other
setting comes from the config. Each trial trains on the train split and is scored by the
best validation foreground mIoU (`val_fg_miou`) it reached.

Example (a tiny search):
    python -m flexseg.tune run.toml --trials 4 --epochs 3
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import keras

from flexseg.config import Config, ConfigError
from flexseg.config.toml_writer import dumps
from flexseg.data.outputs import save_figure, write_text_atomically
from flexseg.losses import get_loss
from flexseg.metrics.training import training_metrics
from flexseg.registry import architecture_of
from flexseg.runtime import speed_up_process
from flexseg.training.run import build_model, datasets, make_optimizer

ALGORITHMS = ("random", "bayesian", "hyperband")
OBJECTIVE = "val_fg_miou"


def _keras_tuner():
    try:
        import keras_tuner
    except ImportError:  # pragma: no cover - keras-tuner is part of flexseg[all]
        raise ConfigError("flexseg tune needs KerasTuner: pip install 'flexseg[tune]'.") from None
    return keras_tuner


def make_hypermodel(config: Config, palette, image_size, steps_per_epoch: int = 1):
    """A function hp -> compiled model: the config's model with searched settings."""
    entry, _ = architecture_of(config.model["name"])
    if entry.search_space is None:
        raise ConfigError(
            f"{config.source}: model.name {config.model['name']!r} ({entry.name}) declares no "
            "search space; tune an architecture that does, or register one with "
            "register_model(..., search_space=...)."
        )
    shape = (*image_size, config.data["channels"])

    def hypermodel(hp) -> keras.Model:
        searched = entry.search_space(hp, shape)
        trial = Config(**config.to_dict(), source=config.source)
        trial.model.update(searched)
        trial.train["learning_rate"] = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
        model = build_model(trial, palette, image_size)
        model.compile(
            optimizer=make_optimizer(trial.train, steps_per_epoch),
            loss=get_loss(trial.train["loss"]),
            metrics=training_metrics(palette.names),
        )
        return model

    return hypermodel


def tune(
    config: Config,
    *,
    trials: int,
    epochs: int,
    algorithm: str = "random",
    out: str | Path | None = None,
    verbose: int | str = "auto",
) -> dict:
    """Search; writes trials.csv, trials.png and best.toml into `out`; returns the best trial."""
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"algorithm {algorithm!r}: choose one of {', '.join(ALGORITHMS)}.")
    if trials < 1 or epochs < 1:
        raise ConfigError(f"trials and epochs must be at least 1; got {trials} and {epochs}.")
    kt = _keras_tuner()
    speed_up_process()
    keras.utils.set_random_seed(config.train["seed"])
    out = Path(out) if out else config.path(config.train["run_dir"]) / "tuning"
    palette, training, validation = datasets(config)
    objective = kt.Objective(OBJECTIVE, direction="max")
    common = dict(
        objective=objective,
        directory=str(out),
        project_name="trials",
        seed=config.train["seed"],
        overwrite=False,  # an interrupted search resumes where it stopped
    )
    hypermodel = make_hypermodel(config, palette, training.image_size, len(training))
    if algorithm == "hyperband":
        tuner = kt.Hyperband(hypermodel, max_epochs=epochs, hyperband_iterations=1, **common)
    elif algorithm == "bayesian":
        tuner = kt.BayesianOptimization(hypermodel, max_trials=trials, **common)
    else:
        tuner = kt.RandomSearch(hypermodel, max_trials=trials, **common)
    tuner.search(training, validation_data=validation, epochs=epochs, verbose=verbose)
    rows = trial_rows(tuner)
    if not rows:
        raise ConfigError("no trial finished; see the errors above.")
    best = max(rows, key=lambda row: row["score"])
    write_results(config, out, rows, best)
    return best


def trial_rows(tuner) -> list[dict]:
    """One row per finished trial: id, score and the hyperparameter values."""
    rows = []
    for trial in tuner.oracle.trials.values():
        if trial.score is None:
            continue
        rows.append(
            {"trial": trial.trial_id, "score": float(trial.score), **trial.hyperparameters.values}
        )
    return sorted(rows, key=lambda row: row["trial"])


def write_results(config: Config, out: Path, rows: list[dict], best: dict) -> None:
    names = sorted({key for row in rows for key in row} - {"trial", "score"})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["trial", OBJECTIVE, *names])
    for row in rows:
        writer.writerow([row["trial"], f"{row['score']:.6f}", *(row.get(n, "") for n in names)])
    write_text_atomically(out / "trials.csv", buffer.getvalue())

    best_config = config.to_dict()
    settings = {k: v for k, v in best.items() if k not in ("trial", "score", "learning_rate")}
    if "base_kernel" in settings:
        kernel = settings.pop("base_kernel")
        settings["base_kernels"] = [kernel, kernel]
    settings = {k: v for k, v in settings.items() if not k.startswith("tuner/")}
    best_config["model"].update(settings)
    best_config["train"]["learning_rate"] = best["learning_rate"]
    header = (
        f"# Best of {len(rows)} trials by flexseg tune: {OBJECTIVE} {best['score']:.4f} "
        f"(trial {best['trial']}).\n# Train it: python -m flexseg.train {out / 'best.toml'}\n"
    )
    write_text_atomically(out / "best.toml", header + dumps(best_config))
    write_text_atomically(out / "best.json", json.dumps(best, indent=2) + "\n")
    plot_trials(rows, out / "trials.png")


def plot_trials(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.5))
    scores = [row["score"] for row in rows]
    best_so_far = [max(scores[: i + 1]) for i in range(len(scores))]
    axis.plot(range(1, len(scores) + 1), scores, "o", label="trial")
    axis.plot(range(1, len(scores) + 1), best_so_far, "-", label="best so far")
    axis.set_xlabel("trial")
    axis.set_ylabel(OBJECTIVE)
    axis.legend()
    save_figure(figure, path)
