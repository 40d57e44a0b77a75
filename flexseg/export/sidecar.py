"""`model.json`, written beside every exported model: what a deployment needs besides the
weights (input shape and scaling, the classes and their colors, what the output is, the
flexseg version and the model's settings), and what `flexseg infer` reads back.

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> data = {"format": "onnx", "file": "model.onnx", "input_name": "image",
    ...         "input_shape": [None, 32, 32, 3], "scale": "raw", "output": "probabilities",
    ...         "classes": [{"id": 0, "name": "background", "color": [0, 0, 0]},
    ...                     {"id": 1, "name": "scratch", "color": [255, 0, 0]}]}
    >>> _ = (folder / SIDECAR).write_text(json.dumps(data))
    >>> read_sidecar(folder / SIDECAR)["input_shape"]
    [None, 32, 32, 3]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flexseg.data.palette import Palette
from flexseg.errors import FlexsegError

SIDECAR = "model.json"
OUTPUTS = ("probabilities", "labels")
SCALES = ("raw", "unit")


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """The checked contents of a `model.json`; any problem is an error naming the file and key."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FlexsegError(f"{path}: not found; an export folder holds {SIDECAR}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FlexsegError(f"{path}: not valid JSON ({error}).") from None
    if not isinstance(data, dict):
        raise FlexsegError(f"{path}: expected a JSON object, found {type(data).__name__}.")

    def need(key: str, check, expected: str):
        if key not in data:
            raise FlexsegError(f"{path}: missing key {key!r} ({expected}).")
        if not check(data[key]):
            raise FlexsegError(f"{path}: {key} = {data[key]!r}; expected {expected}.")

    def text(value):
        return isinstance(value, str) and value != ""

    def size(value):
        return value is None or (
            isinstance(value, int) and not isinstance(value, bool) and value > 0
        )

    need("format", text, "the export format's name")
    need("file", lambda v: text(v) and Path(v).name == v, "a file name inside the export folder")
    need("input_name", text, "the name of the model's input")
    need(
        "input_shape",
        lambda v: isinstance(v, list) and len(v) == 4 and all(size(d) for d in v),
        "[batch, height, width, channels], each a positive integer or null",
    )
    need("scale", lambda v: v in SCALES, f"one of {', '.join(SCALES)}")
    need("output", lambda v: v in OUTPUTS, f"one of {', '.join(OUTPUTS)}")
    need("classes", lambda v: isinstance(v, list) and v != [], "a list of classes")
    sidecar_palette(data, str(path))  # the classes parse as a palette
    return data


def sidecar_palette(data: dict[str, Any], source: str) -> Palette:
    """The palette of a sidecar's classes."""
    try:
        classes = [(c["id"], c["name"], c["color"]) for c in data["classes"]]
    except (TypeError, KeyError) as error:
        raise FlexsegError(f"{source}: classes need id, name and color; {error!r}.") from None
    return Palette(classes, source=f"{source} classes")


def write_sidecar(folder: Path, data: dict[str, Any]) -> None:
    (folder / SIDECAR).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
