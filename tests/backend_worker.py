"""Save every architecture's tiny-preset weights and predictions under one backend.

    KERAS_BACKEND=jax python tests/backend_worker.py OUT_DIR

Writes OUT_DIR/<architecture>.weights.h5, OUT_DIR/<architecture>.npy (predictions on
OUT_DIR/<architecture>.images.npy) and OUT_DIR/backend.txt.
"""

import sys
from pathlib import Path

import keras
import numpy as np

import flexseg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.model_checks import predict  # one compiled function on JAX


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for architecture in flexseg.list_models():
        keras.utils.set_random_seed(7)
        model = flexseg.build(f"{architecture}_tiny")
        shape = (2, *model.input_shape[1:])
        images = np.random.default_rng(7).uniform(0, 255, shape).astype("float32")
        model.save_weights(out / f"{architecture}.weights.h5")
        np.save(out / f"{architecture}.images.npy", images)
        np.save(out / f"{architecture}.npy", predict(model, images))
    (out / "backend.txt").write_text(keras.backend.backend())


if __name__ == "__main__":
    main(sys.argv[1])
