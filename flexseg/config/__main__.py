"""`python -m flexseg.config convert OLD.config > new.toml` and `python -m flexseg.config check`."""

from __future__ import annotations

import argparse
import sys

from flexseg.config.loader import load_config
from flexseg.config.original import convert_original
from flexseg.config.toml_writer import dumps
from flexseg.errors import FlexsegError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flexseg.config", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("convert", help="the original's ini config as flexseg TOML")
    convert.add_argument("config", help="train_eval_infer.config")
    check = commands.add_parser("check", help="validate a config and print it with defaults")
    check.add_argument("config")
    check.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            sections, warnings = convert_original(args.config)
            load_config(args.config)  # the converted config must validate
            for warning in warnings:
                print(f"warning: {warning}", file=sys.stderr)
            print(f"# Converted from {args.config} by python -m flexseg.config convert")
            print(dumps(sections), end="")
        else:
            config = load_config(args.config, args.set)
            for warning in config.warnings:
                print(f"warning: {warning}", file=sys.stderr)
            print(dumps(config.to_dict()), end="")
    except FlexsegError as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
