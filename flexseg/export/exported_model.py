"""What every exported model offers `flexseg infer`'s Predictor, whatever runs it:
`input_shape`, `output_shape`, `size_multiple` and `predict_on_batch` (class probabilities; a
model exported with its arg-max returns labels, which come back one-hot). Each runtime
(flexseg.export.runtimes, flexseg.export.tensorflow_runtime) defines `run`.

Example:
    >>> ExportedModel.size_multiple  # exported at a fixed size: any image is resized to it
    1
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from flexseg.errors import FlexsegError
from flexseg.export.sidecar import SIDECAR, sidecar_palette


class ExportedModel:
    """An exported model's predictions as numpy, batch by batch."""

    size_multiple = 1

    def __init__(self, folder: Path, sidecar: dict[str, Any]):
        self.folder, self.sidecar = folder, sidecar
        self.path = folder / sidecar["file"]
        if not self.path.exists():
            raise FlexsegError(f"{self.path}: missing; {folder / SIDECAR} names it.")
        self.input_shape = tuple(sidecar["input_shape"])
        self.batch = self.input_shape[0]
        self.num_classes = len(sidecar["classes"])
        self.output_shape = (*self.input_shape[:3], self.num_classes)  # as probabilities
        self.palette = sidecar_palette(sidecar, str(folder / SIDECAR))

    def run(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def outputs(self, images: np.ndarray) -> np.ndarray:
        """The runtime's outputs (probabilities, or labels) for (N, H, W, C) float32 images."""
        images = np.asarray(images, np.float32)
        if images.shape[1:] != self.input_shape[1:]:
            raise FlexsegError(
                f"{self.path}: takes images of {self.input_shape[1:]}, given {images.shape[1:]}."
            )
        if self.batch is None:
            outputs = self.run(images)
        else:  # a static batch: full chunks, the last one padded
            chunks = []
            for start in range(0, len(images), self.batch):
                chunk = images[start : start + self.batch]
                padding = self.batch - len(chunk)
                if padding:
                    chunk = np.concatenate([chunk, np.repeat(chunk[-1:], padding, axis=0)])
                chunks.append(self.run(chunk)[: self.batch - padding])
            outputs = np.concatenate(chunks)
        return outputs

    def predict_on_batch(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W, K) float32 probabilities for (N, H, W, C) float32 images."""
        outputs = self.outputs(images)
        if self.sidecar["output"] == "labels":
            return np.eye(self.num_classes, dtype=np.float32)[outputs.astype(np.int64)]
        return outputs.astype(np.float32)
