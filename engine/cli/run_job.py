"""Run a training job in the foreground: progress on stderr, Ctrl-C stops cleanly, a result at the end."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..commands import Stop
from ..store.reader import read_steps
from ..store.writer import RunStore
from ..training.job import RunOutcome, TrainingJob
from .common import say
from .progress import ProgressPrinter, clock


@contextlib.contextmanager
def ctrl_c_stops(job: TrainingJob) -> Iterator[None]:
    """The first Ctrl-C asks the job to stop at the next step (resumable); a second one aborts."""
    def handler(_signum, _frame):
        say("\nstopping at the next step (press Ctrl-C again to abort)")
        job.send(Stop())
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def execute(job: TrainingJob, store: RunStore) -> tuple[RunOutcome, float]:
    """Run ``job`` with a progress display; returns its outcome and the wall time."""
    job.bus.subscribe(ProgressPrinter(batch_size=job.config.batch_size))
    started = time.perf_counter()
    try:
        with ctrl_c_stops(job):
            outcome = job.run()
    finally:
        store.close()
    return outcome, time.perf_counter() - started


def group_report(job: TrainingJob, store: RunStore) -> list[dict[str, Any]]:
    """Each parameter group, input to output: its size, the LR it ended at and its highest, and the steps it was frozen
    (all read back from what the run recorded)."""
    steps = read_steps(store.run_dir)
    lrs = steps["lrs"] if len(steps["step"]) else np.zeros((0, len(job.session.group_names)))
    return [{"name": name, "parameters": sum(p.numel() for p in group["params"]),
             "last_lr": float(lrs[-1, i]) if len(lrs) else None, "peak_lr": float(lrs[:, i].max()) if len(lrs) else None,
             "frozen_steps": int((lrs[:, i] == 0).sum())}
            for i, (name, group) in enumerate(zip(steps["groups"] or job.session.group_names, job.session.optimizer.param_groups))]


def report(outcome: RunOutcome, seconds: float, job: TrainingJob, store: RunStore, as_json: bool, extra: dict[str, Any]) -> int:
    """Print the final result; exit status 0 when finished or stopped, 1 when the run failed."""
    result = {
        "state": outcome.state, "steps": outcome.step, "total_steps": job.total_steps,
        "epochs": outcome.step / job.session.steps_per_epoch, "val_accuracy": outcome.val_accuracy,
        "val_loss": outcome.val_loss, "best_val_accuracy": outcome.best_val_accuracy, "seconds": seconds,
        "run_dir": str(store.run_dir), "dataset": {"name": job.dataset.summary.name, "fingerprint": job.dataset.summary.fingerprint},
        "message": outcome.message, "weights": job.session.weights, "groups": group_report(job, store), **extra,
    }
    if as_json:
        print(json.dumps(result, allow_nan=True).replace("NaN", "null"))
    else:
        say(f"{outcome.state}: val accuracy {100 * outcome.val_accuracy:.2f}% (best {100 * outcome.best_val_accuracy:.2f}%), "
            f"val loss {outcome.val_loss:.4f}, {outcome.step} steps in {clock(seconds)}")
        say(f"run saved in {store.run_dir}")
        if outcome.message and outcome.state == "failed":
            say(f"error: {outcome.message}")
    return 1 if outcome.state == "failed" else 0
