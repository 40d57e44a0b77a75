"""Predict every image of infer.input (or --input) into infer.output (or --output).

Writes colorized masks at each image's own size (named like the images, .png), overlays/,
and with infer.panel / infer.probabilities also panels/ and probabilities/*.npz. Large images
are predicted in overlapping tiles (infer.tile_size, infer.tile_overlap) blended without
seams; infer.flip_tta averages flipped predictions. The output folder must be new or empty."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flexseg.cli import common

DESCRIPTION = __doc__


def configure(parser: argparse.ArgumentParser) -> None:
    common.add_config_argument(parser, "the run's TOML config")
    parser.add_argument("--checkpoint", type=Path, help="model file (default run_dir/best.keras)")
    parser.add_argument("--input", type=Path, help="image folder (default infer.input)")
    parser.add_argument("--output", type=Path, help="new or empty folder (default infer.output)")
    common.add_verbose_argument(parser)


def run(args: argparse.Namespace) -> int:
    config = common.load_config(args)
    from flexseg.infer.folder import infer_folder

    count = infer_folder(config, args.checkpoint, args.input, args.output)
    print(f"Wrote predictions for {count} image(s).")
    return 0


def main(argv: list[str] | None = None) -> int:
    return common.standalone(sys.modules[__name__], argv, "python -m flexseg.infer")
