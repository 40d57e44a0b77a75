"""What every subcommand does alike: the config argument and its --set overrides, config
warnings, quiet backend logs, and the one-line error with exit status 2.

Nothing here imports Keras: `--help` and argument errors stay instant.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType

from flexseg.errors import FlexsegError

# What the frameworks' C++ logging prints to stderr: absl's "I0000 00:00:... file.cc:12] ..."
# lines (TensorFlow prints them as it loads, before it reads TF_CPP_MIN_LOG_LEVEL, whichever
# backend runs: Keras imports it to seed it) and absl's notice about them.
_BACKEND_LOG_LINE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
    rb"STDERR|[IWEF]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] )"
)
# Errors that a command reports in one line (exit status 2) rather than as a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (FlexsegError, FileNotFoundError)


def add_config_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """CONFIG and any number of --set SECTION.KEY=VALUE."""
    parser.add_argument("config", help=what)
    add_set_argument(parser)


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config key, e.g. --set train.epochs=3 (repeatable)",
    )


def add_verbose_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show the backend framework's own log lines (hidden by default)",
    )


def load_config(args: argparse.Namespace):
    """The config of args.config with args.set applied; its warnings go to stderr."""
    from flexseg.config import load_config as load

    config = load(args.config, args.set)
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return config


def execute(
    prog: str,
    run: Callable[[argparse.Namespace], int],
    args: argparse.Namespace,
    errors: tuple[type[BaseException], ...] = USER_ERRORS,
) -> int:
    """Run a subcommand: backend log lines left out unless --verbose, bad input as one line
    with exit status 2."""
    quiet = not getattr(args, "verbose", False)
    if quiet:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's logs once loaded
    with without_backend_log_lines() if quiet else contextlib.nullcontext():
        try:
            return run(args)
        except errors as error:
            print(f"{prog}: {error}", file=sys.stderr)
            return 2


def standalone(module: ModuleType, argv: list[str] | None, prog: str) -> int:
    """`python -m flexseg.X`: the subcommand `module` (configure + run) as its own program."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=module.DESCRIPTION,
        epilog=getattr(module, "EPILOG", None),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.configure(parser)
    args = parser.parse_args(argv)
    return execute(prog, module.run, args, getattr(module, "ERRORS", USER_ERRORS))


@contextlib.contextmanager
def without_backend_log_lines() -> Iterator[None]:
    """While the block runs, stderr (file descriptor 2, so C++ code and child processes too)
    passes through a pipe that drops lines in absl's log format and forwards all others."""
    sys.stderr.flush()
    real_stderr = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    forwarder = threading.Thread(target=_forward, args=(read_end, real_stderr), daemon=True)
    forwarder.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # the pipe's last writer closes: the forwarder reads the end
        forwarder.join(timeout=10)
        os.close(real_stderr)


def _forward(read_end: int, real_stderr: int) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        for line in iter(pipe.readline, b""):
            if not _BACKEND_LOG_LINE.match(line):
                os.write(real_stderr, line)
