"""How a job takes commands at a step boundary: pause and resume, schedule edits, range tests, rollback."""

from __future__ import annotations

import time

from ..commands import CancelRangeTest, Command, EditSchedule, Pause, Resume, RollBack, StartRangeTest
from ..events import RolledBack
from ..schedules.edits import ScaleRest
from .state import restore


class StopRequested(Exception):
    """Raised at a step boundary when a stop was requested."""


def handle_commands(job) -> None:
    """Apply queued commands and wait while paused (that time is not training time); StopRequested on a stop."""
    commands = job.inbox.drain()
    if commands or job.state == "paused":
        started = time.perf_counter()
        try:
            for command in commands:
                apply_command(job, command)
            while job.state == "paused" and not job.inbox.stop_requested.is_set():
                command = job.inbox.wait(timeout=0.25)
                if command is not None:
                    apply_command(job, command)
        finally:
            job.excluded_seconds += time.perf_counter() - started
    if job.inbox.stop_requested.is_set():
        raise StopRequested


def apply_command(job, command: Command) -> None:
    """Carry out one command."""
    if isinstance(command, Pause) and job.state == "running":
        if job.flush():  # a fault found in the last block has paused the run already
            job.recorder.pause_clock()
            job.set_state("paused")
    elif isinstance(command, Resume) and job.state == "paused":
        job.set_state("running")
    elif isinstance(command, EditSchedule):
        job.edit(command.edit)
    elif isinstance(command, StartRangeTest):
        _range_test(job, command.settings)
    elif isinstance(command, RollBack):
        _roll_back(job, command.lr_factor)
    elif isinstance(command, CancelRangeTest):
        job.inbox.cancel_requested.clear()


def _range_test(job, settings) -> None:
    from ..range_test.runner import run_range_test

    if not job.flush():
        job.log("the range test was not started because training hit a fault; roll back first", "warning")
        return
    job.recorder.pause_clock()
    previous = job.state
    job.inbox.cancel_requested.clear()
    job.set_state("range_test")

    def cancelled() -> bool:
        return job.inbox.cancel_requested.is_set() or job.inbox.stop_requested.is_set()

    try:
        run_range_test(job.session, settings, job.bus.emit, job.run_schedule.timeline,
                       cancelled=cancelled, index=job.range_tests_run, step=job.step, run_steps=job.total_steps - job.step)
    finally:
        job.range_tests_run += 1
        job.set_state(previous if previous == "paused" else "running")


def _roll_back(job, lr_factor: float) -> None:
    """Return to the last good state (weights, schedule, handler states, metrics) and scale the LR from there."""
    good = job.last_good
    restore(job.session, good["state"])
    job.step, job.run_schedule, job.metrics = good["step"], good["run_schedule"], dict(good["metrics"])
    job.epoch_end_pending = False
    job.load_handler_states(good["handlers"])
    job.forget_batches()
    job.flush()
    job.recorder.take_epoch_loss()
    job.bus.emit(RolledBack(job.step, f"rolled back to step {job.step}"))
    job.edit(ScaleRest(lr_factor, reason="rollback"))
    job.set_state("running")
