"""`lrscope train|resume --nproc N`: torchrun for one machine, started from inside lrscope.

It is torchrun itself (``torch.distributed.run``: its argument parser, its launch config, its elastic
agent), so a rank that dies is found and the others are stopped exactly as under `torchrun`; only the
report differs: one line naming the rank instead of torchrun's table.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

# The workers run the headless commands (no window can open in a worker).
WORKER_MODULE = "engine.cli"
USAGE_ERROR, RUN_FAILED, INTERRUPTED = 2, 1, 130
# Where rank 0 writes its run's id for the launcher, whose line, when a rank fails, says how to resume the run by name.
RUN_ID_FILE = "LRSCOPE_LAUNCHER_RUN_ID_FILE"
# Where rank 0 writes the exit status of the result it printed (the --json object): the launcher prints one only when rank
# 0 could not (it was killed), since a script must get one object, not none or two, and exits with that status. Rank 0's own
# exit status cannot tell: torchrun may kill it, or stop it with Ctrl-C, after it printed.
REPORTED_FILE = "LRSCOPE_LAUNCHER_REPORTED_FILE"
# Where a rank other than 0 leaves the error line it does not print (every rank would print the same one), so that the
# launcher's line says why a rank that failed alone failed: "rank 1 ended with exit status 1" said nothing of its memory.
REASONS_DIR = "LRSCOPE_LAUNCHER_REASONS_DIR"
_reported: int | None = None


def launched_by_torchrun() -> bool:
    """Whether this process is a worker started by torchrun (or anything that sets its variables)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def tell_the_launcher(run_dir: str) -> None:
    """Name the run's folder to the launcher that started this process (nothing when none did)."""
    path = os.environ.get(RUN_ID_FILE)
    if path:
        Path(path).write_text(run_dir, encoding="utf-8")


def tell_the_launcher_reported(status: int) -> None:
    """Remember that this process printed its result, with exit status ``status``, and tell the launcher that started
    it (if one did)."""
    global _reported
    _reported = status
    path = os.environ.get(REPORTED_FILE)
    if path:
        Path(path).write_text(str(status), encoding="utf-8")


def tell_the_launcher_why(line: str) -> bool:
    """Leave this rank's error ``line`` to the launcher that started it; False when none did (plain torchrun)."""
    folder = os.environ.get(REASONS_DIR)
    if folder:
        Path(folder, f"rank-{os.environ.get('RANK', '0')}").write_text(line, encoding="utf-8")
    return bool(folder)


def reported_status() -> int | None:
    """The exit status of the result this process printed (None before it printed one)."""
    return _reported


def torchrun_argv(nproc: int, argv: list[str]) -> list[str]:
    """torchrun's arguments for ``nproc`` processes on this machine running ``lrscope ARGV``."""
    return ["--standalone", f"--nproc-per-node={nproc}", "--max-restarts=0", "--module", WORKER_MODULE, *argv]


def launch(nproc: int, argv: list[str], as_json: bool) -> int:
    """Run ``lrscope ARGV`` on ``nproc`` processes and wait: 0 when all ended well, 2 for bad input (rank 0 said what),
    rank 0's own status when it chose one (3, 4, 5, 130: it said why), after Ctrl-C or SIGTERM the status of the result
    rank 0 printed (130 when they stopped the run before it could say so), else 1
    with a line naming the rank that failed (and, ``as_json``, the object rank 0 did not print)."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    silence_torchrun()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # what torchrun chooses for several processes, without its banner
    with tempfile.TemporaryDirectory(prefix="lrscope-launch-") as folder:
        named, reported = Path(folder) / "run-id", Path(folder) / "reported"
        # the workers inherit them
        os.environ[RUN_ID_FILE], os.environ[REPORTED_FILE], os.environ[REASONS_DIR] = str(named), str(reported), folder
        try:
            run(parse_args(torchrun_argv(nproc, argv)))
        except ChildFailedError as error:
            return report(error.failures, named.read_text(encoding="utf-8") if named.exists() else None,
                          as_json, reported.exists(), reasons(Path(folder)))
        except SignalException:
            # Ctrl-C or SIGTERM: torchrun passed it on to the workers and waited for them; rank 0 stopped the run at a
            # step boundary and said so, resumable. Its status is the one it printed: a stop that came after the last
            # step left the run finished, and the launcher exited 130 under --json's "finished", "exit_status": 0.
            if reported.exists():
                return int(reported.read_text(encoding="utf-8"))
            return interrupted(named.read_text(encoding="utf-8") if named.exists() else None, as_json)
        finally:  # this process is no worker: what it prints later is its own
            del os.environ[RUN_ID_FILE], os.environ[REPORTED_FILE], os.environ[REASONS_DIR]
    return 0


def interrupted(run_dir: str | None, as_json: bool) -> int:
    """Ctrl-C or SIGTERM stopped rank 0 before it could say so (while it started): the line (and object) it owed."""
    message = f"interrupted; {resumable(run_dir)}"
    print(f"lrscope: error: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"state": "error", "exit_status": INTERRUPTED, "message": message, "run_id": _id(run_dir)}))
    return INTERRUPTED


def silence_torchrun() -> None:
    """No banners, tables or warnings from torchrun: `report` says what happened in one line. Its loggers set their own
    levels (``LOGLEVEL``), so each is set, not only their parent."""
    for name in [*logging.root.manager.loggerDict, "torch.distributed"]:
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def reasons(folder: Path) -> dict[int, str]:
    """The error lines the ranks other than 0 left (``tell_the_launcher_why``), by rank."""
    return {int(path.name[5:]): path.read_text(encoding="utf-8") for path in folder.glob("rank-*") if path.name[5:].isdigit()}


def report(failures: dict, run_dir: str | None, as_json: bool, said: bool, why: dict[int, str]) -> int:
    """The exit status for these failed ranks, saying which one failed first (unless all refused bad input and rank 0
    said so) and why, and how to resume the run (``run_dir``: None when rank 0 had not made it yet). The only line: the
    ranks say nothing of a lost peer. ``said``: rank 0 printed its result (and its object, with ``as_json``); if not, this
    says the same as one. ``why``: the error lines of the ranks other than 0. ``run_dir``: the run's folder, as rank 0 named it."""
    if all(failure.exitcode == USAGE_ERROR for failure in failures.values()):
        if not said:  # this machine has no rank 0 (the second node of a run): its ranks' reason was said by none
            first = min(failures)
            _say(f"{why.get(first, 'bad input')} (rank {first})", USAGE_ERROR, as_json, {"failed_rank": first})
        return USAGE_ERROR
    # A rank killed by a signal is the cause, else the first that ended with an error; the others fail after it (a
    # collective lost its peer) or were stopped by torchrun itself (SIGTERM: never the cause).
    rank, failure = min(failures.items(), key=lambda item: (item[1].exitcode == -signal.SIGTERM, item[1].exitcode >= 0,
                                                            item[1].timestamp, item[0]))
    if rank == 0 and failure.exitcode > RUN_FAILED:
        # Rank 0 chose its status (a fault stopped the run, the store failed, the run is in use, Ctrl-C) and said why;
        # the other ranks stopped with it (or torchrun stopped them after it).
        return failure.exitcode
    how = f"was killed by {failure.signal_name()}" if failure.exitcode < 0 else f"ended with exit status {failure.exitcode}"
    cause = f" ({why[rank].rstrip('.')})" if rank in why else ""
    message = f"rank {rank} (pid {failure.pid}) {how}{cause}, so torchrun stopped the other processes; {resumable(run_dir)}"
    _say(message, RUN_FAILED, as_json and not said, {"state": "failed", "failed_rank": rank, "run_id": _id(run_dir)})
    return RUN_FAILED


def _say(message: str, status: int, as_json: bool, fields: dict) -> None:
    """The launcher's one line, and with ``as_json`` the object a script gets."""
    print(f"lrscope: error: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"state": "error", "exit_status": status, "message": message, **fields}))


def resumable(run_dir: str | None) -> str:
    """How to go on with the run after a rank failed, naming it (`lrscope resume RUN` was copied as it was)."""
    from ..store.paths import run_argument

    if run_dir is None:
        return "no run was recorded yet: start it again"
    return f"the run keeps its last checkpoint: `lrscope resume {run_argument(run_dir)}` continues it on any number of processes"


def _id(run_dir: str | None) -> str | None:
    """The run's id (its folder's name), as the objects of --json name it."""
    return None if run_dir is None else Path(run_dir).name
