"""The headless command line: train, range-test, schedule, runs, show, resume, watch, ctl.

Building the parser imports no torch: commands that do not train start in a fraction of a second.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..errors import LrscopeError
from . import ctl, range_test, runs, schedule, train, watch
from .common import USAGE_ERROR, CliError


def build_parser() -> argparse.ArgumentParser:
    """The `lrscope` parser with every headless command."""
    parser = argparse.ArgumentParser(prog="lrscope", description="Tune the learning-rate schedule of an image classifier for its dataset.")
    parser.add_argument("--version", action="version", version=f"lrscope {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("gui", help="open the desktop app (the default with no command)")
    train.add_parser(commands)
    range_test.add_parser(commands)
    schedule.add_parser(commands)
    runs.add_parsers(commands)
    watch.add_parser(commands)
    ctl.add_parser(commands)
    return parser


def run_cli(argv: list[str]) -> int:
    """Run a headless command; usage and data errors print one line and return 2."""
    args = build_parser().parse_args(argv)
    args.argv = list(argv)  # --nproc starts the same command on each process
    try:
        return args.handler(args)
    except (CliError, LrscopeError) as error:
        print(f"lrscope: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:
        return 0


__all__ = ["build_parser", "run_cli"]
