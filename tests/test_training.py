"""Training from a config: outputs, no overwriting, LR reduction, seeds, kill-and-resume."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from PIL import Image

from flexseg.config import ConfigError, config_from_dict
from flexseg.data.synthetic import write_dataset
from flexseg.run.losses import get_loss
from flexseg.train import train


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "screws", size=32, count=12, seed=0).root


def run_config(data_root, run_dir, **train):
    settings = {"epochs": 2, "batch_size": 4, "run_dir": str(run_dir), "seed": 1, **train}
    return config_from_dict({
        "model": {"name": "flexunet", "base_filters": 2, "num_layers": 2},
        "data": {"root": str(data_root), "palette": "mvtec_screw"},
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


def test_same_seed_same_history(data_root, tmp_path):
    first = train(run_config(data_root, tmp_path / "a"), verbose=0)["epochs"]
    second = train(run_config(data_root, tmp_path / "b"), verbose=0)["epochs"]
    for a, b in zip(first, second, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)


def test_weight_decay_is_never_silently_ignored(data_root, tmp_path):
    with pytest.raises(ConfigError, match=r"weight_decay=0\.01 applies to optimizer adamw only"):
        train(run_config(data_root, tmp_path / "run", weight_decay=0.01), verbose=0)
    adamw = train(run_config(data_root, tmp_path / "w", optimizer="adamw"), verbose=0)
    assert np.isfinite(adamw["epochs"][-1]["loss"])


def test_loss_names():
    assert get_loss("cce").name == "cce" and get_loss("cce+dice").name == "cce_plus_dice"
    with pytest.raises(Exception, match=r"unknown loss .dise..*Did you mean: dice"):
        get_loss("cce+dise")


def test_killed_mid_epoch_then_resumed(data_root, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        '[model]\nname = "flexunet"\nbase_filters = 2\nnum_layers = 2\n'
        f'[data]\nroot = "{data_root}"\npalette = "mvtec_screw"\n'
        f'[train]\nepochs = 6\nbatch_size = 1\nrun_dir = "{tmp_path / "run"}"\n'
        "patience = 0\nreduce_lr_patience = 0\nepoch_change_images = 0\n"
    )
    command = [sys.executable, "-m", "flexseg.train", str(config)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    history = tmp_path / "run" / "history.json"
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if history.is_file() and len(json.loads(history.read_text())["epochs"]) >= 2:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be interrupted"
    time.sleep(0.3)  # into the next epoch
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = json.loads(history.read_text())["epochs"]
    assert 2 <= len(before) < 6
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Resuming" in result.stdout
    after = json.loads(history.read_text())["epochs"]
    assert [row["epoch"] for row in after] == [1, 2, 3, 4, 5, 6]
    for old, new in zip(before, after, strict=False):
        if old["epoch"] < len(before):  # epochs finished before the kill are kept as they were
            assert old == new
    assert np.isfinite(after[-1]["loss"])


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


def test_precision_auto_is_the_default_and_resolves_per_backend(
    data_root, tmp_path, monkeypatch, built
):
    from flexseg import runtime

    monkeypatch.setattr(runtime, "cpu_has_native_bfloat16", lambda: True)
    config = run_config(data_root, tmp_path / "run", epochs=1)
    assert config.train["precision"] == "auto"
    train(config, verbose=0)
    expected = runtime.resolve_precision("auto")
    assert built[0].get_layer("enc0_conv1").dtype_policy.name == expected
    assert keras.config.dtype_policy().name == "float32"


def test_tensorboard_logs_are_written_when_asked(data_root, tmp_path):
    train(run_config(data_root, tmp_path / "run", epochs=1, tensorboard=True), verbose=0)
    events = list((tmp_path / "run" / "tensorboard").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event file"
