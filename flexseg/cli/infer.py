"""Predict every image of infer.input (or --input) into infer.output (or --output).

Writes colorized masks at each image's own size (named like the images, .png), overlays/,
and with infer.panel / infer.probabilities also panels/ and probabilities/*.npz. Large images
are predicted in overlapping tiles (infer.tile_size, infer.tile_overlap) blended without
seams; infer.flip_tta averages flipped predictions. The output folder must be new or empty.

CONFIG may also be a folder written by `flexseg export` (ONNX, OpenVINO, LiteRT or
SavedModel): its model.json supplies the classes, colors and input scaling, its runtime
predicts, and --set infer.KEY=VALUE sets the [infer] keys."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flexseg.cli import common

DESCRIPTION = __doc__


def configure(parser: argparse.ArgumentParser) -> None:
    common.add_config_argument(parser, "the run's TOML config, or an export folder")
    parser.add_argument("--checkpoint", type=Path, help="model file (default run_dir/best.keras)")
    parser.add_argument("--input", type=Path, help="image folder (default infer.input)")
    parser.add_argument("--output", type=Path, help="new or empty folder (default infer.output)")
    common.add_verbose_argument(parser)


def run(args: argparse.Namespace) -> int:
    from flexseg.export.runtimes import is_export

    if is_export(args.config):
        return run_exported(args)
    config = common.load_config(args)
    from flexseg.infer.folder import infer_folder

    count = infer_folder(config, args.checkpoint, args.input, args.output)
    print(f"Wrote predictions for {count} image(s).")
    return 0


def run_exported(args: argparse.Namespace) -> int:
    """Inference with an exported model, run by its own runtime."""
    from flexseg.errors import FlexsegError

    if args.checkpoint:
        raise FlexsegError(f"--checkpoint: {args.config} is an exported model; drop --checkpoint.")
    from flexseg.export.runtimes import exported_config, load_exported
    from flexseg.infer.folder import infer_folder

    model = load_exported(args.config)
    config = exported_config(model, args.set)
    count = infer_folder(config, None, args.input, args.output, model=model)
    print(f"Wrote predictions for {count} image(s).")
    return 0


def main(argv: list[str] | None = None) -> int:
    return common.standalone(sys.modules[__name__], argv, "python -m flexseg.infer")
