"""`python -m flexseg.demo`: build the published MVTec-screw FlexUNet and check a prediction.

Prints the model summary, its parameter and multiply-accumulate counts, and checks that a
prediction on one image has the expected shape and per-pixel class probabilities summing to one.
Runs on whichever backend KERAS_BACKEND names.

Example:
    python -m flexseg.demo --preset flexunet_tiny
"""

from __future__ import annotations

import argparse
import sys
import time

import keras
import numpy as np

import flexseg
from flexseg.cards import model_card
from flexseg.errors import FlexsegError


def run(preset: str, seed: int) -> int:
    """Build `preset`, print what it is, predict one random image; return an exit code."""
    backend = keras.backend.backend()
    print(f"flexseg {flexseg.__version__}, Keras {keras.__version__}, backend {backend}")
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    model = flexseg.build(preset)
    print(f"Built {preset} in {time.perf_counter() - started:.1f} s")
    model.summary(line_length=110)
    card = model_card(model, preset)
    print(card)

    image = (
        np.random.default_rng(seed).uniform(0, 255, size=(1, *card.input_shape)).astype("float32")
    )
    started = time.perf_counter()
    prediction = keras.ops.convert_to_numpy(model.predict(image, verbose=0))
    print(f"Predicted one {card.input_shape} image in {time.perf_counter() - started:.1f} s")
    expected = (1, *card.output_shape)
    sums = prediction.sum(axis=-1 if model.data_format == "channels_last" else 1)
    problems = []
    if prediction.shape != expected:
        problems.append(f"prediction shape {prediction.shape}, expected {expected}")
    if not np.allclose(sums, 1.0, atol=1e-4):
        problems.append(
            f"class probabilities sum to [{sums.min():.6f}, {sums.max():.6f}], expected 1"
        )
    if problems:
        print("FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"OK: prediction shape {prediction.shape}, class probabilities sum to 1 at every pixel")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flexseg.demo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--preset", default="flexunet_mvtec_screw", help="preset to build (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and the test image")
    args = parser.parse_args(argv)
    try:
        return run(args.preset, args.seed)
    except FlexsegError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
