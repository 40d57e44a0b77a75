"""`flexseg export`: a trained run's model in a deployment format, in a folder that holds the
model file and its `model.json`, written only once the exported model is shown to predict what
Keras predicts (flexseg.export.parity).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> export_model("missing_run", "tflite", Path(tempfile.mkdtemp()) / "out")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    flexseg.errors.FlexsegError: unknown export format 'tflite'. Did you mean: litert? ...
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

import flexseg
from flexseg.errors import FlexsegError
from flexseg.export.convert import (
    INPUT_NAME,
    deployable_model,
    export_file,
    export_in_subprocess,
    load_flexseg_model,
)
from flexseg.export.formats import check_modules, converter_modules, exporting_backend, get_format
from flexseg.export.parity import PROBABILITY_TOLERANCE, compare, sample_images
from flexseg.export.runtimes import load_exported
from flexseg.export.sidecar import write_sidecar
from flexseg.export.source import resolve_source
from flexseg.outputs import staged_folder
from flexseg.run.setup import RunSetup


@dataclass(frozen=True)
class ExportResult:
    """Where the export went, who wrote it, how long it took, its size and its parity."""

    folder: Path
    file: Path
    exported_by: str
    seconds: float
    size_bytes: int
    parity: dict[str, Any]


def export_model(
    source: str | Path,
    fmt: str,
    out: str | Path,
    *,
    config: str | Path | None = None,
    checkpoint: str | Path | None = None,
    overrides: list[str] | None = None,
    input_size: tuple[int, int] | None = None,
    batch: int | None = None,
    include_argmax: bool = False,
    opset: int | None = None,
    overwrite: bool = False,
    tolerance: float = PROBABILITY_TOLERANCE,
) -> ExportResult:
    """Export the model of `source` (a run's config, run folder or .keras file) to `out`.

    `batch=None` exports a dynamic batch. Every check runs before the conversion starts; the
    export is written only if its probabilities are within `tolerance` of Keras's."""
    fmt_spec = get_format(fmt)
    out = Path(out)
    if out.exists() and not overwrite:
        raise FlexsegError(f"{out}: already exists; choose another --out or pass --overwrite.")
    if not 0 < tolerance < 1:
        raise FlexsegError(f"--tolerance {tolerance}: expected a number between 0 and 1.")
    if batch is not None and batch < 1:
        raise FlexsegError(f"--batch {batch}: expected a positive number or 'dynamic'.")
    run_config, checkpoint = resolve_source(source, config, checkpoint, overrides)
    factors = RunSetup(run_config).inference_factors()  # the config's class-weight correction
    model = load_flexseg_model(checkpoint).with_inference_factors(factors, fold=True)
    palette = run_config.palette()
    palette.check_num_classes(model.num_classes)
    reference = deployable_model(model, input_size)  # checks the size before any conversion
    backend = keras.backend.backend()
    by = exporting_backend(fmt_spec, backend, batch)
    check_modules(converter_modules(fmt_spec, by), f"exporting {fmt_spec.name} from {by}")
    check_modules((fmt_spec.runtime,), f"checking the exported {fmt_spec.name} model")

    started = time.perf_counter()
    with staged_folder(out, overwrite=overwrite) as staging:
        path = staging / fmt_spec.file
        size = reference.input_shape[1:3]
        if by == backend:
            deployable = (
                deployable_model(model, size, include_argmax) if include_argmax else reference
            )
            export_file(deployable, fmt_spec.name, path, batch, opset)
        else:
            request = {
                "checkpoint": str(Path(checkpoint).resolve()), "format": fmt_spec.name,
                "path": str(path), "input_size": list(size), "batch": batch,
                "include_argmax": include_argmax, "opset": opset, "inference_factors": factors,
            }  # fmt: skip
            export_in_subprocess(request, by, staging)
        seconds = time.perf_counter() - started
        sidecar = sidecar_data(
            run_config, model, fmt_spec.name, fmt_spec.file,
            [batch, *reference.input_shape[1:]], include_argmax, by,
        )  # fmt: skip
        if fmt_spec.name == "onnx":
            write_onnx_metadata(path, sidecar)
        write_sidecar(staging, sidecar)
        parity = check_parity(reference, staging, sidecar, tolerance)
        if not parity["passed"]:
            raise FlexsegError(parity_failure(fmt_spec.name, parity))
        size_bytes = sum(f.stat().st_size for f in staging.rglob("*") if f.is_file())
    return ExportResult(out, out / fmt_spec.file, by, seconds, size_bytes, parity)


def sidecar_data(run_config, model, fmt: str, file: str, input_shape: list, include_argmax: bool,
                 exported_by: str) -> dict[str, Any]:  # fmt: skip
    """What model.json says about an export."""
    palette = run_config.palette()
    return {
        "flexseg_version": flexseg.__version__,
        "format": fmt,
        "file": file,
        "exported_by": f"keras {keras.__version__} on {exported_by}",
        "input_name": INPUT_NAME,
        "input_shape": input_shape,
        "channels": run_config.data["channels"],
        "scale": run_config.data["scale"],
        "output": "labels" if include_argmax else "probabilities",
        "classes": [
            {"id": i, "name": name, "color": [int(c) for c in palette.colors[i]]}
            for i, name in enumerate(palette.names)
        ],
        "model": {"name": run_config.model["name"], **model.get_config()},
    }


def write_onnx_metadata(path: Path, sidecar: dict[str, Any]) -> None:
    """The sidecar's entries as the ONNX file's metadata_props (JSON values)."""
    import onnx

    model = onnx.load(str(path))
    for key, value in sidecar.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = f"flexseg.{key}", json.dumps(value)
    onnx.save(model, str(path))


def check_parity(
    reference: keras.Model, folder: Path, sidecar: dict[str, Any], tolerance: float
) -> dict[str, Any]:
    """Keras's probabilities against the exported model's output on seeded sample images."""
    shape = tuple(reference.input_shape[1:])
    images = sample_images(shape, sidecar["scale"])
    expected = keras.ops.convert_to_numpy(reference.predict_on_batch(images))
    try:
        outputs = load_exported(folder).outputs(images)
    except FlexsegError:
        raise
    except Exception as error:  # the runtime refuses the converter's file
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise FlexsegError(
            f"the exported {sidecar['format']} model does not run in its runtime "
            f"({type(error).__name__}: {first_line[:300]}); nothing was written. For ONNX, "
            "exporting from the torch backend with a static batch may work "
            "(KERAS_BACKEND=torch flexseg export ... --batch 1)."
        ) from None
    return compare(expected, outputs, tolerance)


def parity_failure(fmt: str, parity: dict[str, Any]) -> str:
    """Why an export was refused, and what may be done about it."""
    difference = parity["max_probability_difference"]
    found = [f"{parity['label_mismatches']} of {parity['pixels']} pixels change class"]
    if difference is not None:
        found.insert(0, f"probabilities differ by up to {difference:.1e} (allowed "
                        f"{parity['tolerance']:.0e})")  # fmt: skip
    hint = (
        " Every pixel keeps its class: rounding in a deep float32 graph (raw 0-255 inputs, no "
        "normalization) can reach this; pass --tolerance to accept it."
        if parity["label_mismatches"] == 0
        else " Please report this with the model's config."
    )
    return (
        f"the exported {fmt} model does not predict what Keras predicts: {', '.join(found)}; "
        f"nothing was written.{hint}"
    )
