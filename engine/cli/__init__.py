"""The headless command line: train, range-test, curvature, tune, schedule, runs, show, resume, watch, ctl.

Building the parser imports no torch: commands that do not train start in a fraction of a second.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from .. import __version__
from ..distributed.launcher import reported_status, tell_the_launcher_reported
from ..errors import LrscopeError, WeightsMissing, first_line
from ..store.lock import RunInUse
from ..text import printable
from . import ctl, curvature, range_test, runs, schedule, train, tune, watch
from .common import (
    FAILED,
    FAULT_STOPPED,
    FINISHED,
    INTERRUPTED,
    NOT_ANSWERED,
    RUN_IN_USE,
    STORE_FAILED,
    USAGE_ERROR,
    CliError,
    gone,
    ignore_signals,
    quiet_rank,
    say_error,
    signals_interrupt,
    write,
)


class OneLineParser(argparse.ArgumentParser):
    """argparse with its usage errors in one line, like every other error of lrscope (status 2), and reported where
    every other error is (``run_cli``), so that --json gets its object for a mistyped option too."""

    def __init__(self, *args, **kwargs):
        # No abbreviations: `--epoch 1` was taken for --epochs, and a later option sharing the prefix would change what
        # an old script means.
        super().__init__(*args, **{"allow_abbrev": False, **kwargs})

    def error(self, message: str):
        raise usage_error(self.prog, message)

    def parse_args(self, args=None, namespace=None):
        """argparse's, with an unknown option blamed on the command it was given to: the top-level parser reports those,
        and pointed to `lrscope --help`, which does not list the command's options."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            raise usage_error(chosen(self, parsed).prog, f"unrecognized arguments: {' '.join(extras)}")
        return parsed


def chosen(parser: argparse.ArgumentParser, parsed: argparse.Namespace) -> argparse.ArgumentParser:
    """The deepest command ``parsed`` chose: `schedule show`, whose help lists its options, not `schedule` (helper-82)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and getattr(parsed, action.dest, None) in action.choices:
            return chosen(action.choices[getattr(parsed, action.dest)], parsed)
    return parser


def usage_error(prog: str, message: str) -> CliError:
    """A usage error in one line, naming the command and where its options are listed."""
    where = prog.removeprefix("lrscope").strip()
    return CliError(f"{where + ': ' if where else ''}{message} (see `{prog} --help`)")


# What a script needs from --help alone (the README has it too): the exit statuses, where output goes, the folders.
EPILOG = f"""examples:
  lrscope train --data DIR --epochs 5 --export-schedule tuned.lrschedule.json
  lrscope range-test --data DIR --json
  lrscope tune --data DIR --budget 5 --export-schedule tuned.lrschedule.json
  lrscope train --data OTHER_DIR --schedule tuned.lrschedule.json

exit statuses:
  {FINISHED}    done
  {FAILED}    failed, or nothing to use: a range test without a recommendation, a tune without a winner
  {USAGE_ERROR}    bad options or unusable input (a dataset, a schedule file, a run folder)
  {FAULT_STOPPED}    stopped by a fault (the loss blew up after the rollbacks, out of memory, the dataset vanished), or
       ended on weights its last validation says are damaged
  {STORE_FAILED}    the run store or an output file could not be written; what was written stays resumable
  {RUN_IN_USE}    the run is in use by another process
  {NOT_ANSWERED}  ctl: sent, not answered within --timeout
  {INTERRUPTED}  stopped before its end (Ctrl-C, SIGTERM, a stop sent); resumable

--json prints JSON on stdout, also when the command fails; messages go to stderr.
folders: $LRSCOPE_RUNS_DIR, $LRSCOPE_TUNES_DIR, $LRSCOPE_LIBRARY_DIR, $LRSCOPE_CACHE_DIR and $LRSCOPE_SETTINGS_DIR (the
window's settings) replace the user data, cache and config folders."""


def build_parser() -> argparse.ArgumentParser:
    """The `lrscope` parser with every headless command."""
    return _parser_and_commands()[0]


def command_names() -> tuple[str, ...]:
    """The name of every command (and `gui`)."""
    return tuple(_parser_and_commands()[1].choices)


def _parser_and_commands():
    parser = OneLineParser(prog="lrscope", description="Tune the learning-rate schedule of an image classifier for its dataset.",
                           epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lrscope {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("gui", help="open the desktop app (the default with no command)")
    train.add_parser(commands)
    range_test.add_parser(commands)
    curvature.add_parser(commands)
    tune.add_parser(commands)
    schedule.add_parser(commands)
    runs.add_parsers(commands)
    watch.add_parser(commands)
    ctl.add_parser(commands)
    return parser, commands


def run_cli(argv: list[str]) -> int:
    """Run a headless command; usage and data errors print one line (and a JSON object with --json)."""
    try:
        args = build_parser().parse_args(argv)
    except CliError as error:  # nothing was parsed: --json is asked for if it is on the line at all
        return _error(argparse.Namespace(json="--json" in argv), error, USAGE_ERROR)
    args.argv = list(argv)  # --nproc starts the same command on each process
    for stream in (sys.stdout, sys.stderr):  # a name no terminal can encode prints as '?', never as a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        with signals_interrupt():
            return args.handler(args)
    except RunInUse as error:
        return _error(args, error, RUN_IN_USE)
    except WeightsMissing as error:  # the engine says what is missing and where it goes; this option is the command line's
        return _error(args, f"{error}, or pass --weights FILE", USAGE_ERROR)
    except (CliError, LrscopeError) as error:
        return _error(args, error, USAGE_ERROR)
    except BrokenPipeError:  # `lrscope schedule csv F | head`: the reader has all it wanted
        gone(sys.stdout)
        return 0
    except OSError as error:  # an output file that cannot be written, a folder that vanished under us, a full stdout
        why = error.strerror or first_line(error)
        if not error.filename:  # nothing named: the command's output itself (`show --csv > /dev/full` blamed "the path")
            # 4, as --help says of an output that could not be written (it exited 2, a usage error: helper-92)
            return _error(args, f"cannot write the output: {why}; check where it goes (a file, a pipe) and that its disk has room",
                          STORE_FAILED)
        return _error(args, f"{printable(str(error.filename))}: {why}; check the path and its permissions", USAGE_ERROR)
    except KeyboardInterrupt:
        if reported_status() is not None:  # after the run's result was printed: its status stands, and its one object
            return reported_status()
        return _error(args, "interrupted", INTERRUPTED)


def _error(args: argparse.Namespace, error, status: int) -> int:
    """One line on stderr; with --json also the object, so a script always gets one."""
    say_error(str(error))
    if quiet_rank():
        # Every rank runs the same command line and meets the same error: rank 0 says it, once (each rank said it, and
        # --json printed one object per rank). An error of this rank alone fails it, and the launcher's line says it.
        return status
    if getattr(args, "json", False):
        with contextlib.suppress(OSError):  # the error may be stdout's own (a full disk): it was said on stderr
            write(sys.stdout, json.dumps({"state": "error", "exit_status": status, "message": str(error)}) + "\n")
    tell_the_launcher_reported(status)
    return status


__all__ = ["build_parser", "command_names", "ignore_signals", "run_cli"]
