"""TensorFlow-FlexUNet's Keras 2 HDF5 checkpoints load into flexseg's FlexUNet on every backend."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import flexseg

WRITER = Path(__file__).with_name("original_checkpoint_writer.py")

CONFIGS = {
    "batchnorm_dilated_multiclass": dict(
        num_classes=4,
        input_shape=[32, 32, 3],
        base_filters=4,
        base_kernels=[7, 7],
        num_layers=4,
        dropout_rate=0.05,
        dilation=[2, 2],
        activation="relu",
        normalization=True,
        input_normalize=True,
    ),
    "raw_input_single_class": dict(
        num_classes=1,
        input_shape=[16, 16, 1],
        base_filters=2,
        base_kernels=[5, 5],
        num_layers=3,
        dropout_rate=0.03,
        dilation=[1, 1],
        activation="elu",
        normalization=False,
        input_normalize=False,
    ),
}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def original_run(request, tmp_path_factory):
    """A folder with checkpoints the original would have written, plus its predictions."""
    settings = CONFIGS[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    (folder / "settings.json").write_text(json.dumps(settings))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run(
        [sys.executable, str(WRITER), str(folder / "settings.json"), str(folder)],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    return settings, folder


@pytest.mark.parametrize("checkpoint", ["best_model.h5", "weights.h5"])
def test_original_checkpoint_gives_the_original_predictions(original_run, checkpoint):
    settings, folder = original_run
    model = flexseg.build("flexunet", **settings)
    model.load_weights(folder / checkpoint)
    images = np.load(folder / "images.npy")
    ours = keras.ops.convert_to_numpy(model.predict(images, verbose=0))
    theirs = np.load(folder / "predictions.npy")
    assert ours.shape == theirs.shape
    assert theirs.std() > 1e-3, (
        "the reference predictions are constant: the comparison would be weak"
    )
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_checkpoint_with_other_settings_fails_loudly(original_run):
    settings, folder = original_run
    other = dict(settings, num_layers=settings["num_layers"] - 1)
    model = flexseg.build("flexunet", **other)
    with pytest.raises(ValueError, match=r"(?i)layer"):
        model.load_weights(folder / "best_model.h5")
