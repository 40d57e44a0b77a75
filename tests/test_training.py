"""Training from a config: outputs, no overwriting, LR reduction, seeds, kill-and-resume."""

import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from flexseg.config import ConfigError, config_from_dict
from flexseg.data.pairs import find_pairs
from flexseg.data.synthetic import write_dataset
from flexseg.errors import FlexsegError
from flexseg.run.losses import get_loss
from flexseg.run.setup import RunSetup
from flexseg.train import train


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "screws", size=32, count=12, seed=0).root


def run_config(data_root, run_dir, augmentation=None, **train):
    settings = {"epochs": 2, "batch_size": 4, "run_dir": str(run_dir), "seed": 1, **train}
    data = {"root": str(data_root), "palette": "mvtec_screw", "augmentation": augmentation or {}}
    return config_from_dict({
        "model": {"name": "flexunet", "base_filters": 2, "num_layers": 2},
        "data": data,
        "train": settings,
    })  # fmt: skip


def test_a_run_writes_its_logs_checkpoints_and_images(data_root, tmp_path):
    history = train(run_config(data_root, tmp_path / "run", legacy_dice_metric=True), verbose=0)
    run = tmp_path / "run"
    assert [row["epoch"] for row in history["epochs"]] == [1, 2]
    first = history["epochs"][0]
    assert {"loss", "val_loss", "fg_miou", "val_fg_miou", "val_iou_thread_side",
            "legacy_dice_coef_multiclass", "learning_rate"} <= set(first)  # fmt: skip
    for name in ("best.keras", "last.keras", "config.toml", "train_losses.csv",
                 "train_metrics.csv", "train_losses.png", "train_metrics.png"):  # fmt: skip
        assert (run / name).is_file(), name
    assert (run / "train_losses.csv").read_text().splitlines()[0] == "epoch,loss,val_loss"
    assert "val_fg_miou" in (run / "train_metrics.csv").read_text().splitlines()[0]
    grid = Image.open(run / "epoch_change" / "epoch_002.png")
    assert grid.size == (3 * 32, 32 * min(6, 2))  # image | truth | prediction, one row per image
    best = keras.models.load_model(run / "best.keras", compile=False)
    assert best.output_shape == (None, 32, 32, 6)
    assert not (run / "backup").exists()


def test_summed_loss_trains_on_every_backend(data_root, tmp_path):
    history = train(run_config(data_root, tmp_path / "run", epochs=1, loss="cce+dice"), verbose=0)
    assert np.isfinite(history["epochs"][0]["loss"])


def test_time_limit_stops_after_the_epoch_that_passes_it(data_root, tmp_path):
    config = run_config(data_root, tmp_path / "run", epochs=50, max_minutes=0.0, patience=0)
    history = train(config, verbose=0)
    assert [row["epoch"] for row in history["epochs"]] == [1]
    assert (tmp_path / "run" / "last.keras").is_file()


def test_a_finished_run_is_never_overwritten(data_root, tmp_path):
    train(run_config(data_root, tmp_path / "run", epochs=1), verbose=0)
    with pytest.raises(ConfigError, match="already holds a run's results"):
        train(run_config(data_root, tmp_path / "run", epochs=1), verbose=0)


def test_learning_rate_actually_drops_on_a_plateau(data_root, tmp_path):
    # At 1e-6 the validation loss barely moves: a plateau, so the rate must halve.
    config = run_config(data_root, tmp_path / "run", epochs=4, learning_rate=1e-6,
                        min_learning_rate=1e-10, reduce_lr_patience=1, reduce_lr_factor=0.5,
                        patience=0)  # fmt: skip
    rates = [row["learning_rate"] for row in train(config, verbose=0)["epochs"]]
    assert rates[0] == pytest.approx(1e-6)
    assert rates[-1] <= rates[0] / 2 * 1.0001, rates


@pytest.mark.parametrize("workers", [1, 3])
def test_same_seed_same_history(data_root, tmp_path, workers):
    # Augmented, with loader threads: a whole training repeats (the order the threads ask for
    # batches in is tested directly in test_dataset, as tiny batches seldom race here).
    augmentation = {"hflip": True, "vflip": True, "shift": 0.1}

    def trained(run_dir):
        config = run_config(data_root, run_dir, augmentation, workers=workers)
        return train(config, verbose=0)["epochs"]

    first, second = trained(tmp_path / "a"), trained(tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)


def test_class_weight_correction_changes_inference_only(data_root, tmp_path):
    weights = [1.0, 20.0, 20.0, 20.0, 20.0, 10.0]

    def weighted(run_dir, **settings):
        # float32: the checkpoint is compared loaded as is (a .keras file keeps no policy)
        config = run_config(data_root, run_dir, precision="float32").to_dict()
        config["data"]["class_weights"] = weights
        config["train"].update(settings)
        return config_from_dict(config)

    plain = weighted(tmp_path / "plain")
    corrected = weighted(tmp_path / "corrected", class_weight_correction=1.0)
    first = train(plain, verbose=0)["epochs"]
    second = train(corrected, verbose=0)["epochs"]
    for a, b in zip(first, second, strict=True):  # the same training
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    model = keras.models.load_model(tmp_path / "corrected" / "best.keras", compile=False)
    assert model.get_layer("inference_factors").factors == [1 / w for w in weights]
    uncorrected = RunSetup(plain).build_model((32, 32))
    uncorrected.set_weights(model.get_weights())
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = uncorrected.predict(images, verbose=0) / np.asarray(weights)
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(model.predict(images, verbose=0), expected, rtol=1e-4, atol=1e-6)
    # evaluate and infer fold the factors into the class head: the graph without them
    folded = RunSetup(corrected).trained_model()
    assert folded.factors_folded_in == "head"
    assert [layer.name for layer in folded.layers] == [layer.name for layer in uncorrected.layers]
    np.testing.assert_allclose(folded.predict(images, verbose=0), expected, rtol=1e-4, atol=1e-6)
    with pytest.raises(ConfigError, match=r"model\.fold_inference_factors is for inference"):
        settings = {**corrected.to_dict()["model"], "fold_inference_factors": True}
        RunSetup(corrected.with_model(settings)).build_model((32, 32))
    # The config's correction applies to a checkpoint trained with another: chosen afterwards.
    undone = RunSetup(plain).trained_model(tmp_path / "corrected" / "best.keras")
    assert "inference_factors" not in [layer.name for layer in undone.layers]
    np.testing.assert_allclose(
        undone.predict(images, verbose=0), uncorrected.predict(images, verbose=0), rtol=1e-5
    )


def test_weight_decay_is_never_silently_ignored(data_root, tmp_path):
    with pytest.raises(ConfigError, match=r"weight_decay=0\.01 applies to optimizer adamw only"):
        train(run_config(data_root, tmp_path / "run", weight_decay=0.01), verbose=0)
    adamw = train(run_config(data_root, tmp_path / "w", optimizer="adamw"), verbose=0)
    assert np.isfinite(adamw["epochs"][-1]["loss"])


@pytest.mark.parametrize(("decay", "expected"), [(0.5, 1 - 0.1 * 0.5), (None, 1 - 0.1 * 0.004)])
def test_weight_decay_shrinks_the_weights_by_rate_times_decay(decay, expected):
    from flexseg.run.optimizers import make_optimizer

    settings = config_from_dict({
        "data": {"root": "d", "palette": "mvtec_screw"},
        "train": {"optimizer": "adamw", "weight_decay": decay, "learning_rate": 0.1},
    }).train  # fmt: skip
    optimizer = make_optimizer(settings)
    weight = keras.Variable(np.ones((3,), np.float32))
    # A zero gradient moves nothing in Adam's part: what changes is the decay alone.
    optimizer.apply_gradients([(keras.ops.zeros((3,)), weight)])
    assert keras.ops.convert_to_numpy(weight) == pytest.approx([expected] * 3, rel=1e-6)


def test_loss_names():
    assert get_loss("cce").name == "cce" and get_loss("cce+dice").name == "cce_plus_dice"
    with pytest.raises(FlexsegError, match=r"unknown loss .dise..*Did you mean: dice"):
        get_loss("cce+dise")


def test_replayed_epochs_leave_the_plateau_callbacks_as_the_uninterrupted_run_did():
    from flexseg.run.callbacks import ReplayEpochs

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    losses = [1.0, 0.8, 0.9, 0.85, 0.95, 0.7, 0.75, 0.8]  # plateaus after epochs 2 and 6

    def plateau_callbacks():
        return [
            keras.callbacks.EarlyStopping(patience=4),
            keras.callbacks.ReduceLROnPlateau(patience=2, factor=0.5, cooldown=1),
        ]

    def state(callbacks):
        stop, reduce = callbacks
        return [float(stop.best), stop.wait, stop.best_epoch,
                float(reduce.best), reduce.wait, reduce.cooldown_counter]  # fmt: skip

    uninterrupted = plateau_callbacks()
    for callback in uninterrupted:
        callback.set_model(model)
        callback.on_train_begin()
    rates = []
    for epoch, loss in enumerate(losses):
        for callback in uninterrupted:
            callback.on_epoch_end(epoch, {"val_loss": loss})
        rates.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    assert rates[-1] < 0.01 and not model.stop_training  # the test passes through a reduction

    # A run cut after 6 epochs resumes: the replay brings the callbacks to where they were,
    # without touching the model, and the last 2 epochs then count on as before.
    model.optimizer.learning_rate = rates[5]  # what the backup restores
    resumed = plateau_callbacks()
    rows = [{"epoch": e + 1, "val_loss": loss} for e, loss in enumerate(losses[:6])]
    for callback in [*resumed, ReplayEpochs(resumed, rows)]:
        callback.set_model(model)
        callback.on_train_begin()
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == rates[5]
    assert [c.model for c in resumed] == [model, model] and not model.stop_training
    assert [c.verbose for c in resumed] == [0, 0]  # as made: their own setting is kept
    for epoch, loss in enumerate(losses[6:], start=6):
        for callback in resumed:
            callback.on_epoch_end(epoch, {"val_loss": loss})
    assert state(resumed) == state(uninterrupted)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == rates[-1]


class ResumeRecorder(keras.callbacks.Callback):
    """What a resumed fit starts from (after BackupAndRestore, which runs before it) and the
    epochs it runs."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_train_begin(self, logs=None):
        self.iterations = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self.weights = [keras.ops.convert_to_numpy(w) for w in self.model.weights]

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch + 1)


@pytest.fixture
def recorded_resume(monkeypatch):
    from flexseg.run.setup import RunSetup

    recorder = ResumeRecorder()
    original = RunSetup.run_callbacks
    monkeypatch.setattr(RunSetup, "run_callbacks", lambda *a, **k: [*original(*a, **k), recorder])
    return recorder


def killed_run(data_root, tmp_path, epochs: int = 6) -> Path:
    """The config of a run whose training process was killed just after its second
    epoch's backup (or a later one) was written."""
    config = tmp_path / "run.toml"
    config.write_text(
        '[model]\nname = "flexunet"\nbase_filters = 2\nnum_layers = 2\ndropout_rate = 0.2\n'
        f'[data]\nroot = "{data_root}"\npalette = "mvtec_screw"\n'
        "augmentation = { hflip = true, vflip = true }\n"
        f'[train]\nepochs = {epochs}\nbatch_size = 1\nrun_dir = "{tmp_path / "run"}"\n'
        "patience = 0\nreduce_lr_patience = 0\nepoch_change_images = 0\n"
    )
    command = [sys.executable, "-m", "flexseg.train", str(config)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    state = tmp_path / "run" / "backup" / "training_metadata.json"
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        with contextlib.suppress(OSError, ValueError):  # absent, or being written
            if json.loads(state.read_text())["epoch"] >= 2:
                break  # the second epoch's backup is complete: the third epoch begins
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    return config


def backup_of(config_path: Path, weights: Path, state: Path) -> tuple[int, list]:
    """(epochs the backup holds, its weights loaded into the run's model)."""
    from flexseg.config import load_config
    from flexseg.run.setup import RunSetup

    setup = RunSetup(load_config(config_path))
    training, _ = setup.training_data()
    model = setup.compiled_model(len(training), training.image_size)
    named = config_path.with_name("backup.weights.h5")  # the name Keras reads weights by
    shutil.copyfile(weights, named)
    model.load_weights(named)
    return json.loads(state.read_text())["epoch"], [w.numpy() for w in model.weights]


def test_a_killed_run_resumes_from_its_backup(data_root, tmp_path, recorded_resume, capsys):
    from flexseg.config import load_config

    config_path = killed_run(data_root, tmp_path)
    backup = tmp_path / "run" / "backup"
    before = json.loads((tmp_path / "run" / "history.json").read_text())["epochs"]
    backed_up, weights = backup_of(
        config_path, backup / "latest.weights.h5", backup / "training_metadata.json"
    )
    assert 2 <= backed_up < 6 and len(before) >= backed_up
    config = load_config(config_path)
    after = train(config, verbose=0)["epochs"]
    assert "Resuming the interrupted run" in capsys.readouterr().out
    # Only the remaining epochs ran, from the backup's weights and optimizer step count.
    assert recorded_resume.epochs == list(range(backed_up + 1, 7))
    steps = math.ceil(len(find_pairs(data_root / "train")) / config.train["batch_size"])
    assert recorded_resume.iterations == backed_up * steps
    for restored, saved in zip(recorded_resume.weights, weights, strict=True):
        np.testing.assert_array_equal(restored, saved)
    assert [row["epoch"] for row in after] == [1, 2, 3, 4, 5, 6]
    assert after[:backed_up] == before[:backed_up]  # finished epochs' logs kept as they were
    # And the resumed epochs trained as those of an uninterrupted run: the batches in the same
    # order with the same augmentation (before, a resumed run repeated epoch 1's).
    whole = config.to_dict()
    whole["train"]["run_dir"] = str(tmp_path / "uninterrupted")
    uninterrupted = train(config_from_dict(whole), verbose=0)["epochs"]
    for key in ("loss", "val_loss"):
        assert [row[key] for row in after] == pytest.approx(
            [row[key] for row in uninterrupted], rel=1e-6
        ), key


def test_a_kill_while_the_backup_is_written_resumes_from_the_one_before(
    data_root, tmp_path, recorded_resume, capsys
):
    from flexseg.config import load_config

    config_path = killed_run(data_root, tmp_path)
    backup = tmp_path / "run" / "backup"
    previous, weights = backup_of(
        config_path, backup / "latest.weights.h5.bkp", backup / "training_metadata.json.bkp"
    )
    # Cut both files of the latest pair, as a kill in the middle of writing them would.
    for name in ("latest.weights.h5", "training_metadata.json"):
        path = backup / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    train(load_config(config_path), verbose=0)
    assert "from the backup before its last (cut)" in capsys.readouterr().out
    assert recorded_resume.epochs == list(range(previous + 1, 7))
    for restored, saved in zip(recorded_resume.weights, weights, strict=True):
        np.testing.assert_array_equal(restored, saved)


def test_a_run_killed_before_its_first_backup_starts_again(data_root, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        '[model]\nname = "flexunet"\nbase_filters = 2\nnum_layers = 2\n'
        f'[data]\nroot = "{data_root}"\n'
        f'[train]\nepochs = 1\nbatch_size = 1\nrun_dir = "{tmp_path / "run"}"\n'
    )
    command = [sys.executable, "-m", "flexseg.train", str(config)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not (tmp_path / "run" / "config.toml").exists():
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)  # the run folder exists; no epoch has finished
    process.wait()
    assert not (tmp_path / "run" / "backup").exists()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Starting again" in result.stdout and "stopped before its first backup" in result.stdout
    assert (tmp_path / "run" / "last.keras").is_file()
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "already holds a run's results" in again.stderr


def test_a_run_folder_with_other_files_is_not_cleared(data_root, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text("# an earlier attempt\n")
    (run / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"stopped before its first backup, and also notes\.txt"):
        train(run_config(data_root, run, epochs=1), verbose=0)
    assert (run / "notes.txt").read_text() == "mine"


def test_cosine_schedule_decays_and_refuses_a_plateau_reducer(data_root, tmp_path):
    with pytest.raises(ConfigError, match=r"set train\.reduce_lr_patience = 0"):
        train(run_config(data_root, tmp_path / "a", lr_schedule="cosine"), verbose=0)
    config = run_config(data_root, tmp_path / "b", epochs=3, lr_schedule="cosine",
                        learning_rate=1e-2, reduce_lr_patience=0, patience=0)  # fmt: skip
    rates = [row["learning_rate"] for row in train(config, verbose=0)["epochs"]]
    assert rates[0] < 1e-2 and rates[0] > rates[1] > rates[2] >= 1e-4 * 0.999, rates


@pytest.fixture
def built(monkeypatch) -> list:
    """The models train() builds, in order."""
    from flexseg.run.setup import RunSetup

    models = []
    original = RunSetup.build_model

    def recording_build(*args, **kwargs):
        models.append(original(*args, **kwargs))
        return models[-1]

    monkeypatch.setattr(RunSetup, "build_model", recording_build)
    return models


def test_mixed_precision_trains_in_bfloat16_and_leaves_the_global_policy(
    data_root, tmp_path, built
):
    config = run_config(data_root, tmp_path / "run", epochs=1, precision="mixed_bfloat16")
    history = train(config, verbose=0)
    assert np.isfinite(history["epochs"][0]["loss"])
    convolutions = [layer for layer in built[0].layers if isinstance(layer, keras.layers.Conv2D)]
    assert {layer.compute_dtype for layer in convolutions} == {"bfloat16"}
    assert {layer.variable_dtype for layer in convolutions} == {"float32"}
    assert built[0].output.dtype == "float32"  # probabilities stay float32
    assert keras.config.dtype_policy().name == "float32"
    # Evaluated and run in float32, even where the global policy is another.
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        trained = RunSetup(config).trained_model()
    finally:
        keras.config.set_dtype_policy("float32")
    assert trained.get_layer("enc0_conv1").compute_dtype == "float32"


def test_precision_auto_is_the_default_and_resolves_per_backend(
    data_root, tmp_path, monkeypatch, built
):
    from flexseg import runtime

    monkeypatch.setattr(runtime, "cpu_has_native_bfloat16", lambda: True)
    config = run_config(data_root, tmp_path / "run", epochs=1)
    assert config.train["precision"] == "auto"
    train(config, verbose=0)
    # A CPU with native bfloat16 and no GPU (as in CI): bfloat16 on TensorFlow only.
    expected = "mixed_bfloat16" if keras.backend.backend() == "tensorflow" else "float32"
    assert built[0].get_layer("enc0_conv1").dtype_policy.name == expected
    assert keras.config.dtype_policy().name == "float32"


def test_tensorboard_logs_are_written_when_asked(data_root, tmp_path):
    train(run_config(data_root, tmp_path / "run", epochs=1, tensorboard=True), verbose=0)
    events = list((tmp_path / "run" / "tensorboard").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event file"
