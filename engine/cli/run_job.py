"""Follow a run in the foreground: progress on stderr, Ctrl-C stops cleanly, a result at the end."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..commands import Stop
from ..run.handle import RunHandle, RunResult
from ..run.in_process import InProcessRun
from .common import CliError, say
from .progress import ProgressPrinter, clock


@contextlib.contextmanager
def ctrl_c_stops(run: RunHandle) -> Iterator[None]:
    """The first Ctrl-C asks the run to stop at the next step (resumable); a second one aborts."""
    def handler(_signum, _frame):
        say("\nstopping at the next step (press Ctrl-C again to abort)")
        run.send(Stop())
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def execute(run: InProcessRun, serve: str | None = None, prepared: Callable[[InProcessRun], None] = lambda run: None,
            progress: bool = True) -> tuple[RunResult, float]:
    """Train ``run`` on this thread with a progress display (serving it at ``serve`` if given); its result and the wall time."""
    if progress:
        run.subscribe(ProgressPrinter())
    server = serving(run, serve) if serve else None
    started = time.perf_counter()
    with ctrl_c_stops(run):
        run.prepare()
        prepared(run)
        try:
            if server is not None:
                announce(run, server.start(run.run_dir))
            result = run.run()
        finally:
            if server is not None:
                server.close()
    return result, time.perf_counter() - started


def serving(run: InProcessRun, address: str):
    """A server for ``run`` (subscribed now, so that it numbers every event from the first)."""
    from ..serve.server import RunServer

    try:
        return RunServer(run, address)
    except ValueError as error:
        raise CliError(f"--serve: {error}") from None


def announce(run: InProcessRun, access) -> None:
    """Say where the run is served and with which token; warn when it is open to other machines."""
    from ..serve.access import TOKEN_FILE, announcement
    from ..serve.wire import is_local

    say(announcement(run.run_dir.name, access))
    say(f"  (the token is also in {run.run_dir / TOKEN_FILE}; `lrscope watch {run.run_dir.name}` or `lrscope ctl {run.run_dir.name} …`)")
    if not is_local(access.address):
        say(f"warning: {access.address} accepts connections from other machines; anyone who can reach it and has the token "
            "can steer this run, and the traffic is not encrypted: prefer the default and an SSH tunnel")


def report(result: RunResult, seconds: float, as_json: bool, extra: dict[str, Any]) -> int:
    """Print the final result; exit status 0 when finished or stopped, 1 when the run failed."""
    summary = {
        "state": result.state, "steps": result.step, "total_steps": result.total_steps,
        "epochs": result.step / result.steps_per_epoch, "val_accuracy": result.val_accuracy,
        "val_loss": result.val_loss, "best_val_accuracy": result.best_val_accuracy, "seconds": seconds,
        "run_dir": result.run_dir, "dataset": {"name": result.dataset.get("name"), "fingerprint": result.dataset.get("fingerprint")},
        "message": result.message, "processes": result.config.get("world_size", 1),
        "batch_size": result.config.get("batch_size"),
        "global_batch": result.config.get("batch_size", 0) * result.config.get("world_size", 1), **extra,
    }
    if as_json:
        print(json.dumps(summary, allow_nan=True).replace("NaN", "null"))
    else:
        say(f"{result.state}: val accuracy {100 * result.val_accuracy:.2f}% (best {100 * result.best_val_accuracy:.2f}%), "
            f"val loss {result.val_loss:.4f}, {result.step} steps in {clock(seconds)}")
        say(f"run saved in {result.run_dir}")
        if result.message and result.state == "failed":
            say(f"error: {result.message}")
    return 1 if result.state == "failed" else 0
