"""Data-parallel training (train.distribution = "data_parallel") on CPU virtual devices.

JAX and TensorFlow split the CPU into two devices in a subprocess (tests/distributed_launch.py);
two processes on loopback stand for two machines. torch has no distribution in Keras 3.15.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexseg.config import ConfigError, config_from_dict
from flexseg.data import SegmentationDataset
from flexseg.data.pipeline.sharding import Shard
from flexseg.data.synthetic import write_dataset
from flexseg.errors import FlexsegError
from flexseg.run import distribution

BACKEND = keras.backend.backend()
LAUNCH = Path(__file__).with_name("distributed_launch.py")
needs_distribution = pytest.mark.skipif(
    BACKEND == "torch", reason="Keras 3.15 has no distribution for the torch backend"
)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    # 4 training images, 3 validation images: validation pads one image on two devices.
    root = tmp_path_factory.mktemp("data") / "screws"
    written = write_dataset(root, size=32, count=9, seed=0, split=(0.45, 0.35, 0.2))
    counts = [
        len(list((written.root / split / "images").iterdir())) for split in ("train", "valid")
    ]
    assert counts == [4, 3]
    return written.root


def write_config(folder: Path, data_root: Path, **train) -> Path:
    settings = {"epochs": 1, "batch_size": 4, "precision": "float32", "patience": 0,
                "reduce_lr_patience": 0, "epoch_change_images": 2, **train}  # fmt: skip
    lines = [
        '[model]\nname = "flexunet"\nbase_filters = 2\nnum_layers = 2\ndropout_rate = 0.0',
        f'normalization = true\n[data]\nroot = "{data_root}"\n[train]',
        *(f"{key} = {json.dumps(value)}" for key, value in settings.items()),
    ]
    path = folder / "run.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def launch(devices: int, config: Path, *settings: str, env=None, wait=True):
    """`flexseg train CONFIG --set ...` on `devices` virtual CPU devices."""
    command = [sys.executable, str(LAUNCH), str(devices), "train", str(config)]
    for setting in settings:
        command += ["--set", setting]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    if not wait:
        return subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=400)


def kill_after_the_first_backup(processes: list, run: Path) -> None:
    """SIGKILL every process of a run once its first epoch's backup is complete."""
    state = run / "backup" / "training_metadata.json"
    deadline = time.time() + 300
    while time.time() < deadline and all(p.poll() is None for p in processes):
        with contextlib.suppress(OSError, ValueError):  # absent, or being written
            if json.loads(state.read_text())["epoch"] >= 1:
                break
        time.sleep(0.01)
    assert all(p.poll() is None for p in processes), "the run ended before it was interrupted"
    for process in processes:
        process.send_signal(signal.SIGKILL)
        process.wait()


def history(run: Path) -> dict:
    return json.loads((run / "history.json").read_text())


def weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as saved:
        return [saved[name] for name in saved.files]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# === On two devices of one process ===


@needs_distribution
def test_a_training_step_on_two_devices_matches_one_device(data_root, tmp_path):
    """Same global batch, same loss and weights: batch norm's statistics and the gradients
    are taken over the whole batch on both devices."""
    config = write_config(tmp_path, data_root)
    runs = {}
    for kind in ("none", "data_parallel"):
        run, saved = tmp_path / kind, tmp_path / f"{kind}.npz"
        settings = (f'train.distribution="{kind}"', f'train.run_dir="{run}"')
        result = launch(2, config, *settings, env={"FLEXSEG_TEST_WEIGHTS": str(saved)})
        assert result.returncode == 0, result.stderr[-3000:]
        runs[kind] = (history(run), weights(saved))
    (one, one_weights), (two, two_weights) = runs["none"], runs["data_parallel"]
    assert two["run"] == {"backend": BACKEND, "distribution": "data_parallel", "devices": 2,
                          "processes": 1}  # fmt: skip
    assert one["run"]["devices"] == 1
    # Batch norm over each device's half alone changes the loss by about 1e-3.
    np.testing.assert_allclose(two["epochs"][0]["loss"], one["epochs"][0]["loss"], rtol=1e-5)
    assert len(one_weights) == len(two_weights)
    # Adam's first step moves a weight by about the learning rate (1e-3) whatever its
    # gradient's size, so rounding in a tiny gradient shows at up to a tenth of that.
    for a, b in zip(one_weights, two_weights, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert not np.allclose(one_weights[0], weights_at_start(data_root, tmp_path), atol=1e-4)


def weights_at_start(data_root: Path, folder: Path) -> np.ndarray:
    """The first kernel as built from the test config's seed, before any step."""
    from flexseg.config import load_config
    from flexseg.run.setup import RunSetup

    config = load_config(write_config(folder, data_root))
    keras.utils.set_random_seed(config.train["seed"])
    return keras.ops.convert_to_numpy(RunSetup(config).build_model((32, 32)).weights[0])


@needs_distribution
def test_a_killed_data_parallel_run_resumes_and_scores_validation_exactly(data_root, tmp_path):
    config = write_config(tmp_path, data_root, epochs=6, batch_size=2)
    run = tmp_path / "run"
    settings = ('train.distribution="data_parallel"', f'train.run_dir="{run}"',
                "model.normalization=false", "model.input_normalize=false")  # fmt: skip
    kill_after_the_first_backup([launch(2, config, *settings, wait=False)], run)
    result = launch(2, config, *settings)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming the interrupted run" in result.stdout
    logged = history(run)
    assert [row["epoch"] for row in logged["epochs"]] == [1, 2, 3, 4, 5, 6]
    assert logged["run"]["devices"] == 2
    for name in ("best.keras", "last.keras", "train_metrics.csv", "epoch_change"):
        assert (run / name).exists(), name
    # Validation (3 images on 2 devices: one padding image) scores each image once: the
    # logged scores are those of the final weights on one device.
    from flexseg.metrics.training import training_metrics

    model = keras.models.load_model(run / "last.keras", compile=False)
    valid = SegmentationDataset(data_root, "mvtec_screw", split="valid", batch_size=3)
    model.compile(loss="categorical_crossentropy", metrics=training_metrics(valid.palette.names))
    scores = model.evaluate(valid, verbose=0, return_dict=True)
    last = logged["epochs"][-1]
    for name in valid.palette.names:
        assert last[f"val_iou_{name}"] == pytest.approx(scores[f"iou_{name}"], abs=1e-6), name
    assert last["val_fg_miou"] == pytest.approx(scores["fg_miou"], abs=1e-6)


@needs_distribution
def test_a_global_batch_that_does_not_divide_among_the_devices_is_refused(data_root, tmp_path):
    config = write_config(tmp_path, data_root, batch_size=3)
    result = launch(
        2, config, 'train.distribution="data_parallel"', f'train.run_dir="{tmp_path}/r"'
    )
    assert result.returncode == 2
    assert "train.batch_size=3" in result.stderr and "2 devices" in result.stderr
    assert not (tmp_path / "r").exists()


# === Two processes on loopback, one device each ===


def launch_processes(config: Path, folder: Path, run_dirs: list[Path], *settings: str):
    """One `flexseg train` process per run folder, on loopback: process 0 is the chief. On
    JAX, process 0 joins by the config's keys, the others by Keras's environment variables."""
    workers = [f"127.0.0.1:{free_port()}" for _ in run_dirs]
    processes = []
    for index, run_dir in enumerate(run_dirs):
        env = {"FLEXSEG_TEST_WEIGHTS": str(folder / f"process{index}.npz")}
        given = ['train.distribution="data_parallel"', f'train.run_dir="{run_dir}"', *settings]
        if BACKEND == "jax" and index == 0:  # the config's keys
            given += [f'train.coordinator="{workers[0]}"', f"train.num_processes={len(workers)}",
                      "train.process_id=0"]  # fmt: skip
        elif BACKEND == "jax":  # Keras's environment variables
            env.update(KERAS_DISTRIBUTION_JOB_ADDRESSES=",".join(workers),
                       KERAS_DISTRIBUTION_NUM_PROCESSES=str(len(workers)),
                       KERAS_DISTRIBUTION_PROCESS_ID=str(index))  # fmt: skip
        else:
            env["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers},
                                           "task": {"type": "worker", "index": index}})  # fmt: skip
        processes.append(launch(1, config, *given, env=env, wait=False))
    return processes


def finished(processes) -> list[str]:
    """Each process's standard output, once all have ended well."""
    outputs = [process.communicate(timeout=400) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
    return [stdout for stdout, _ in outputs]


def same_weights_in_every_process(folder: Path, count: int = 2) -> None:
    first = weights(folder / "process0.npz")
    for index in range(1, count):
        for a, b in zip(first, weights(folder / f"process{index}.npz"), strict=True):
            np.testing.assert_array_equal(a, b)


@needs_distribution
def test_two_processes_train_together_and_only_the_chief_writes(data_root, tmp_path):
    config = write_config(tmp_path, data_root, epochs=2)
    # The non-chief gets a folder of its own here, to show that it writes nothing.
    chief, other = tmp_path / "run0", tmp_path / "run1"
    finished(launch_processes(config, tmp_path, [chief, other]))
    assert history(chief)["run"] == {"backend": BACKEND, "distribution": "data_parallel",
                                     "devices": 2, "processes": 2}  # fmt: skip
    assert [row["epoch"] for row in history(chief)["epochs"]] == [1, 2]
    assert (chief / "last.keras").is_file() and (chief / "epoch_change").is_dir()
    assert not other.exists()
    same_weights_in_every_process(tmp_path)


@needs_distribution
def test_two_killed_processes_resume_together_from_the_chiefs_backup(data_root, tmp_path):
    config = write_config(tmp_path, data_root, epochs=6, batch_size=2, epoch_change_images=0)
    run = tmp_path / "run"  # one folder that both processes see
    kill_after_the_first_backup(launch_processes(config, tmp_path, [run, run]), run)
    chief_output, _ = finished(launch_processes(config, tmp_path, [run, run]))
    assert "Resuming the interrupted run" in chief_output
    assert [row["epoch"] for row in history(run)["epochs"]] == [1, 2, 3, 4, 5, 6]
    same_weights_in_every_process(tmp_path)


# === In this process ===


@pytest.mark.skipif(BACKEND != "torch", reason="the torch backend's refusal")
def test_data_parallel_on_torch_is_a_clear_error(data_root, tmp_path):
    from flexseg.train import train

    config = config_from_dict({
        "data": {"root": str(data_root)},
        "train": {"distribution": "data_parallel", "run_dir": str(tmp_path / "run")},
    })  # fmt: skip
    with pytest.raises(FlexsegError, match=rf"torch backend: Keras {keras.__version__} ships no"):
        train(config, verbose=0)
    assert not (tmp_path / "run").exists()


def test_torch_data_parallel_turns_on_with_the_keras_release_that_has_it():
    released = distribution.torch_data_parallel_released
    assert not released(keras.__version__)  # 3.15.1: none
    assert not released("3.15.1", since="3.16")
    assert released("3.16.0", since="3.16") and released("3.20.1rc0", since="3.16")
    assert not released("3.16.0.dev2026", since="3.17")


def test_one_device_is_the_default(data_root, tmp_path):
    config = config_from_dict({"data": {"root": str(data_root)}})
    plan = distribution.start(config.train)
    assert (plan.kind, plan.num_devices, plan.is_chief) == ("none", 1, True)
    assert plan.shard("ignore").is_whole


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ({"devices": 2}, "train.devices applies to data-parallel training only"),
        ({"distribution": "data_parallel", "devices": [0, 0]}, "distinct local device indices"),
        ({"distribution": "data_parallel", "num_processes": 2}, "needs train.coordinator and"),
        (
            {
                "distribution": "data_parallel",
                "coordinator": "h:1",
                "num_processes": 2,
                "process_id": 2,
            },
            "process_id=2 must be below train.num_processes=2",
        ),
        ({"distribution": "ddp"}, "train.distribution must be one of 'none', 'data_parallel'"),
    ],
)
def test_distribution_settings_are_checked_when_the_config_loads(data_root, train, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"data": {"root": str(data_root)}, "train": train})


def test_validation_padding_is_ignored_by_the_scores(data_root):
    padded = SegmentationDataset(
        data_root, "mvtec_screw", split="valid", batch_size=4, shard=Shard(0, 1, 4, "ignore")
    )
    images, labels, sample_weights = padded[0]
    assert images.shape[0] == 4 and len(padded) == 1
    assert not labels[3].any() and not sample_weights[3].any()  # no class, weight 0
    plain = SegmentationDataset(data_root, "mvtec_screw", split="valid", batch_size=4)
    np.testing.assert_array_equal(labels[:3], plain[0][1])
    assert sample_weights[:3].min() == 1


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(1, 40),
    per_device=st.integers(1, 3),
    devices=st.sampled_from([(1, 1), (1, 2), (2, 1), (2, 2), (3, 2)]),
    padding=st.sampled_from(["repeat", "ignore"]),
)
def test_the_processes_parts_make_up_the_batches_of_one_device(
    length, per_device, devices, padding
):
    processes, local = devices
    multiple = processes * local
    batch = multiple * per_device
    order = np.random.default_rng(length).permutation(length)
    shards = [Shard(p, processes, multiple, padding) for p in range(processes)]
    parts = [shard.batches(order, batch) for shard in shards]
    one_device = Shard(0, 1, multiple, padding).batches(order, batch)
    assert all(len(p) == len(one_device) for p in parts)
    seen = []
    for number, (ids, pads) in enumerate(one_device):
        assert len(ids) % multiple == 0 and len(ids) <= batch
        joined = np.concatenate([p[number][0] for p in parts])
        np.testing.assert_array_equal(joined, ids)
        assert all(len(p[number][0]) == len(ids) // processes for p in parts)
        seen += list(ids[~pads])
    assert sorted(seen) == sorted(order)  # every image once, padding aside
    padded = sum(int(pads.sum()) for _, pads in one_device)
    assert padded == Shard(0, 1, multiple).padded_length(length) - length < multiple


def test_tune_refuses_a_distributed_config_rather_than_ignoring_it(data_root, tmp_path):
    from flexseg.tune.search import tune

    config = config_from_dict({
        "data": {"root": str(data_root)},
        "train": {"distribution": "data_parallel", "run_dir": str(tmp_path / "run")},
    })  # fmt: skip
    with pytest.raises(FlexsegError, match="chief/worker mode"):
        tune(config)
    assert not (tmp_path / "run").exists()


def test_a_run_resumes_on_other_devices_and_processes_but_not_with_other_settings(
    data_root, tmp_path
):
    from flexseg.config.toml_writer import dumps
    from flexseg.train.fit import run_dir_state

    def config(**train):
        return config_from_dict(
            {"data": {"root": str(data_root)}, "train": {"run_dir": str(tmp_path), **train}}
        )

    started = config(distribution="data_parallel", devices=4, coordinator="10.0.0.1:1234",
                     num_processes=2, process_id=1)  # fmt: skip
    (tmp_path / "config.toml").write_text(dumps(started.to_dict()))
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "latest.weights.h5").write_bytes(b"")
    assert run_dir_state(config()) == "resume"
    assert run_dir_state(config(distribution="data_parallel", devices=2)) == "resume"
    with pytest.raises(ConfigError, match="started with a different config"):
        run_dir_state(config(epochs=3))
