"""One training run from a config: the run setup's model and data, fitted into train.run_dir.

Example (a tiny run):
    python -m flexseg.train run.toml --set train.epochs=2
"""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path

import keras

from flexseg.config import Config, ConfigError
from flexseg.config.toml_writer import dumps
from flexseg.outputs import write_text_atomically
from flexseg.run.setup import BACKUP, RunSetup
from flexseg.runtime import speed_up_process


def prepare_run_dir(config: Config) -> tuple[Path, bool]:
    """Create the run folder, or resume an interrupted run; never overwrite a finished one."""
    run_dir = config.run_dir
    saved = run_dir / "config.toml"
    resolved = dumps(config.to_dict())
    if (run_dir / BACKUP).is_dir():
        if saved.is_file() and saved.read_text() != resolved:
            raise ConfigError(
                f"{run_dir}: holds an interrupted run started with a different config "
                f"({saved}); rerun with that config to resume, or choose another train.run_dir."
            )
        return run_dir, True
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ConfigError(
            f"{run_dir}: already holds a run's results; choose another train.run_dir "
            "(e.g. --set train.run_dir=runs/new) so they are not overwritten."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomically(saved, resolved)
    return run_dir, False


def best_score_so_far(run_dir: Path) -> float | None:
    """The best val_fg_miou in an interrupted run's history.json, None if there is none."""
    history = run_dir / "history.json"
    if not history.is_file():
        return None
    scores = [row.get("val_fg_miou") for row in json.loads(history.read_text())["epochs"]]
    return max((s for s in scores if s is not None), default=None)


def train(config: Config, verbose: int | str = "auto") -> dict:
    """Train, log and checkpoint into train.run_dir; returns the history of all epochs."""
    speed_up_process()
    keras.utils.set_random_seed(config.train["seed"])
    run_dir, resuming = prepare_run_dir(config)
    setup = RunSetup(config)
    training, validation = setup.training_data()
    if verbose != 0 and setup.precision != config.train["precision"]:
        print(f"train.precision = {config.train['precision']!r}: training in {setup.precision}")
    model = setup.compiled_model(len(training), training.image_size)
    best_so_far = best_score_so_far(run_dir) if resuming else None
    if resuming:
        print(f"Resuming the interrupted run in {run_dir}")
    model.fit(
        training,
        validation_data=validation,
        epochs=config.train["epochs"],
        callbacks=setup.run_callbacks(run_dir, validation, best_so_far),
        verbose=verbose,
    )
    model.save(run_dir / "last.keras")
    if (run_dir / BACKUP).exists():  # stopped by NaN: keep no stale backup that would resume
        shutil.rmtree(run_dir / BACKUP)
    release_data_pipelines()
    return json.loads((run_dir / "history.json").read_text())


def release_data_pipelines() -> None:
    """Free what `fit` leaves in reference cycles while Python still runs.

    On TensorFlow, fit's epoch iterators wrap the dataset in a `tf.data` generator; left to
    interpreter shutdown, its finalizer cannot run and TensorFlow prints "Error occurred when
    finalizing GeneratorDataset iterator".
    """
    gc.collect()
