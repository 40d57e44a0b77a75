"""A TensorFlow SavedModel export, run by TensorFlow: the one runtime that is a backend
framework, kept apart so that the rest of flexseg imports none (tests/test_backend_agnostic.py
lists this module as an adapter).

Example (the folder of `flexseg export RUN --format saved_model --out DIR`):
    >>> SavedModelModel.__mro__[1].__name__
    'ExportedModel'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from flexseg.export.exported_model import ExportedModel


class SavedModelModel(ExportedModel):
    def __init__(self, folder: Path, sidecar: dict[str, Any]):
        super().__init__(folder, sidecar)
        import tensorflow as tf

        self.loaded = tf.saved_model.load(str(self.path))  # kept: serve needs its variables

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.loaded.serve(batch).numpy()
