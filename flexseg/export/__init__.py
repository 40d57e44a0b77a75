"""Export: a trained model in ONNX, SavedModel, OpenVINO or LiteRT, with a `model.json` that
says how to feed it and read its output, checked to predict what Keras predicts
(`python -m flexseg.export RUN --format onnx --out DIR`); and exported models run again
(`load_exported`, and `flexseg infer DIR`)."""

from typing import TYPE_CHECKING

from flexseg.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "export_model": "flexseg.export.folder",
        "ExportResult": "flexseg.export.folder",
        "load_exported": "flexseg.export.runtimes",
        "FORMATS": "flexseg.export.formats",
    },
)

if TYPE_CHECKING:
    from flexseg.export.folder import ExportResult, export_model
    from flexseg.export.formats import FORMATS
    from flexseg.export.runtimes import load_exported

__all__ = ["FORMATS", "ExportResult", "export_model", "load_exported"]
