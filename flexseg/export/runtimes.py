"""Exported models run by their own runtimes (onnxruntime, OpenVINO, LiteRT; SavedModel in
flexseg.export.tensorflow_runtime), each an `ExportedModel` that `flexseg infer` predicts with;
and what finds and loads an export folder.

Example (an export folder written by `flexseg export`):
    >>> is_export("runs/demo/best.keras")
    False
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from flexseg.errors import FlexsegError
from flexseg.export.exported_model import ExportedModel
from flexseg.export.formats import check_modules, get_format
from flexseg.export.sidecar import SIDECAR, read_sidecar

if TYPE_CHECKING:
    from flexseg.config import Config

SUFFIXES = (".onnx", ".xml", ".tflite")


class OnnxModel(ExportedModel):
    def __init__(self, folder: Path, sidecar: dict[str, Any]):
        super().__init__(folder, sidecar)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


class OpenVinoModel(ExportedModel):
    def __init__(self, folder: Path, sidecar: dict[str, Any]):
        super().__init__(folder, sidecar)
        import openvino

        # float32 arithmetic: OpenVINO's default on CPUs with bfloat16 units is bfloat16
        # (errors up to 3e-2 in the probabilities on this machine's CPU).
        self.compiled = openvino.Core().compile_model(
            str(self.path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
        )

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.compiled(batch)[0]


class LiteRtModel(ExportedModel):
    def __init__(self, folder: Path, sidecar: dict[str, Any]):
        super().__init__(folder, sidecar)
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(self.path))
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        self.allocated_batch = None

    def run(self, batch: np.ndarray) -> np.ndarray:
        if self.allocated_batch != len(batch):
            self.interpreter.resize_tensor_input(self.input_index, batch.shape)
            self.interpreter.allocate_tensors()
            self.allocated_batch = len(batch)
        self.interpreter.set_tensor(self.input_index, batch)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index)


RUNTIMES = {
    "onnx": OnnxModel,
    "openvino": OpenVinoModel,
    "litert": LiteRtModel,
}


def export_folder(path: str | Path) -> Path | None:
    """The export folder `path` names (the folder, its model.json or its model file), or None."""
    path = Path(path)
    if path.is_dir():
        return path if (path / SIDECAR).is_file() else None
    if path.name == SIDECAR or path.suffix in SUFFIXES:
        return path.parent if (path.parent / SIDECAR).is_file() else None
    return None


def is_export(path: str | Path) -> bool:
    """Whether `path` is an export folder written by `flexseg export` (or a file in one)."""
    return export_folder(path) is not None


def exported_config(model: ExportedModel, overrides: list[str] | None = None) -> Config:
    """A config for `flexseg infer` with an exported model: its classes, channels and scaling
    from model.json, and `overrides` (--set infer.KEY=VALUE) for the [infer] section."""
    from flexseg.config import config_from_dict

    sidecar = model.sidecar
    data = {
        "root": ".",
        "palette": sidecar["classes"],
        "channels": model.input_shape[-1],
        "scale": sidecar["scale"],
    }
    return config_from_dict({"data": data}, overrides, source=str(model.folder / SIDECAR))


def load_exported(path: str | Path) -> ExportedModel:
    """The exported model at `path` (its folder, model.json or model file), ready to predict."""
    folder = export_folder(path)
    if folder is None:
        raise FlexsegError(f"{path}: not an export folder (no {SIDECAR} beside it).")
    sidecar = read_sidecar(folder / SIDECAR)
    fmt = get_format(sidecar["format"])
    check_modules((fmt.runtime,), f"running a {fmt.name} model")
    if fmt.name == "saved_model":
        from flexseg.export.tensorflow_runtime import SavedModelModel

        return SavedModelModel(folder, sidecar)
    return RUNTIMES[fmt.name](folder, sidecar)
