"""flexseg tune across architectures: the space, best.toml, costs and budgets, failures, the
Pareto front and the search's outputs."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import keras_tuner
import pytest
from hypothesis import given
from hypothesis import strategies as st

import flexseg
from flexseg import cli
from flexseg.config import ConfigError, config_from_dict, load_config
from flexseg.config.toml_writer import dumps
from flexseg.data.synthetic import write_dataset
from flexseg.models.catalogue.registry import model_entry
from flexseg.run.setup import RunSetup
from flexseg.train import train
from flexseg.tune import search
from flexseg.tune.records import TrialRecord, read_records
from flexseg.tune.results import best_config, pareto_front
from flexseg.tune.space import SearchSpace


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "screws", size=64, count=12, seed=4).root


def search_config(root, folder, **tune):
    return config_from_dict({
        "model": {"name": "flexunet"},
        "data": {"root": str(root), "palette": "mvtec_screw"},
        "train": {"batch_size": 4, "run_dir": str(folder / "run"), "epoch_change_images": 0,
                  "precision": "float32"},
        "tune": {"epochs": 1, **tune},
    })  # fmt: skip


@pytest.mark.parametrize("architecture", flexseg.list_models())
def test_every_architecture_space_gives_a_best_toml_that_loads_and_builds(
    architecture, data_root, tmp_path
):
    entry = model_entry(architecture)
    assert entry.search_space is not None, f"{architecture} declares no search space"
    config = search_config(data_root, tmp_path, architectures=[architecture])
    space = SearchSpace(config, image_size=(64, 64))
    hp = keras_tuner.HyperParameters()
    space.plan(hp)  # declares the space
    for index, parameter in enumerate(hp.space):  # then a sample of every choice
        if hp.is_active(parameter):
            hp.values[parameter.name] = parameter.random_sample(seed=index)
    plan = space.plan(hp)
    assert set(plan.model) - {"name"} <= set(entry.setting_names())
    record = TrialRecord("0", "completed", architecture=architecture, model=plan.model,
                         train=plan.train, score=0.5)  # fmt: skip
    path = tmp_path / "best.toml"
    path.write_text(dumps(best_config(config, record, tmp_path)))
    loaded = load_config(path)
    as_written = {k: list(v) if isinstance(v, tuple) else v for k, v in loaded.model.items()}
    assert as_written == json.loads(json.dumps(plan.model))
    assert loaded.model["name"] == architecture
    model = RunSetup(loaded).build_model((64, 64))
    assert model.output_shape == (None, 64, 64, 6)
    settings = {k: v for k, v in model.get_config().items() if k in plan.model}
    assert settings == json.loads(json.dumps({k: plan.model[k] for k in settings}))


def test_a_search_over_two_architectures_writes_everything_and_its_best_trains_elsewhere(
    data_root, tmp_path
):
    config = tmp_path / "run.toml"
    config.write_text(
        f'[model]\nname = "flexunet"\n[data]\nroot = "{data_root}"\npalette = "mvtec_screw"\n'
        '[train]\nbatch_size = 4\nrun_dir = "runs/r"\nepoch_change_images = 0\n'
        "[tune.settings.flexunet]\nbase_filters = 8\nnum_layers = 3\n"
        "[tune.settings.unet]\nbase_filters = 8\n"
    )
    out = tmp_path / "search"
    argv = ["tune", str(config), "--architectures", "flexunet,unet", "--max-trials", "3",
            "--epochs", "1", "--out", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    for name in ("trials.csv", "pareto.csv", "pareto.png", "trials.png", "best.toml",
                 "best.json", "best.keras", "report.md"):  # fmt: skip
        assert (out / name).is_file(), name
    records = read_records(out / "trials")
    assert len(records) == 3 and {r.architecture for r in records} <= {"flexunet", "unet"}
    header = (out / "trials.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["trial", "status", "reason", "architecture"]
    assert {"learning_rate", "loss", "batch_size", "val_fg_miou", "params", "macs",
            "latency_ms", "seconds"} <= set(header)  # fmt: skip
    completed = [r for r in records if r.status == "completed"]
    assert all(r.params > 0 and r.macs > 0 and r.latency_ms > 0 for r in completed)
    best = json.loads((out / "best.json").read_text())
    assert best["score"] == max(r.score for r in completed)
    assert "## Pareto front" in (out / "report.md").read_text()
    # best.toml trains from another working directory (its paths are absolute).
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "flexseg.train", str(out / "best.toml"), "--set",
         "train.epochs=1"], cwd=elsewhere, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    trained = load_config(out / "best.toml")
    assert trained.model["name"] == best["architecture"]
    assert (trained.run_dir / "best.keras").is_file()
    # The same command again repeats no trial.
    written = {path: path.stat().st_mtime_ns for path in out.glob("trials/trial_*/*.json")}
    assert cli.main(argv) == 0
    assert {path: path.stat().st_mtime_ns for path in out.glob("trials/trial_*/*.json")} == written


def test_failed_and_over_budget_trials_are_recorded_and_the_search_goes_on(
    data_root, tmp_path, monkeypatch
):
    config = search_config(
        data_root, tmp_path, architectures=["flexunet", "unet"], max_trials=8,
        constraints=["params<=100000", "latency_ms<=5"],
        settings={"flexunet": {"base_filters": 16, "num_layers": 4},  # 480k parameters or more
                  "unet": {"base_filters": 8, "num_layers": 3}},  # about 30k
    )  # fmt: skip
    measured = []

    def latency_that_fails_once_then_is_slow_once(model):
        measured.append(model.name)
        if len(measured) == 1:
            raise RuntimeError("forced failure")
        return 10.0 if len(measured) == 2 else 1.0

    monkeypatch.setattr(search, "latency_ms", latency_that_fails_once_then_is_slow_once)
    search.tune(config, out=tmp_path / "search", verbose=0)
    records = {r.trial: r for r in read_records(tmp_path / "search" / "trials")}
    by_architecture = {a: [r for r in records.values() if r.architecture == a]
                       for a in ("flexunet", "unet")}  # fmt: skip
    assert by_architecture["flexunet"] and len(by_architecture["unet"]) >= 3, records

    def trained(record):
        folder = tmp_path / "search" / "trials" / f"trial_{record.trial}"
        return bool(list(folder.glob("*.weights.h5")))

    for record in by_architecture["flexunet"]:  # refused before it is timed or trained
        assert record.status == "failed" and "constraint params<=100000" in record.reason
        assert record.params > 100_000 and record.latency_ms is None
        assert not trained(record)
    unet = by_architecture["unet"]
    assert [r.reason for r in unet[:2]] == [
        "RuntimeError: forced failure",
        "latency_ms 10.00 > 5 (constraint latency_ms<=5)",
    ]
    assert unet[1].latency_ms == 10.0 and not trained(unet[1])  # refused before training
    assert len(measured) == len(unet)  # every unet trial was timed, flexunet's none
    assert all(r.status == "completed" and trained(r) for r in unet[2:])


def test_a_mixed_precision_search_times_its_models_in_float32_as_infer_runs_them(
    data_root, tmp_path, monkeypatch
):
    small = {"flexunet": {"base_filters": 8, "num_layers": 3}}
    config = search_config(data_root, tmp_path, max_trials=1, settings=small).to_dict()
    config["train"]["precision"] = "mixed_bfloat16"
    as_inferred = search.inference_model
    seen = []

    def recording(model):
        timed = as_inferred(model)
        seen.append([m.get_layer("enc0_conv1").compute_dtype for m in (model, timed)])
        return timed

    monkeypatch.setattr(search, "inference_model", recording)
    search.tune(config_from_dict(config), out=tmp_path / "search", verbose=0)
    assert seen == [["bfloat16", "float32"]]  # trains in bfloat16, timed in float32
    assert read_records(tmp_path / "search" / "trials")[0].latency_ms > 0


def test_the_time_budget_stops_starting_trials_and_the_running_one(data_root, tmp_path, capsys):
    config = search_config(data_root, tmp_path, max_trials=5, time_budget=0.0001, epochs=3,
                           settings={"flexunet": {"base_filters": 8, "num_layers": 3}})  # fmt: skip
    search.tune(config, out=tmp_path / "search", verbose=0)
    assert len(read_records(tmp_path / "search" / "trials")) == 1
    assert "Stopping after epoch 1: the time limit" in capsys.readouterr().out
    assert (
        "The time budget (0.0001 min) ended the search"
        in (tmp_path / "search" / "report.md").read_text()
    )


def test_executions_per_trial_train_a_trial_again_and_score_their_mean(
    data_root, tmp_path, monkeypatch
):
    config = search_config(data_root, tmp_path, max_trials=1, epochs=2, executions_per_trial=2,
                           settings={"flexunet": {"base_filters": 8, "num_layers": 3}})  # fmt: skip
    models = []

    def latency_of_each_built_model(model):
        models.append(model)  # held: ids stay apart
        return 1.0

    monkeypatch.setattr(search, "latency_ms", latency_of_each_built_model)
    best = search.tune(config, out=tmp_path / "search", verbose=0)
    assert len(read_records(tmp_path / "search" / "trials")) == 1
    assert len(models) == 2 and models[0] is not models[1]  # two models, each trained
    scores = [max(m.history.history["val_fg_miou"]) for m in models]
    assert best["score"] == pytest.approx(sum(scores) / 2)


def test_each_trial_scores_what_its_config_trains_to(data_root, tmp_path):
    # A trial is seeded as `flexseg train` seeds a run, timing it draws no random number, and
    # the loader's threads do not change the augmentation: the score a trial shows is the one
    # its best.toml repeats.
    config = search_config(data_root, tmp_path, max_trials=2, epochs=2,
                           settings={"flexunet": {"base_filters": 8, "num_layers": 3}})  # fmt: skip
    # Mixed precision: a trial's model is then rebuilt in float32 to be timed.
    train_settings = {"epochs": 2, "workers": 2, "precision": "mixed_bfloat16"}
    config = config.replaced(data={"augmentation": {"hflip": True, "vflip": True}},
                             train=train_settings)  # fmt: skip
    search.tune(config, out=tmp_path / "search", verbose=0)
    records = [r for r in read_records(tmp_path / "search" / "trials") if r.status == "completed"]
    assert len(records) == 2
    for record in records:
        again = config_from_dict(best_config(config, record, tmp_path / f"again_{record.trial}"))
        history = train(again, verbose=0)["epochs"]
        assert max(row["val_fg_miou"] for row in history) == pytest.approx(record.score, abs=1e-6)
        # Scores of such short trainings can all be 0: the loss KerasTuner kept at the best
        # epoch tells runs apart.
        folder = tmp_path / "search" / "trials" / f"trial_{record.trial}"
        trial = json.loads((folder / "trial.json").read_text())
        (kept,) = trial["metrics"]["metrics"]["val_loss"]["observations"]
        assert history[kept["step"]]["val_loss"] == pytest.approx(kept["value"][0], rel=1e-5)


def test_the_class_weight_correction_is_searched_when_listed_and_written_to_best_toml(tmp_path):
    config = config_from_dict({
        "model": {"name": "flexunet"},
        "data": {"root": "d", "palette": "mvtec_screw", "class_weights": [1, 30, 30, 30, 30, 30]},
        "train": {"class_weight_correction": 0.25},
        "tune": {"class_weight_correction": [0.0, 0.5, 1.0]},
    })  # fmt: skip
    space = SearchSpace(config, image_size=(64, 64))
    hp = keras_tuner.HyperParameters()
    space.plan(hp)
    hp.values["class_weight_correction"] = 0.5
    plan = space.plan(hp)
    assert plan.train["class_weight_correction"] == 0.5
    record = TrialRecord("0", "completed", architecture="flexunet", model=plan.model,
                         train=plan.train, score=0.5)  # fmt: skip
    path = tmp_path / "best.toml"
    path.write_text(dumps(best_config(config, record, tmp_path)))
    loaded = load_config(path)
    assert loaded.train["class_weight_correction"] == 0.5
    factors = RunSetup(loaded).build_model((64, 64)).get_config()["inference_class_factors"]
    assert factors == pytest.approx([1.0] + [30**-0.5] * 5)
    unlisted = config.replaced(tune={**config.tune, "class_weight_correction": []})
    plan = SearchSpace(unlisted, image_size=(64, 64)).plan(keras_tuner.HyperParameters())
    assert "class_weight_correction" not in plan.train  # train's 0.25 stays


@pytest.mark.parametrize(
    ("tune", "message"),
    [
        ({"architectures": ["unett"]}, "tune.architectures: 'unett' is not a registered"),
        ({"constraints": ["params<2e6"]}, "tune.constraints: constraint 'params<2e6'"),
        ({"learning_rate": [1e-2, 1e-4]}, r"tune.learning_rate: expected \[low, high\]"),
        ({"loss": ["cce", "dise"]}, "tune.loss: unknown loss 'dise'"),
        ({"batch_size": [0]}, "tune.batch_size"),
        ({"executions_per_trial": 0}, "tune.executions_per_trial"),
        ({"settings": {"unet": {"num_layers": 3}}}, r"\[tune.settings.unet\] is for an"),
    ],
)
def test_bad_tune_sections_are_refused_when_the_config_loads(tune, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        search_config("d", tmp_path, **tune)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"base_filter": 8}, "base_filter is not among what flexunet's search varies"),
        ({"base_filters": [8, 12]}, r"\[12\] outside what the search allows"),
        ({"dropout_rate": 0.5}, r"\[0.5\] outside what the search allows \(\[0.0, 0.1\]\)"),
    ],
)
def test_tune_settings_name_only_what_the_space_varies(settings, message, tmp_path):
    config = search_config("d", tmp_path, settings={"flexunet": settings})
    with pytest.raises(ConfigError, match=message):
        SearchSpace(config, image_size=(64, 64))


def test_command_line_options_are_tune_overrides_and_the_old_names_still_work():
    from flexseg.cli.tune import configure, tune_overrides

    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(["run.toml", "--trials", "7", "--algorithm", "bayesian",
                              "--architectures", "unet,flexunet", "--constraint",
                              "macs<=5e9", "--time-budget", "30",
                              "--executions-per-trial", "3", "--start-from-config"])  # fmt: skip
    assert tune_overrides(args) == [
        'tune.architectures=["unet", "flexunet"]', 'tune.tuner="bayesian"',
        "tune.max_trials=7", "tune.executions_per_trial=3", "tune.time_budget=30.0",
        'tune.constraints=["macs<=5e9"]', "tune.start_from_config=true",
    ]  # fmt: skip
    assert "start_from_config" not in " ".join(tune_overrides(parser.parse_args(["r.toml"])))


records = st.builds(
    TrialRecord,
    trial=st.text("0123456789", min_size=1, max_size=3),
    status=st.sampled_from(["completed", "failed"]),
    score=st.floats(0, 1),
    latency_ms=st.floats(0.1, 100),
    params=st.integers(1, 10**7),
)


@given(st.lists(records, max_size=12))
def test_the_pareto_front_is_exactly_the_undominated_completed_trials(trials):
    def key(r):
        return (r.score, -r.latency_ms, -r.params)

    def dominates(a, b):
        return all(x >= y for x, y in zip(key(a), key(b), strict=True)) and key(a) != key(b)

    front = pareto_front(trials)
    done = [r for r in trials if r.status == "completed"]
    assert all(r in done for r in front)
    for r in done:
        beaten = any(dominates(o, r) for o in done)
        assert (r in front) != beaten


# MiB a trial may add to the process after the first, per backend. TensorFlow's own number is
# high: its memory grows with every model fitted in one process, clear_session or not (an open
# issue: keras-team/tf-keras#286, keras-team/keras#17458); measured here about 106 MiB per
# trial for this model, against 149 with every trial's model kept alive. JAX (compilation
# caches): about 12 (103 when kept); torch: 0 (41 when kept).
GROWTH_BOUND_MIB = {"tensorflow": 130, "jax": 40, "torch": 15}


def resident_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux's /proc")
def test_trials_release_their_models(data_root, tmp_path, monkeypatch):
    import keras

    samples = []
    release = search.release_data_pipelines

    def release_and_measure():
        release()
        samples.append(resident_mib())

    monkeypatch.setattr(search, "release_data_pipelines", release_and_measure)
    # The same 1.9M-parameter model in every trial; only the learning rate varies.
    fixed = {"num_layers": 4, "base_filters": 32, "normalization": True, "dropout_rate": 0.0,
             "upsampling": "transpose"}  # fmt: skip
    config = search_config(data_root, tmp_path, architectures=["unet"], max_trials=6,
                           loss="cce", settings={"unet": fixed})  # fmt: skip
    search.tune(config, out=tmp_path / "search", verbose=0)
    after_trials = samples[:6]  # one sample at each trial's end, then one after the results
    per_trial = (after_trials[-1] - after_trials[1]) / (len(after_trials) - 2)
    bound = GROWTH_BOUND_MIB[keras.backend.backend()]
    assert per_trial <= bound, f"{per_trial:.0f} MiB per trial: {[round(s) for s in samples]}"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_chief_and_two_workers_share_out_the_trials(data_root, tmp_path):
    """KerasTuner's own chief/worker mode over loopback: the chief serves the trials and
    writes the results, each worker runs some, and no trial runs twice."""
    config = tmp_path / "run.toml"
    config.write_text(
        f'[model]\nname = "unet"\n[data]\nroot = "{data_root}"\npalette = "mvtec_screw"\n'
        '[train]\nbatch_size = 4\nrun_dir = "runs/r"\nepoch_change_images = 0\n'
        'precision = "float32"\n[tune]\nmax_trials = 4\nepochs = 1\nloss = "cce"\n'
        "[tune.settings.unet]\nbase_filters = 8\nnum_layers = 3\n"
    )
    out = tmp_path / "search"
    port = str(free_port())
    command = [sys.executable, "-m", "flexseg.tune", str(config), "--out", str(out)]
    processes = {}
    for tuner_id in ("chief", "tuner0", "tuner1"):
        env = dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                   KERASTUNER_ORACLE_PORT=port)  # fmt: skip
        processes[tuner_id] = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    finished = {name: process.communicate(timeout=600) for name, process in processes.items()}
    for name, process in processes.items():
        assert process.returncode == 0, f"{name}: {finished[name][1][-3000:]}"
    records = read_records(out / "trials")
    assert len(records) == 4 and len({r.trial for r in records}) == 4
    assert {r.worker for r in records} == {"tuner0", "tuner1"}  # both ran trials, not the chief
    chosen = [json.dumps(r.hyperparameters, sort_keys=True) for r in records]
    assert len(set(chosen)) == 4  # no trial repeated another's values
    assert "Best trial" in finished["chief"][0] and (out / "best.toml").is_file()
    assert "the chief writes the results" in finished["tuner0"][0]
