"""The export formats: their file, their runtime, and which backend exports each.

Keras exports every format from the TensorFlow backend. From JAX, Keras's ONNX route
(jax2onnx 0.17.1) wrote a max-pool that onnxruntime rejects and OpenVINO cannot read the
jax2tf graphs of its SavedModel route, so JAX models are exported by TensorFlow from the saved
`.keras` file (weights move between backends). From PyTorch, Keras exports OpenVINO itself and
ONNX with a static batch (torch 2.13's exporter fails on a dynamic one); the rest is exported
by TensorFlow.

Example:
    >>> get_format("onnx").runtime
    'onnxruntime'
    >>> exporting_backend(get_format("onnx"), "torch", batch=1), exporting_backend(
    ...     get_format("onnx"), "torch", batch=None)
    ('torch', 'tensorflow')
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from flexseg.errors import FlexsegError
from flexseg.suggest import did_you_mean

INSTALL = "pip install 'flexseg[export]'"


@dataclass(frozen=True)
class Format:
    """One export format: its name, Keras's name for it, the file written in the export
    folder, the module that converts to it and the module that runs it."""

    name: str
    keras_name: str
    file: str
    converter: str
    runtime: str


FORMATS = {
    "onnx": Format("onnx", "onnx", "model.onnx", "tf2onnx", "onnxruntime"),
    "saved_model": Format(
        "saved_model", "tf_saved_model", "saved_model", "tensorflow", "tensorflow"
    ),
    "openvino": Format("openvino", "openvino", "model.xml", "openvino", "openvino"),
    "litert": Format("litert", "litert", "model.tflite", "tensorflow", "ai_edge_litert"),
}
# The PyPI package of each module named above.
PACKAGES = {
    "tf2onnx": "tf2onnx",
    "onnxruntime": "onnxruntime",
    "onnx": "onnx",
    "onnxscript": "onnxscript",
    "openvino": "openvino",
    "tensorflow": "tensorflow",
    "ai_edge_litert": "ai-edge-litert",
}


def get_format(name: str) -> Format:
    """The format called `name`; an unknown name is an error listing the formats."""
    if name not in FORMATS:
        raise FlexsegError(
            f"unknown export format {name!r}.{did_you_mean(name, FORMATS)} "
            f"Formats: {', '.join(FORMATS)}."
        )
    return FORMATS[name]


def exporting_backend(fmt: Format, backend: str, batch: int | None) -> str:
    """The Keras backend that exports `fmt` for a model trained on `backend`."""
    if backend == "torch" and (fmt.name == "openvino" or (fmt.name == "onnx" and batch)):
        return "torch"
    return "tensorflow"


def converter_modules(fmt: Format, backend: str) -> tuple[str, ...]:
    """The modules exporting `fmt` from `backend` needs."""
    if fmt.name == "onnx":
        return ("onnx", "onnxscript", "torch") if backend == "torch" else ("onnx", "tf2onnx")
    return (fmt.converter,)


def check_modules(modules: tuple[str, ...], what: str) -> None:
    """Raise one error naming the package to install when a module is missing."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        packages = " ".join(PACKAGES.get(m, m) for m in missing)
        raise FlexsegError(
            f"{what} needs {', '.join(missing)}, which is not installed: run {INSTALL} "
            f"(or pip install {packages})."
        )
