"""Run a training job in the foreground: progress on stderr, faults answered by the policy, Ctrl-C or
SIGTERM stops cleanly, a result and an exit status at the end."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import time
from collections.abc import Iterator
from typing import Any

from ..commands import Stop
from ..store.writer import RunStore
from ..training.job import RunOutcome, TrainingJob
from .common import FAILED, FAULT_STOPPED, FINISHED, INTERRUPTED, STORE_FAILED, say
from .fault_policy import FaultPolicy
from .progress import ProgressPrinter, clock


@contextlib.contextmanager
def signals_stop(job: TrainingJob) -> Iterator[None]:
    """Ctrl-C or SIGTERM asks the job to stop at the next step (resumable); a second Ctrl-C aborts."""
    def handler(signum, _frame):
        say(f"\nstopping at the next step ({signal.Signals(signum).name}; press Ctrl-C again to abort)")
        job.send(Stop())
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def execute(job: TrainingJob, store: RunStore, args: argparse.Namespace) -> tuple[RunOutcome, float, FaultPolicy]:
    """Run ``job`` with a progress display and the fault policy; returns its outcome, the wall time and the policy."""
    policy = FaultPolicy(job.send, args.on_fault, args.max_rollbacks)
    job.bus.subscribe(ProgressPrinter(batch_size=job.config.batch_size))
    job.bus.subscribe(policy)
    started = time.perf_counter()
    try:
        with signals_stop(job):
            outcome = job.run()
    finally:
        store.close()
    return outcome, time.perf_counter() - started, policy


def exit_status(outcome: RunOutcome, policy: FaultPolicy, store: RunStore) -> int:
    """0 finished, 1 failed, 3 stopped by a fault, 4 the store could not be written, 130 stopped by a signal."""
    if policy.store_failure is not None or store.failure is not None:
        return STORE_FAILED
    if outcome.state == "failed":
        return FAILED
    if policy.fault is not None:
        return FAULT_STOPPED
    return INTERRUPTED if outcome.state == "stopped" else FINISHED


def _state(outcome: RunOutcome, store: RunStore) -> str:
    """The job's state, except that a run whose record could not all be written never claims "finished"."""
    return "incomplete" if outcome.state == "finished" and (store.failure or store.unwritten) else outcome.state


def report(outcome: RunOutcome, seconds: float, job: TrainingJob, store: RunStore, policy: FaultPolicy,
           as_json: bool, extra: dict[str, Any]) -> int:
    """Print the final result (always as one JSON object with --json); return the exit status."""
    status = exit_status(outcome, policy, store)
    problem = _problem(policy, store)
    result = {
        "state": _state(outcome, store), "exit_status": status, "steps": outcome.step, "total_steps": job.total_steps,
        "epochs": outcome.step / job.session.steps_per_epoch, "val_accuracy": outcome.val_accuracy,
        "val_loss": outcome.val_loss, "best_val_accuracy": outcome.best_val_accuracy, "seconds": seconds,
        "run_dir": str(store.run_dir), "dataset": {"name": job.dataset.summary.name, "fingerprint": job.dataset.summary.fingerprint},
        "message": problem or outcome.message, "rollbacks": policy.rollbacks, **extra,
    }
    if policy.fault is not None:
        result["fault"] = {"kind": policy.fault.kind, "step": policy.fault.step, "lr": policy.fault.lr}
    if as_json:
        print(json.dumps(result, allow_nan=True).replace("NaN", "null"))
    else:
        say(f"{result['state']}: val accuracy {100 * outcome.val_accuracy:.2f}% (best {100 * outcome.best_val_accuracy:.2f}%), "
            f"val loss {outcome.val_loss:.4f}, {outcome.step} steps in {clock(seconds)}")
        say(f"run saved in {store.run_dir}")
    if problem or (outcome.message and outcome.state == "failed"):
        say(f"lrscope: error: {problem or outcome.message}")
    return status


def _problem(policy: FaultPolicy, store: RunStore) -> str:
    """The one line that says why the run did not finish and how to go on ('' when it finished)."""
    resume = f"`lrscope resume {store.run_id}`"
    failure = store.failure or (policy.store_failure.message if policy.store_failure else "")
    if failure:
        step = store.checkpoint_step
        return f"{failure}; then {resume} continues from step {step}" if step is not None else failure
    if policy.fault is not None:
        return f"the run stopped on a fault: {policy.fault.message} {resume} continues from the last good checkpoint"
    return ""
