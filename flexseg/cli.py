"""The `flexseg` command.

Example:
    flexseg models --size 256 --num-classes 6
    flexseg describe flexunet_mvtec_screw --json
    flexseg data synthetic --out data/screws
    flexseg train run.toml --set train.epochs=3
    flexseg evaluate run.toml
    flexseg infer run.toml --input images/ --output predictions/
    flexseg tune run.toml --trials 10 --epochs 5
    flexseg config convert train_eval_infer.config
    flexseg demo --out runs/demo
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

import flexseg
from flexseg.errors import FlexsegError, SettingsError
from flexseg.registry import model_entry


def _models(args: argparse.Namespace) -> int:
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
            entry = model_entry(name)
            sizes = _input_sizes(entry)
            print(
                f"| `{name}` | {card.params:,} | {card.macs / 1e9:.2f} | {sizes} | "
                f"{card.reference} |"
            )
        else:
            print(f"| {name} | {kind} | {card.params:,} | {card.macs / 1e9:.2f} |")
    return 0


def _input_sizes(entry) -> str:
    """What height and width the architecture takes with its default settings."""
    return getattr(entry.builder, "input_sizes", "") or "any"


def _describe(args: argparse.Namespace) -> int:
    shape = tuple(args.input_shape) if args.input_shape else None
    card = flexseg.describe(args.name, input_shape=shape, num_classes=args.num_classes)
    print(json.dumps(card.to_dict(), indent=2) if args.json else card)
    return 0


# Subcommands that are whole programs of their own: `flexseg NAME ...` runs MODULE.main(...).
PROGRAMS = {
    "train": ("flexseg.train", "train from a config"),
    "evaluate": ("flexseg.evaluate", "score a trained run, or folders of masks"),
    "infer": ("flexseg.infer", "predict a folder of images with a trained run"),
    "tune": ("flexseg.tune", "search architecture settings and learning rate (KerasTuner)"),
    "config": ("flexseg.config.__main__", "convert the original's ini config, check a config"),
    "demo": ("flexseg.demo", "synthetic data -> train -> evaluate -> infer -> report"),
}
DATA_TOOLS = {
    "synthetic": "flexseg.data.synthetic",
    "mvtec": "flexseg.data.mvtec",
    "augment": "flexseg.data.augment",
    "stats": "flexseg.data.stats",
}


def _run_program(argv: list[str]) -> int | None:
    """Dispatch `flexseg train ...`, `flexseg data stats ...` and the like; None if not one."""
    if argv and argv[0] in PROGRAMS:
        return importlib.import_module(PROGRAMS[argv[0]][0]).main(argv[1:])
    if len(argv) >= 2 and argv[0] == "data" and argv[1] in DATA_TOOLS:
        return importlib.import_module(DATA_TOOLS[argv[1]]).main(argv[2:])
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    code = _run_program(argv)
    if code is not None:
        return code
    parser = argparse.ArgumentParser(
        prog="flexseg", description="Segmentation models on every Keras backend."
    )
    parser.add_argument("--version", action="version", version=f"flexseg {flexseg.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    models = commands.add_parser(
        "models", help="table of architectures and presets with their cost"
    )
    models.add_argument("pattern", nargs="?", default="*", help="shell-style filter (default: all)")
    models.add_argument(
        "--size", type=int, default=256, help="input height and width (default: %(default)s)"
    )
    models.add_argument("--num-classes", type=int, default=6, help="classes (default: %(default)s)")
    models.add_argument(
        "--architectures",
        action="store_true",
        help="architectures only, with default settings, input sizes and references "
        "(the README's model table)",
    )
    models.set_defaults(handler=_models)

    describe = commands.add_parser("describe", help="model card of one architecture or preset")
    describe.add_argument("name")
    describe.add_argument("--input-shape", type=int, nargs=3, metavar=("H", "W", "C"))
    describe.add_argument("--num-classes", type=int)
    describe.add_argument("--json", action="store_true", help="print the card as JSON")
    describe.set_defaults(handler=_describe)

    for name, (_, summary) in PROGRAMS.items():
        commands.add_parser(name, help=f"{summary} (flexseg {name} --help)", add_help=False)
    data = commands.add_parser("data", help="dataset tools: " + ", ".join(DATA_TOOLS))
    data.add_argument("tool", choices=sorted(DATA_TOOLS), help="flexseg data TOOL --help")

    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (FlexsegError, FileNotFoundError) as error:
        print(f"flexseg {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
