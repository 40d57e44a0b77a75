"""Weights saved under each other backend load under this one and predict the same (1e-4)."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import flexseg

WORKER = Path(__file__).with_name("backend_worker.py")
HERE = keras.backend.backend()
OTHERS = [b for b in ("tensorflow", "jax", "torch") if b != HERE]


@pytest.fixture(scope="module", params=OTHERS)
def saved_elsewhere(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"from_{request.param}")
    env = dict(os.environ, KERAS_BACKEND=request.param, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, str(WORKER), str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (folder / "backend.txt").read_text() == request.param
    return folder


@pytest.mark.parametrize("architecture", flexseg.list_models())
def test_weights_load_across_backends(saved_elsewhere, architecture):
    keras.utils.set_random_seed(123)  # different initial weights from the worker's
    model = flexseg.build(f"{architecture}_tiny")
    images = np.load(saved_elsewhere / f"{architecture}.images.npy")
    theirs = np.load(saved_elsewhere / f"{architecture}.npy")
    before = keras.ops.convert_to_numpy(model(images))
    assert np.abs(before - theirs).max() > 1e-3, "fresh weights already match: weak comparison"
    model.load_weights(saved_elsewhere / f"{architecture}.weights.h5")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(images)), theirs, atol=1e-4)
