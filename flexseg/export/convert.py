"""From a `.keras` checkpoint to an exported file, by Keras's own `model.export`.

The exported model is rebuilt from the checkpoint's settings at the export's input size and
batch, in float32 (a mixed-precision run is exported in float32), with the arg-max appended on
request; then Keras exports it. A format the current backend cannot export is exported by a
subprocess that loads the same `.keras` file under the backend that can
(`python -m flexseg.export.convert REQUEST.json`).

Example:
    >>> import flexseg, keras, numpy as np
    >>> model = deployable_model(flexseg.build("flexunet_tiny", input_shape=(None, None, 3)),
    ...                          (32, 32), include_argmax=True)
    >>> model.input_shape, model.output_shape, keras.backend.standardize_dtype(model.output.dtype)
    ((None, 32, 32, 3), (None, 32, 32), 'uint8')
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

import keras

from flexseg.errors import FlexsegError
from flexseg.export.formats import get_format
from flexseg.models.parts.base import SegmentationModel, dtype_policy_scope

INPUT_NAME = "image"


def load_flexseg_model(path: str | Path) -> SegmentationModel:
    """The flexseg model saved in `path`; anything else is an error naming the file."""
    from flexseg.models.catalogue import registry

    path = Path(path)
    if not path.is_file():
        raise FlexsegError(f"{path}: no checkpoint; train first (python -m flexseg.train CONFIG).")
    if not zipfile.is_zipfile(path):
        raise FlexsegError(f"{path}: not a Keras model file (.keras, a zip archive).")
    registry.list_models()  # registers the architectures, so that their classes deserialize
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a foreign or broken file
        raise FlexsegError(f"{path}: not a loadable Keras model ({error}).") from None
    if not isinstance(model, SegmentationModel):
        raise FlexsegError(
            f"{path}: a {type(model).__name__}, not a flexseg model; export models trained by "
            "flexseg (flexseg.build or flexseg train)."
        )
    return model


def deployable_model(
    model: SegmentationModel,
    input_size: tuple[int, int] | None = None,
    include_argmax: bool = False,
) -> keras.Model:
    """`model` rebuilt in float32 for inputs of `input_size` (default: its own), with its
    weights; with `include_argmax`, it returns uint8 class indices instead of probabilities.
    A size the architecture cannot take is an error naming the nearest valid sizes."""
    if model.data_format != "channels_last":
        raise FlexsegError(
            f"{model.name} is channels_first; flexseg exports channels_last models (the "
            "layout runtimes and flexseg infer take): train with model.data_format unset."
        )
    height, width = input_size or model.image_shape[:2]
    if height is None or width is None:
        raise FlexsegError(
            f"{model.name} takes any input size; choose one to export with --input-size H W."
        )
    shape = (height, width, model.image_shape[2])
    with dtype_policy_scope("float32"):
        rebuilt = type(model).from_config({**model.get_config(), "input_shape": shape})
        rebuilt.set_weights(model.get_weights())
        if not include_argmax:
            return rebuilt
        # top_k rather than argmax: TensorFlow's argmax carries a bitcast that ONNX lacks;
        # both take the lowest index among equal values.
        indices = keras.ops.top_k(rebuilt.output, k=1)[1][..., 0]
        labels = keras.ops.cast(indices, "uint8")
        return keras.Model(rebuilt.input, labels, name=f"{rebuilt.name}_labels")


def export_file(
    model: keras.Model, fmt_name: str, path: Path, batch: int | None, opset: int | None
) -> None:
    """Keras's `model.export` of `model` to `path` in the format `fmt_name`."""
    fmt = get_format(fmt_name)
    spec = keras.InputSpec(shape=(batch, *model.input_shape[1:]), dtype="float32", name=INPUT_NAME)
    options: dict[str, Any] = {"input_signature": [spec], "verbose": False}
    if fmt.name == "onnx" and opset is not None:
        options["opset_version"] = opset
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore", FutureWarning)  # converters' notes about their own deps
        model.export(str(path), format=fmt.keras_name, **options)


def run_request(request: dict[str, Any]) -> None:
    """Load, rebuild and export as `request` says (the subprocess's work)."""
    model = load_flexseg_model(request["checkpoint"])
    model = model.with_inference_factors(request["inference_factors"], fold=True)
    size = request["input_size"]
    deployable = deployable_model(model, tuple(size) if size else None, request["include_argmax"])
    export_file(deployable, request["format"], Path(request["path"]), request["batch"],
                request["opset"])  # fmt: skip


def export_in_subprocess(request: dict[str, Any], backend: str, folder: Path) -> None:
    """`run_request(request)` in a fresh Python process on `backend`; its error, if any, is
    raised here in one line."""
    request_file = folder / ".request.json"
    request_file.write_text(json.dumps(request), encoding="utf-8")
    environment = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "flexseg.export.convert", str(request_file)],
            env=environment, capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        request_file.unlink(missing_ok=True)
    if finished.returncode != 0:
        lines = [line for line in finished.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {finished.returncode}"
        raise FlexsegError(
            f"exporting {request['format']} on the {backend} backend failed: {reason}"
        )


def main(argv: list[str]) -> int:
    """`python -m flexseg.export.convert REQUEST.json`."""
    try:
        run_request(json.loads(Path(argv[0]).read_text(encoding="utf-8")))
    except FlexsegError as error:
        print(f"flexseg export: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
