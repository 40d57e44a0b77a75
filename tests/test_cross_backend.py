"""Weights saved under each other backend load under this one and predict the same (1e-4)."""

import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import flexseg
from tests.model_checks import predict

WORKER = Path(__file__).with_name("backend_worker.py")
HERE = keras.backend.backend()
OTHERS = [b for b in ("tensorflow", "jax", "torch") if b != HERE]


# `make test` sets FLEXSEG_TEST_CACHE: a backend's worker output is then made once per
# `make test` and reused by the other two backends' runs (it depends only on the code and
# the library versions, which the folder name fingerprints).
CACHE = os.environ.get("FLEXSEG_TEST_CACHE")
ROOT = Path(__file__).resolve().parents[1]


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for folder in ("flexseg", "registry"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".toml"):
                digest.update(path.relative_to(ROOT).as_posix().encode())
                digest.update(path.read_bytes())
    for script in (WORKER, WORKER.with_name("model_checks.py")):
        digest.update(script.read_bytes())
    for package in ("keras", "tensorflow", "jax", "torch", "numpy", "h5py"):
        digest.update(f"{package}={importlib.metadata.version(package)}".encode())
    return digest.hexdigest()[:16]


def _run_worker(backend: str, folder: Path) -> None:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, str(WORKER), str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module", params=OTHERS)
def saved_elsewhere(request, tmp_path_factory):
    backend = request.param
    if CACHE:
        folder = Path(CACHE) / "cross_backend" / f"{backend}-{_fingerprint()}"
        if not (folder / "backend.txt").is_file():
            staging = folder.with_name(f"{folder.name}.{os.getpid()}.incomplete")
            shutil.rmtree(staging, ignore_errors=True)
            _run_worker(backend, staging)
            staging.replace(folder)
    else:
        folder = tmp_path_factory.mktemp(f"from_{backend}")
        _run_worker(backend, folder)
    assert (folder / "backend.txt").read_text() == backend
    return folder


@pytest.mark.parametrize("architecture", flexseg.list_models())
def test_weights_load_across_backends(saved_elsewhere, architecture):
    keras.utils.set_random_seed(123)  # different initial weights from the worker's
    model = flexseg.build(f"{architecture}_tiny")
    images = np.load(saved_elsewhere / f"{architecture}.images.npy")
    theirs = np.load(saved_elsewhere / f"{architecture}.npy")
    gap_before = np.abs(predict(model, images) - theirs).max()
    model.load_weights(saved_elsewhere / f"{architecture}.weights.h5")
    gap_after = np.abs(predict(model, images) - theirs).max()
    # Some fresh models predict nearly uniform probabilities, so "close" alone proves little:
    # loading must also shrink the gap to the other backend's predictions at least tenfold.
    assert gap_before > 1e-5, "fresh weights already predict the same: weak comparison"
    assert gap_after < min(1e-4, gap_before / 10), (gap_before, gap_after)
