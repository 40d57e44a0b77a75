"""Table of architectures and presets with their parameters and cost.

With --architectures: architectures only, with default settings, input sizes and references
(the README's model table)."""

from __future__ import annotations

import argparse
import sys

from flexseg.cli import common

DESCRIPTION = __doc__


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style filter (default: all)")
    parser.add_argument(
        "--size", type=int, default=256, help="input height and width (default: %(default)s)"
    )
    parser.add_argument("--num-classes", type=int, default=6, help="classes (default: %(default)s)")
    parser.add_argument(
        "--architectures",
        action="store_true",
        help="architectures only, with default settings, input sizes and references",
    )
    common.add_verbose_argument(parser)


def run(args: argparse.Namespace) -> int:
    import flexseg
    from flexseg.errors import SettingsError
    from flexseg.models.catalogue.registry import model_entry

    names = [(n, "architecture") for n in flexseg.list_models(args.pattern)]
    if not args.architectures:
        names += [(n, "preset") for n in flexseg.list_presets(args.pattern)]
    if not names:
        print(f"No model or preset matches {args.pattern!r}.", file=sys.stderr)
        return 1
    shape = (args.size, args.size, 3)
    cost = f"GMACs at {args.size}x{args.size}x3, {args.num_classes} classes"
    if args.architectures:
        print(f"| architecture | parameters | {cost} | input sizes | reference |")
        print("|---|---:|---:|---|---|")
    else:
        print(f"| name | kind | parameters | {cost} |")
        print("|---|---|---:|---:|")
    for name, kind in names:
        try:
            card = flexseg.describe(name, input_shape=shape, num_classes=args.num_classes)
        except SettingsError as error:  # e.g. a deep preset that cannot take this size
            print(f"| {name} | {kind} | - | not at this size: {error} |")
            continue
        if args.architectures:
            sizes = getattr(model_entry(name).builder, "input_sizes", "") or "any"
            print(
                f"| `{name}` | {card.params:,} | {card.macs / 1e9:.2f} | {sizes} | "
                f"{card.reference} |"
            )
        else:
            print(f"| {name} | {kind} | {card.params:,} | {card.macs / 1e9:.2f} |")
    return 0
