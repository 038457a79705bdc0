"""Which served run a client command means: a run (id, prefix or folder) or an address with a token."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace

from .common import RUNS_DIR_HELP, CliError, path_arg


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """RUN|ADDRESS, --token, --runs-dir."""
    parser.add_argument("run", metavar="RUN|ADDRESS",
                        help="a served run (its id, a unique prefix, or its folder), or HOST:PORT of one (with --token)")
    add_finding_options(parser)


def add_finding_options(parser: argparse.ArgumentParser, default=None) -> None:
    """--token and --runs-dir (``default`` argparse.SUPPRESS where a sub-command accepts them again after its name)."""
    parser.add_argument("--token", default=default,
                        help="the run's token, for an address (default: $LRSCOPE_TOKEN); a run's own folder has it")
    parser.add_argument("--runs-dir", type=path_arg, default=default,
                        help=RUNS_DIR_HELP)


def access_from(args: argparse.Namespace):
    """Where to connect and the token to present (an Access); CliError says what is missing."""
    from ..errors import RunStoreError
    from ..serve.access import Access, access_for
    from ..serve.wire import tcp_address
    from ..store.paths import runs_root
    from ..store.reader import find_run

    try:
        run_dir = find_run(runs_root(args.runs_dir), args.run)
    except RunStoreError as not_a_run:
        try:
            address = tcp_address(args.run)
        except ValueError as not_an_address:  # HOST:PORT with a port out of range was "no run named …"
            raise CliError(str(not_an_address if looks_like_an_address(args.run) else not_a_run)) from None
        token = args.token or os.environ.get("LRSCOPE_TOKEN")
        if not token:
            raise CliError(f"{args.run}: give the run's token with --token or $LRSCOPE_TOKEN "
                           "(it was printed when the run started and is in its folder's serve.token)") from None
        return Access(address, token)
    access = access_for(run_dir)
    return replace(access, token=args.token or access.token)


def looks_like_an_address(text: str) -> bool:
    """Whether ``text`` was meant as HOST:PORT (a run's id or folder has no colon before digits at its end)."""
    host, colon, port = text.removeprefix("tcp://").rpartition(":")
    return bool(host and colon and port.isdigit())
