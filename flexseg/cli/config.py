"""Convert the original's ini config, or check a config.

`convert` prints the original's train_eval_infer.config as flexseg TOML; `check` validates a
config (with --set overrides) and prints it with every default filled in."""

from __future__ import annotations

import argparse
import sys

from flexseg.cli import common

DESCRIPTION = __doc__
EPILOG = """examples:
  flexseg config convert train_eval_infer.config > run.toml
  flexseg config check run.toml --set train.epochs=3"""


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    convert = actions.add_parser("convert", help="the original's ini config as flexseg TOML")
    convert.add_argument("config", help="train_eval_infer.config")
    check = actions.add_parser("check", help="validate a config and print it with defaults")
    common.add_config_argument(check, "TOML config (or the original's ini config)")
    for action in (convert, check):
        common.add_verbose_argument(action)


def run(args: argparse.Namespace) -> int:
    from flexseg.config.loader import load_config
    from flexseg.config.original import convert_original
    from flexseg.config.toml_writer import dumps

    if args.action == "convert":
        sections, warnings = convert_original(args.config)
        load_config(args.config)  # the converted config must validate
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(f"# Converted from {args.config} by python -m flexseg.config convert")
        print(dumps(sections), end="")
    else:
        print(dumps(common.load_config(args).to_dict()), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    return common.standalone(sys.modules[__name__], argv, "python -m flexseg.config")
