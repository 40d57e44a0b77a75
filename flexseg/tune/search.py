"""Architecture and hyperparameter search with KerasTuner, driven by a flexseg config.

The architecture named by model.name declares its search space (`flexseg.models.catalogue.
search_spaces`, or `register_model(..., search_space=...)` for a plugin); the learning rate
is searched too. The hypermodel only chooses values: every trial is built, compiled and
steered by the same `RunSetup` as `flexseg train` (precision, loss, metrics, early stopping,
time limit, NaN stop). Each trial is scored by the best validation foreground mIoU
(`val_fg_miou`) it reached.

Example (a tiny search):
    python -m flexseg.tune run.toml --trials 4 --epochs 3
"""

from __future__ import annotations

from pathlib import Path

import keras

from flexseg.config import Config, ConfigError
from flexseg.models.catalogue.registry import architecture_of
from flexseg.run.setup import RunSetup
from flexseg.runtime import speed_up_process
from flexseg.train.fit import release_data_pipelines
from flexseg.tune import ALGORITHMS
from flexseg.tune.results import OBJECTIVE, trial_rows, write_results


def _keras_tuner():
    try:
        import keras_tuner
    except ImportError:  # pragma: no cover - keras-tuner is part of flexseg[all]
        raise ConfigError("flexseg tune needs KerasTuner: pip install 'flexseg[tune]'.") from None
    return keras_tuner


def search_space_of(config: Config):
    """The search space that model.name's architecture declares, or an error saying so."""
    entry, _ = architecture_of(config.model["name"])
    if entry.search_space is None:
        raise ConfigError(
            f"{config.source}: model.name {config.model['name']!r} ({entry.name}) declares no "
            "search space; tune an architecture that does, or register one with "
            "register_model(..., search_space=...)."
        )
    return entry.search_space


def make_hypermodel(setup: RunSetup, image_size: tuple[int, int], steps_per_epoch: int = 1):
    """A KerasTuner `HyperModel` whose trials are `setup.with_changes(...)`: the chosen
    architecture settings and learning rate, everything else as `flexseg train` does it."""
    kt = _keras_tuner()
    space = search_space_of(setup.config)
    shape = (*image_size, setup.config.data["channels"])

    class TrialModel(kt.HyperModel):
        def build(self, hp):
            self.trial = setup.with_changes(
                model=space(hp, shape),
                train={"learning_rate": hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")},
            )
            return self.trial.compiled_model(steps_per_epoch, image_size)

        def fit(self, hp, model, *args, callbacks=None, **kwargs):
            steering = self.trial.control_callbacks()
            return model.fit(*args, callbacks=[*(callbacks or []), *steering], **kwargs)

    return TrialModel()


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
    out = Path(out) if out else config.run_dir / "tuning"
    setup = RunSetup(config)
    training, validation = setup.training_data()
    hypermodel = make_hypermodel(setup, training.image_size, len(training))
    common = dict(
        objective=kt.Objective(OBJECTIVE, direction="max"),
        directory=str(out),
        project_name="trials",
        seed=config.train["seed"],
        overwrite=False,  # an interrupted search resumes where it stopped
    )
    if algorithm == "hyperband":
        tuner = kt.Hyperband(hypermodel, max_epochs=epochs, hyperband_iterations=1, **common)
    elif algorithm == "bayesian":
        tuner = kt.BayesianOptimization(hypermodel, max_trials=trials, **common)
    else:
        tuner = kt.RandomSearch(hypermodel, max_trials=trials, **common)
    tuner.search(training, validation_data=validation, epochs=epochs, verbose=verbose)
    release_data_pipelines()
    rows = trial_rows(tuner)
    if not rows:
        raise ConfigError("no trial finished; see the errors above.")
    best = max(rows, key=lambda row: row["score"])
    write_results(config, out, rows, best)
    return best
