"""One training run from a config: the run setup's model and data, fitted into train.run_dir.

Example (a tiny run):
    python -m flexseg.train run.toml --set train.epochs=2
"""

from __future__ import annotations

import gc
import json
import shutil
import tomllib
from pathlib import Path

import keras

from flexseg.config import Config, ConfigError
from flexseg.config.toml_writer import dumps
from flexseg.errors import FlexsegError
from flexseg.outputs import write_text_atomically
from flexseg.run import distribution as distributed
from flexseg.run.callbacks import EpochLogs
from flexseg.run.setup import BACKUP, RunSetup
from flexseg.runtime import speed_up_process

# What a run writes into its folder before it finishes; a run that stopped before its first
# backup leaves only these, and starts again.
RUN_OUTPUTS = (
    "config.toml", "history.json", "best.keras", "train_losses.csv", "train_losses.png",
    "train_metrics.csv", "train_metrics.png", "epoch_change", "tensorboard",
)  # fmt: skip
# Keras's BackupAndRestore writes these two at every epoch's end, after copying the previous
# pair to NAME.bkp (double_checkpoint).
BACKUP_WEIGHTS, BACKUP_STATE = "latest.weights.h5", "training_metadata.json"
STATES = ("new", "resume", "restart")  # of a run folder, see run_dir_state
# [train] keys that say where a run trains, not what: a run resumes whatever they are.
PLACEMENT = ("distribution", "devices", "coordinator", "num_processes", "process_id")


def run_dir_state(config: Config) -> str:
    """ "new", "resume" (an interrupted run's backup is there) or "restart" (an earlier run
    stopped before its first backup); raises when the folder holds a finished run, another
    config's interrupted run, or files that are not a run's. Changes nothing."""
    run_dir = config.run_dir
    saved = run_dir / "config.toml"
    if any((run_dir / BACKUP).glob(f"{BACKUP_WEIGHTS}*")):
        if saved.is_file() and _what_trains(saved.read_text()) != _what_trains(config):
            raise ConfigError(
                f"{run_dir}: holds an interrupted run started with a different config "
                f"({saved}); rerun with that config to resume, or choose another train.run_dir."
            )
        return "resume"
    if not run_dir.exists() or not any(run_dir.iterdir()):
        return "new"
    if (run_dir / "last.keras").exists() or not saved.is_file():
        raise ConfigError(
            f"{run_dir}: already holds a run's results; choose another train.run_dir "
            "(e.g. --set train.run_dir=runs/new) so they are not overwritten."
        )
    foreign = sorted(p.name for p in run_dir.iterdir() if p.name not in (*RUN_OUTPUTS, BACKUP))
    if foreign:
        raise ConfigError(
            f"{run_dir}: holds a run that stopped before its first backup, and also "
            f"{', '.join(foreign[:5])}; move those away or choose another train.run_dir."
        )
    return "restart"


def _what_trains(config: Config | str) -> str:
    """A config (or its saved text), as TOML, without where it trains: a run may resume on
    other devices, in another number of processes, meeting at another address (every process
    reads its part of the same global batches)."""
    sections = tomllib.loads(config) if isinstance(config, str) else config.to_dict()
    train = {k: v for k, v in sections.get("train", {}).items() if k not in PLACEMENT}
    return dumps({**sections, "train": train})


def usable_backup(folder: Path) -> str:
    """Make the backup in `folder` one that Keras can resume from; returns what was done:
    "latest", "previous" (a kill cut the latest pair while it was written: the pair before
    takes its place) or "none" (neither pair reads: the backup is removed)."""
    latest = (folder / BACKUP_WEIGHTS, folder / BACKUP_STATE)
    previous = tuple(path.with_name(path.name + ".bkp") for path in latest)
    if _readable(*latest):
        return "latest"
    if _readable(*previous):
        for source, target in zip(previous, latest, strict=True):
            shutil.copyfile(source, target)
        return "previous"
    shutil.rmtree(folder)
    return "none"


def backup_epoch(folder: Path) -> int:
    """The epochs a usable backup in `folder` holds (those a resumed run skips)."""
    return int(json.loads((folder / BACKUP_STATE).read_text())["epoch"])


def _readable(weights: Path, state: Path) -> bool:
    import h5py

    try:
        json.loads(state.read_text())["epoch"]
        with h5py.File(weights, "r"):
            return True
    except (OSError, ValueError, KeyError, TypeError):
        return False


def prepare_run_dir(config: Config, state: str) -> Path:
    """Create the run folder (`state` from `run_dir_state`); a restart first removes what
    the earlier attempt wrote."""
    run_dir = config.run_dir
    if state == "resume":
        return run_dir
    if state == "restart":
        for name in (*RUN_OUTPUTS, BACKUP):
            path = run_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomically(run_dir / "config.toml", dumps(config.to_dict()))
    return run_dir


def logged_epochs(run_dir: Path) -> list[dict]:
    """An interrupted run's history.json rows, one per epoch it logged ([] if none)."""
    history = run_dir / "history.json"
    return json.loads(history.read_text())["epochs"] if history.is_file() else []


def best_score_so_far(logged: list[dict]) -> float | None:
    """The best val_fg_miou of an interrupted run's `logged` epochs, None if there is none."""
    scores = [row.get("val_fg_miou") for row in logged]
    return max((s for s in scores if s is not None), default=None)


def train(config: Config, verbose: int | str = "auto") -> dict:
    """Train, log and checkpoint into train.run_dir; returns the history of all epochs
    (what history.json holds).

    With train.distribution = "data_parallel", every process of the run calls this; process 0
    (the chief) writes the run folder and the others write nothing."""
    distribution = distributed.start(config.train)  # first: other processes join here
    try:
        return _train(config, distribution, verbose)
    finally:
        distribution.stop()


def _train(config: Config, distribution: distributed.Distribution, verbose: int | str) -> dict:
    speed_up_process()
    keras.utils.set_random_seed(config.train["seed"])
    chief = distribution.is_chief
    verbose = verbose if chief else 0
    state = run_dir_state(config)
    _check_same_run_folder(distribution, STATES.index(state), config, "state")
    setup = RunSetup(config, distribution)
    setup.check_data(("train", "valid"), progress=verbose != 0)
    run_dir = config.run_dir
    backup = _open_run_dir(config, state, distribution)
    resuming = backup != "none"
    training, validation = setup.training_data()
    logged = logged_epochs(run_dir) if resuming else []
    completed: list[dict] = []
    if resuming:  # go on with the order and augmentation of the epoch after the backup's
        restored = backup_epoch(run_dir / BACKUP)
        training.set_epoch(restored)
        completed = [row for row in logged if row["epoch"] <= restored]
    if verbose != 0 and setup.precision != config.train["precision"]:
        print(f"train.precision = {config.train['precision']!r}: training in {setup.precision}")
    if verbose != 0 and distribution.kind != "none":
        about = distribution.describe()
        print(f"Training data-parallel on {about['devices']} {distribution.backend} device(s) in "
              f"{about['processes']} process(es), {training.batch_size} images a step")  # fmt: skip
    model = setup.compiled_model(len(training), training.image_size)
    best_so_far = best_score_so_far(logged)
    if chief:
        _say_how_it_starts(run_dir, state, backup)
    callbacks = setup.run_callbacks(run_dir, validation, best_so_far, completed)
    model.fit(
        **distribution.fit_arguments(training, validation),
        epochs=config.train["epochs"],
        callbacks=callbacks,
        verbose=verbose,
    )
    if chief:
        with distribution.saving():
            model.save(run_dir / "last.keras")
        if (run_dir / BACKUP).exists():  # stopped by NaN: keep no stale backup that would resume
            shutil.rmtree(run_dir / BACKUP)
    release_data_pipelines()
    return next(c for c in callbacks if isinstance(c, EpochLogs)).history


def _open_run_dir(config: Config, state: str, distribution: distributed.Distribution) -> str:
    """The chief prepares the run folder (`state` from `run_dir_state`) and makes its backup
    usable; returns the backup that every process resumes from (see `usable_backup`)."""
    run_dir = config.run_dir
    backup = "none"
    if distribution.is_chief:
        prepare_run_dir(config, state)
        backup = usable_backup(run_dir / BACKUP) if state == "resume" else "none"
    distribution.any_process(False)  # the others wait until the chief has the folder ready
    latest = (run_dir / BACKUP / BACKUP_WEIGHTS, run_dir / BACKUP / BACKUP_STATE)
    if not distribution.is_chief and _readable(*latest):
        backup = "latest"
    _check_same_run_folder(distribution, int(backup != "none"), config, "backup")
    return backup


def _say_how_it_starts(run_dir: Path, state: str, backup: str) -> None:
    if backup != "none":
        which = "its last backup" if backup == "latest" else "the backup before its last (cut)"
        print(f"Resuming the interrupted run in {run_dir} from {which}")
    elif state == "resume":
        print(f"Starting again in {run_dir}: its backups could not be read")
    elif state == "restart":
        print(f"Starting again in {run_dir}: the run there stopped before its first backup")


def _check_same_run_folder(
    distribution: distributed.Distribution, value: int, config: Config, what: str
) -> None:
    """Data-parallel processes must see the same run folder (its `what`, coded as `value`):
    a resumed run restores the same backup in every process."""
    if not distribution.same_in_every_process(value):
        raise FlexsegError(
            f"{config.run_dir}: the processes of this data-parallel run see different run "
            f"folders (its {what} differs); train.run_dir must be one folder that every process "
            "sees, on storage they share."
        )


def release_data_pipelines() -> None:
    """Free what `fit` leaves in reference cycles while Python still runs.

    On TensorFlow, fit's epoch iterators wrap the dataset in a `tf.data` generator; left to
    interpreter shutdown, its finalizer cannot run and TensorFlow prints "Error occurred when
    finalizing GeneratorDataset iterator".
    """
    gc.collect()
