"""`python -m flexseg.infer CONFIG`: predict every image of infer.input into infer.output.

Writes colorized masks at each image's own size (named like the images, .png), overlays/,
and with infer.panel / infer.probabilities also panels/ and probabilities/*.npz. Large images
are predicted in overlapping tiles (infer.tile_size, infer.tile_overlap) blended without
seams; infer.flip_tta averages flipped predictions. The output folder must be new or empty.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flexseg.config import load_config
from flexseg.errors import FlexsegError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flexseg.infer", description=__doc__)
    parser.add_argument("config", help="the run's TOML config")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--checkpoint", type=Path, help="model file (default run_dir/best.keras)")
    parser.add_argument("--input", type=Path, help="image folder (default infer.input)")
    parser.add_argument("--output", type=Path, help="new or empty folder (default infer.output)")
    args = parser.parse_args(argv)
    try:
        from flexseg.inference.run import infer_folder

        count = infer_folder(load_config(args.config, args.set), args.checkpoint, args.input,
                             args.output)  # fmt: skip
    except FlexsegError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    print(f"Wrote predictions for {count} image(s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
