"""Model card of one architecture or preset.

Parameters, multiply-accumulates per image for one input size, the reference and the
settings it was built with."""

from __future__ import annotations

import argparse
import json

from flexseg.cli import common

DESCRIPTION = __doc__


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="an architecture or preset (flexseg models lists them)")
    parser.add_argument("--input-shape", type=int, nargs=3, metavar=("H", "W", "C"))
    parser.add_argument("--num-classes", type=int)
    parser.add_argument("--json", action="store_true", help="print the card as JSON")
    common.add_verbose_argument(parser)


def run(args: argparse.Namespace) -> int:
    import flexseg

    shape = tuple(args.input_shape) if args.input_shape else None
    card = flexseg.describe(args.name, input_shape=shape, num_classes=args.num_classes)
    print(json.dumps(card.to_dict(), indent=2) if args.json else card)
    return 0
