"""Does an exported model predict what Keras predicts? Probabilities within 1e-4 (float32),
and the same arg-max map except on pixels whose top two probabilities are within 1e-3.

Example:
    >>> import numpy as np
    >>> keras_probabilities = np.array([[[[0.7, 0.3], [0.5004, 0.4996]]]])
    >>> exported_labels = np.array([[[0, 1]]])  # a runtime that returns labels
    >>> report = compare(keras_probabilities, exported_labels)
    >>> report["passed"], report["label_mismatches"], report["near_ties"]
    (True, 0, 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np

PROBABILITY_TOLERANCE = 1e-4
TIE = 1e-3  # top-two probabilities this close may flip between runtimes


def sample_images(shape: tuple[int, ...], scale: str, count: int = 2, seed: int = 0) -> np.ndarray:
    """`count` seeded images of `shape` (H, W, C) with smooth structure and noise, in `scale`."""
    random = np.random.default_rng(seed)
    height, width, channels = shape
    rows, columns = np.mgrid[0:height, 0:width]
    images = []
    for _ in range(count):
        frequency = random.uniform(0.05, 0.3, size=2)
        wave = np.sin(rows * frequency[0]) * np.cos(columns * frequency[1])
        noise = random.normal(0, 0.3, size=(height, width, channels))
        images.append(np.clip(127.5 + 100 * (wave[..., None] + noise), 0, 255))
    batch = np.stack(images).astype(np.float32)
    return batch / 255.0 if scale == "unit" else batch


def compare(
    keras_probabilities: np.ndarray,
    exported: np.ndarray,
    tolerance: float = PROBABILITY_TOLERANCE,
) -> dict[str, Any]:
    """The parity of an exported output (probabilities (N, H, W, K) or labels (N, H, W))
    with Keras's probabilities for the same images; probabilities may differ by `tolerance`."""
    keras_probabilities = np.asarray(keras_probabilities, np.float64)
    exported = np.asarray(exported)
    top_two = np.sort(keras_probabilities, axis=-1)[..., -2:]
    ties = (top_two[..., 1] - top_two[..., 0]) <= TIE
    keras_labels = keras_probabilities.argmax(axis=-1)
    if exported.ndim == keras_probabilities.ndim:
        difference = float(np.abs(exported.astype(np.float64) - keras_probabilities).max())
        exported_labels = exported.argmax(axis=-1)
    else:
        difference, exported_labels = None, exported
    mismatches = int(((exported_labels != keras_labels) & ~ties).sum())
    passed = mismatches == 0 and (difference is None or difference <= tolerance)
    return {
        "passed": passed,
        "max_probability_difference": difference,
        "label_mismatches": mismatches,
        "near_ties": int(ties.sum()),
        "pixels": int(keras_labels.size),
        "tolerance": tolerance,
    }
