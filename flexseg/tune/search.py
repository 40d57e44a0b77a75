"""Architecture and hyperparameter search with KerasTuner, driven by a flexseg config.

The space is `flexseg.tune.space.SearchSpace` (the architectures of [tune], their declared
spaces, learning rate, loss, batch size). The hypermodel only chooses values: every trial is
built, compiled and steered by the same `RunSetup` as `flexseg train` (precision, loss,
metrics, early stopping, time limit, NaN stop), and is held to the [tune] constraints before
it trains: parameters and MACs are counted first, then the built model's latency is timed
(weights do not change it), so an over-budget trial costs seconds. A trial that fails (an invalid
combination, a budget, a NaN loss, out of memory) is recorded with its reason and the search
goes on; no trial starts that would end past the time budget, and a running one stops after
the epoch that passes it. With tune.start_from_config, the first trial is the config's own
model and training (`flexseg.tune.first_trial`).

Example (a tiny search):
    python -m flexseg.tune run.toml --architectures flexunet,unet --max-trials 4 --epochs 3
"""

from __future__ import annotations

import math
import os
import time
import warnings
from pathlib import Path

import keras

from flexseg.config import Config, ConfigError
from flexseg.errors import FlexsegError
from flexseg.outputs import write_text_atomically
from flexseg.run.callbacks import TimeLimit
from flexseg.run.setup import RunSetup, inference_model
from flexseg.runtime import speed_up_process
from flexseg.train.fit import release_data_pipelines
from flexseg.tune.costs import COUNTED, Constraint, latency_ms, model_costs
from flexseg.tune.first_trial import config_values, start_with, started_from
from flexseg.tune.records import TrialRecord, read_records
from flexseg.tune.results import write_results
from flexseg.tune.space import ARCHITECTURE, SearchSpace


def _keras_tuner():
    try:
        import keras_tuner
    except ImportError:  # pragma: no cover - keras-tuner is part of flexseg[all]
        raise ConfigError("flexseg tune needs KerasTuner: pip install 'flexseg[tune]'.") from None
    return keras_tuner


def make_hypermodel(setup: RunSetup, space: SearchSpace, image_size: tuple[int, int]):
    """A KerasTuner `HyperModel` whose trials are `setup` with the values `space` chose."""
    kt = _keras_tuner()
    constraints = [Constraint.parse(text) for text in setup.config.tune["constraints"]]

    class TrialModel(kt.HyperModel):
        def declare_space(self, hp, architecture: str) -> None:
            """Declare the space of one architecture's branch in `hp`, building nothing."""
            hp.values[ARCHITECTURE] = architecture
            space.plan(hp)

        execution = 0  # the trial's trainings so far (tune.executions_per_trial)

        def build(self, hp):
            self.plan = space.plan(hp)
            self.trial = setup.with_model(self.plan.model, train=self.plan.train)
            # Seeded as `flexseg train` seeds a run, so that a trial's first training is the
            # one its best.toml repeats; each further execution starts from new weights.
            keras.utils.set_random_seed(self.trial.config.train["seed"] + self.execution)
            self.execution += 1
            self.data = self.trial.training_data()
            return self.trial.compiled_model(len(self.data[0]), image_size)

        deadline: float | None = None  # time.monotonic() at which the search's budget ends

        def fit(self, hp, model, *args, callbacks=None, **kwargs):
            # The budgets, before any training (KerasTuner's load_model builds without fitting).
            self.costs = model_costs(model)
            self._hold_to(c for c in constraints if c.measure in COUNTED)
            # Timed as evaluate and infer run it (float32); untrained: the same cost. Building
            # that copy draws on the global random state, which the training no longer reads:
            # its batch order is the dataset's, and each epoch's draws are seeded anew
            # (EpochRandomState).
            self.costs["latency_ms"] = latency_ms(inference_model(model))
            self._hold_to(c for c in constraints if c.measure not in COUNTED)
            training, validation = self.data
            steering = self.trial.control_callbacks()
            if self.deadline is not None:  # a running trial ends with the budget too
                steering.append(TimeLimit(max(self.deadline - time.monotonic(), 0.0) / 60))
            history = model.fit(
                **self.trial.distribution.fit_arguments(training, validation),
                callbacks=[*callbacks, *steering],
                **kwargs,
            )
            if not all(math.isfinite(loss) for loss in history.history.get("loss", [])):
                raise kt.errors.FailedTrialError("the training loss became NaN or infinite")
            return history

        def _hold_to(self, budgets):
            for budget in budgets:
                reason = budget.violated_by(self.costs)
                if reason:
                    raise kt.errors.FailedTrialError(reason)

    return TrialModel()


def tuner_class(name: str, space: SearchSpace):
    """KerasTuner's tuner `name` over `space`, with flexseg's trial records and time budget."""
    kt = _keras_tuner()
    base = {
        "random": kt.RandomSearch,
        "bayesian": kt.BayesianOptimization,
        "hyperband": kt.Hyperband,
    }[name]

    class RecordingTuner(base):
        """Writes each trial's record (flexseg.json in its folder) when it ends, starts no
        trial that would end past `time_budget` seconds (None: no budget), and stops a running
        trial after the epoch that passes it."""

        time_budget: float | None = None
        stopped_by_budget = False

        def _populate_initial_space(self):
            # KerasTuner's own way builds a model for every conditional branch; declaring
            # each architecture's branch is enough, and holds no model to its budgets.
            for architecture in space.architectures:
                hp = self.oracle.get_space()
                self.hypermodel.declare_space(hp, architecture)
                self.oracle.update_space(hp)

        def on_search_begin(self):
            super().on_search_begin()
            self._search_started = time.monotonic()
            self._trial_seconds: list[float] = []
            if self.time_budget is not None:
                self.hypermodel.deadline = self._search_started + self.time_budget

        def pre_create_trial(self):
            super().pre_create_trial()
            if self.time_budget is None or not self._trial_seconds:
                return
            elapsed = time.monotonic() - self._search_started
            expected = sum(self._trial_seconds) / len(self._trial_seconds)
            if elapsed + expected > self.time_budget:
                self.stopped_by_budget = True
                self.oracle.max_trials = len(self.oracle.trials)  # the oracle stops here

        def on_trial_begin(self, trial):
            super().on_trial_begin(trial)
            self._trial_started = time.monotonic()
            self.hypermodel.plan = None
            self.hypermodel.costs = {}
            self.hypermodel.execution = 0

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            seconds = time.monotonic() - self._trial_started
            self._trial_seconds.append(seconds)
            plan, costs = self.hypermodel.plan, self.hypermodel.costs
            record = TrialRecord.of(trial, plan, costs, seconds, worker=self.tuner_id)
            folder = Path(self.get_trial_dir(trial.trial_id))
            write_text_atomically(folder / TrialRecord.FILE, record.to_json())
            if record.status == "failed":
                print(f"Trial {trial.trial_id} failed: {record.reason} (the traceback is in "
                      f"{folder / 'trial.json'})")  # fmt: skip
            release_data_pipelines()

    return RecordingTuner


def tune(config: Config, *, out: str | Path | None = None, verbose: int | str = "auto") -> dict:
    """Search as [tune] says; writes the trials, the Pareto front, best.toml, best.keras and
    report.md into `out` (default train.run_dir/tuning); returns the best trial's record.

    With KerasTuner's chief/worker mode, the chief serves the trials and writes the results;
    a worker runs trials and returns {"role": "worker", "worker": its id, "trials": the ids
    it ran}."""
    if config.train["distribution"] != "none":
        raise FlexsegError(
            f"{config.source}: flexseg tune trains each trial on one device and does not use "
            'train.distribution; set train.distribution = "none" (--set '
            "train.distribution=none) and spread a search over devices or machines with "
            "KerasTuner's chief/worker mode (README: Architecture search)."
        )
    kt = _keras_tuner()
    speed_up_process()
    settings = config.tune
    keras.utils.set_random_seed(config.train["seed"])
    out = Path(out) if out else config.run_dir / "tuning"
    setup = RunSetup(config)
    setup.check_data(("train", "valid"), progress=verbose != 0)
    image_size = setup.dataset("train").image_size
    space = SearchSpace(config, image_size)
    hypermodel = make_hypermodel(setup, space, image_size)
    objective = kt.Objective(settings["objective"], direction=_direction(settings["objective"]))
    common = dict(
        objective=objective,
        directory=str(out),
        project_name="trials",
        seed=config.train["seed"],
        overwrite=False,  # an interrupted search resumes where it stopped
        max_consecutive_failed_trials=10**9,  # failed trials are recorded; the search goes on
        executions_per_trial=settings["executions_per_trial"],  # KerasTuner averages them
    )
    start = config_values(space) if settings["start_from_config"] else None
    Tuner = tuner_class(settings["tuner"], space)
    if settings["tuner"] == "hyperband":
        tuner = Tuner(hypermodel, max_epochs=settings["epochs"], hyperband_iterations=1, **common)
    else:
        tuner = Tuner(hypermodel, max_trials=settings["max_trials"], **common)
    if start is not None and search_role() != "worker":  # a worker's oracle is the chief's
        start_with(tuner.oracle, start)
    budget = settings["time_budget"]
    tuner.time_budget = None if budget is None else 60.0 * budget
    printed_tracebacks = kt.src.config.DEBUG
    kt.src.config.DEBUG = False  # a failed trial is one line; trial.json keeps its traceback
    try:
        tuner.search(epochs=settings["epochs"], verbose=verbose)
    finally:
        kt.src.config.DEBUG = printed_tracebacks
    if search_role() == "worker":  # the chief writes the results once every trial is done
        mine = [r for r in read_records(out / "trials") if r.worker == tuner.tuner_id]
        return {"role": "worker", "worker": tuner.tuner_id, "trials": [r.trial for r in mine]}
    records = [
        r.with_outcome(tuner.oracle.get_trial(r.trial)) for r in read_records(out / "trials")
    ]
    completed = [r for r in records if r.status == "completed" and r.score is not None]
    if not completed:
        reasons = "; ".join(f"trial {r.trial}: {r.reason}" for r in records[-3:])
        raise ConfigError(f"no trial finished ({len(records)} failed: {reasons}).")
    sign = 1.0 if _direction(objective.name) == "max" else -1.0
    best = max(completed, key=lambda record: sign * record.score)
    with warnings.catch_warnings():  # the best epoch's weights; its optimizer is not needed
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        best_model = tuner.load_model(tuner.oracle.get_trial(best.trial))
    baseline = started_from(records, start) if start else None
    write_results(
        config, out, records, best, best_model, stopped=tuner.stopped_by_budget, baseline=baseline
    )
    release_data_pipelines()
    return best.to_dict()


def search_role() -> str:
    """ "single", or with KerasTuner's chief/worker mode (KERASTUNER_ORACLE_IP,
    KERASTUNER_ORACLE_PORT and KERASTUNER_TUNER_ID set) "chief" or "worker"."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single"
    return "chief" if "chief" in os.environ.get("KERASTUNER_TUNER_ID", "") else "worker"


def _direction(objective: str) -> str:
    from flexseg.config.schema import OBJECTIVES

    return OBJECTIVES[objective]
