"""Export a trained model for deployment: ONNX, SavedModel, OpenVINO or LiteRT.

SOURCE is a run's config, a run folder (config.toml or best.toml beside best.keras) or a
.keras file. --out becomes a folder holding the model file and model.json (input size,
channels and scaling, the classes and their colors, the model's settings). The model is
exported in float32 by Keras's own model.export; a format the current backend cannot export
is exported by TensorFlow from the same .keras file, in a subprocess, and the output says so.
Nothing is written unless the exported model predicts what Keras predicts (probabilities
within 1e-4, the same classes except near-ties)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flexseg.cli import common

DESCRIPTION = __doc__
EPILOG = """examples:
  flexseg export runs/demo --format onnx --out exports/demo_onnx
  flexseg export run.toml --format openvino --out exports/ov --input-size 512 512 --batch 1
  flexseg infer exports/demo_onnx --input images/ --output predictions/"""
FORMAT_NAMES = ("onnx", "saved_model", "openvino", "litert")  # flexseg.export.formats.FORMATS


def batch_size(text: str) -> int | None:
    """--batch: "dynamic" (None) or a positive integer."""
    if text == "dynamic":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected 'dynamic' or a positive integer, got {text!r}")
    return int(text)


def configure(parser: argparse.ArgumentParser) -> None:
    option = parser.add_argument
    option("source", help="a run's config, a run folder, or a .keras file")
    option("--format", required=True, help=f"one of {', '.join(FORMAT_NAMES)}")
    option("--out", required=True, type=Path, help="the export folder to write")
    option("--config", type=Path, help="the run's config (default: found beside SOURCE)")
    option("--checkpoint", type=Path, help="model file (default run_dir/best.keras)")
    common.add_set_argument(parser)
    option(
        "--input-size", nargs=2, type=int, metavar=("H", "W"),
        help="input height and width (default: the model's own)",
    )  # fmt: skip
    option(
        "--batch", type=batch_size, default=None, metavar="dynamic|N",
        help="batch size of the exported model (default: dynamic)",
    )  # fmt: skip
    option(
        "--include-argmax", action="store_true",
        help="return a uint8 class-index map instead of probabilities",
    )  # fmt: skip
    option("--opset", type=int, help="ONNX opset (default: the converter's)")
    option(
        "--tolerance", type=float, default=1e-4,
        help="largest probability difference from Keras accepted (default 1e-4)",
    )  # fmt: skip
    option("--overwrite", action="store_true", help="replace --out if it exists")
    common.add_verbose_argument(parser)


def run(args: argparse.Namespace) -> int:
    from flexseg.export.formats import get_format

    get_format(args.format)  # an unknown format fails before Keras loads
    from flexseg.export.folder import export_model

    result = export_model(
        args.source, args.format, args.out, config=args.config, checkpoint=args.checkpoint,
        overrides=args.set, input_size=tuple(args.input_size) if args.input_size else None,
        batch=args.batch, include_argmax=args.include_argmax, opset=args.opset,
        overwrite=args.overwrite, tolerance=args.tolerance,
    )  # fmt: skip
    import keras

    backend = keras.backend.backend()
    how = "" if result.exported_by == backend else (
        f" (the {backend} backend cannot export it: exported by {result.exported_by} from the "
        "same .keras file)")  # fmt: skip
    parity = result.parity
    difference = parity["max_probability_difference"]
    print(
        f"Wrote {result.file} ({result.size_bytes / 1e6:.2f} MB) in {result.seconds:.1f} s{how}.\n"
        f"Parity with Keras on {parity['pixels']} pixels: "
        + (f"max probability difference {difference:.1e}, " if difference is not None else "")
        + f"{parity['label_mismatches']} label mismatches ({parity['near_ties']} near-ties).\n"
        f"Run it: flexseg infer {result.folder} --input IMAGES --output PREDICTIONS"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    return common.standalone(sys.modules[__name__], argv, "python -m flexseg.export")
