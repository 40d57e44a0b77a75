"""The `flexseg` command: one module per subcommand, each with `DESCRIPTION`, `configure(parser)`
and `run(args)`. Arguments are parsed before anything heavy is imported, so `--help` and
argument errors never load Keras or a backend.

Example:
    flexseg models --size 256 --num-classes 6
    flexseg describe flexunet_mvtec_screw --json
    flexseg data synthetic --out data/screws
    flexseg train run.toml --set train.epochs=3
    flexseg evaluate run.toml
    flexseg infer run.toml --input images/ --output predictions/
    flexseg export runs/demo --format onnx --out exports/demo
    flexseg tune run.toml --trials 10 --epochs 5
    flexseg config convert train_eval_infer.config
    flexseg demo --out runs/demo
"""

from __future__ import annotations

import argparse
import importlib
import sys

from flexseg import __version__
from flexseg.cli import common

# Subcommand -> its module under flexseg/cli/ (the names `python -m flexseg.X` also runs).
SUBCOMMANDS = {
    "models": "models",
    "describe": "describe",
    "train": "train",
    "evaluate": "evaluate",
    "infer": "infer",
    "export": "export",
    "tune": "tune",
    "config": "config",
    "demo": "demo",
    "data": "data",
}


def subcommand(name: str):
    """The module of a subcommand (light: it imports its work only when it runs)."""
    return importlib.import_module(f"flexseg.cli.{SUBCOMMANDS[name]}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flexseg", description="Segmentation models on every Keras backend."
    )
    parser.add_argument("--version", action="version", version=f"flexseg {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = subcommand(name)
        sub = commands.add_parser(
            name,
            help=module.DESCRIPTION.splitlines()[0],
            description=module.DESCRIPTION,
            epilog=getattr(module, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(sub)
        sub.set_defaults(run=module.run, errors=getattr(module, "ERRORS", common.USER_ERRORS))
    return parser


def main(argv: list[str] | None = None) -> int:
    """`flexseg ARGS`; returns the exit status (2: bad input, reported in one line)."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    prog = " ".join(["flexseg", args.command, *filter(None, [getattr(args, "tool", None)])])
    return common.execute(prog, args.run, args, args.errors)
