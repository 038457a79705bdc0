"""How a job takes commands at a step boundary: pause and resume, schedule edits, range tests, rollback."""

from __future__ import annotations

import time

from ..commands import CancelRangeTest, Command, EditSchedule, Pause, Resume, RollBack, StartRangeTest, Stop
from ..events import CommandApplied, RolledBack
from ..schedules.edits import ScaleRest
from ..text import counted
from .hooks import Hook
from .state import restore


class StopRequested(Exception):
    """Raised at a step boundary when a stop was requested."""


def handle_commands(job) -> None:
    """Apply queued commands and wait while paused (that time is not training time); StopRequested on a stop."""
    commands = job.inbox.drain()
    if commands or job.state == "paused":
        started = time.perf_counter()
        try:
            while commands:
                for command in commands:
                    apply_command(job, command)
                # Those sent while they were carried out (a Pause clicked during a range test) are taken at this step
                # too: the run trained one step more before it paused. (Under DDP the ranks' queues are alike here.)
                commands = job.inbox.drain()
            while job.state == "paused" and not job.inbox.stop_requested.is_set():
                command = job.inbox.wait(timeout=0.25)
                if command is not None:
                    apply_command(job, command)
        finally:
            job.excluded_seconds += time.perf_counter() - started
    if job.inbox.stop_requested.is_set():
        raise StopRequested


def answer_left(job, ended: str) -> None:
    """Answer the commands still queued when the run ends (``ended``: stopped, finished, failed) away from a step
    boundary: a `ctl stop` sent in validation or in a λmax measurement waited for its answer until its timeout, and a
    `ctl pause` sent after the last step of a run said "not answered within 120 s" at once, as the run finished."""
    for command in job.inbox.drain():
        stopping = isinstance(command, Stop) and ended == "stopped"
        job.bus.emit(CommandApplied(command.id, type(command).__name__, job.step, stopping,
                                    "stopping" if stopping else f"the run {ended} first", command.source))


def apply_command(job, command: Command) -> None:
    """Carry out one command and say what became of it, at which step (its sender may be waiting for that).

    A command the job does not carry out itself goes to the COMMAND_RECEIVED handlers (the curvature probe's
    MeasureCurvature, SetCurvatureCadence); the one that takes it says what became of it, answered here like the rest.
    """
    applied, message = _carry_out(job, command)
    if applied and job.state == "paused":
        checkpoint_paused(job)
    job.bus.emit(CommandApplied(command.id, type(command).__name__, job.step, applied, message, command.source))


def _carry_out(job, command: Command) -> tuple[bool, str]:
    """(whether ``command`` was applied, what was done or why not)."""
    if isinstance(command, Pause):
        if job.state != "running":
            return False, "already paused" if job.state == "paused" else f"not paused: the run is {job.state}"
        if not job.flush():
            return False, "a fault found in the last steps has paused the run already"
        job.recorder.pause_clock()
        job.set_state("paused")
        return True, "paused"
    if isinstance(command, Resume):
        if job.state != "paused":
            return False, "already running" if job.state == "running" else f"not resumed: the run is {job.state}"
        if job.store is not None and not job.store.writes_now():
            # Resumed while its folder was still moved away, the window's run trained to "finished" with nothing written
            # (helper-128); a run paused for its store goes on once the store writes again.
            message = f"not resumed: {job.store.failure}"
            job.log(message, "warning")
            return False, message
        job.set_state("running")
        return True, "resumed"
    if isinstance(command, EditSchedule):
        return job.edit(command.edit)
    if isinstance(command, StartRangeTest):
        return _range_test(job, command.settings)
    if isinstance(command, RollBack):
        if not job.diverged:  # from ctl, or a box answered another way: it went back an epoch for nothing
            return False, "nothing to roll back: no blown-up loss waits for a rollback"
        factor = _roll_back(job, command.lr_factor)
        return True, f"rolled back to step {job.step}, LR ×{factor:g}"
    if isinstance(command, CancelRangeTest):
        # Sent during a range test, the cancel was seen there at once (the inbox's flag); its command waits until after.
        cut, job.cut_range_test = job.cut_range_test, False
        job.inbox.cancel_requested.clear()
        return (True, "cancelled the range test; its result keeps what it measured") if cut else (False, "no range test was running")
    if isinstance(command, Stop):
        return True, "stopping"
    answer = job.handlers.answer(Hook.COMMAND_RECEIVED, job, command)
    return answer if answer is not None else (False, f"{type(command).__name__} is not a command this job knows")


def checkpoint_paused(job) -> None:
    """Write the paused run as it is now and wait for the write. A run may stay paused for hours, edited meanwhile:
    a crash or a kill then resumes it where it was paused, with every edit it answered (diverged weights, paused by
    a loss fault, are never written: a rollback comes first)."""
    if job.store is not None and not job.diverged:
        job.save_checkpoint()
        job.store.sync()


def _range_test(job, settings) -> tuple[bool, str]:
    from ..range_test.runner import run_range_test

    if not job.flush():
        message = "the range test was not started because training hit a fault; roll back first"
        job.log(message, "warning")
        return False, message
    job.recorder.pause_clock()
    # As a λmax asked for: its bound at the LRs and momentum the run goes on with (after an edit made while paused, the
    # test said "bound 2.57" at the momentum last trained, and Measure now "2.65" at the same step; helper-127).
    job.set_next_step_hyperparameters()
    previous = job.state
    job.inbox.cancel_requested.clear()
    job.set_state("range_test")

    def seen() -> bool:
        return job.inbox.cancel_requested.is_set() or job.inbox.stop_requested.is_set()

    def cancelled() -> bool:
        job.inbox.poll()  # under DDP: every rank learns of a cancel at the same iteration
        return seen()

    try:
        run_range_test(job.session, settings, job.bus.emit, job.run_schedule.timeline, cancelled=cancelled, cancel_seen=seen,
                       index=job.range_tests_run, step=job.step, run_steps=job.total_steps - job.step)
    finally:
        job.range_tests_run += 1
        job.cut_range_test = job.inbox.cancel_requested.is_set()
        job.set_state(previous if previous == "paused" else "running")
    # Its asker's headline: a cancelled test said "range test done", its "(cancelled)" only on the next line.
    return True, "range test cancelled" if cancelled() else "range test done"


def rollback_factor(job, lr_factor: float) -> float:
    """The factor a rollback with ``lr_factor`` scales the last good state's schedule by.

    A rollback to the state an earlier one returned to undoes that one's ×0.1 too: without carrying it over, the
    run would retrain the same steps at the same LR into the same fault, as many times as it may roll back. A rollback
    that undoes other edits does not go on above the LR in force either: after a Set LR 0.05 made since, the schedule
    ×0.01 at the state it returned to went on at 0.5, ten times the LR of the fault. (Without such edits the LR in
    force may have decayed to nothing by the end of the run, and is no limit.)"""
    carried = _carried(job)
    for record in carried:
        lr_factor *= record.edit.factor
    if len(_undone(job)) == len(carried):
        return lr_factor
    before = _highest_lr(job.last_good["run_schedule"].timeline, job.last_good["step"], job.session.group_names)
    # The LR the next step would train at: a Set LR typed in the fault's box applies from there, not to the step before.
    now = _highest_lr(job.run_schedule.timeline, min(job.step, job.total_steps - 1), job.session.group_names)
    return now / before if before * lr_factor > now > 0 else lr_factor


def rollback_lr(job, lr_factor: float) -> float:
    """The highest group's LR at the last good step once a rollback with ``lr_factor`` has gone back there: the
    schedule as it was at that state, scaled (a Set LR made since is undone, not scaled)."""
    good = job.last_good
    return _highest_lr(good["run_schedule"].timeline, good["step"], job.session.group_names) * rollback_factor(job, lr_factor)


def _highest_lr(timeline, step: int, groups) -> float:
    return timeline.lr_at(step) * max(timeline.multipliers_at(step, groups), default=1.0)


def _undone(job) -> list:
    """The edits made since the last good state, which a rollback there undoes."""
    return job.run_schedule.edits[len(job.last_good["run_schedule"].edits):]


def _carried(job) -> list:
    """The earlier rollbacks' own edits, made since the last good state, whose factors a rollback there carries over."""
    undone = _undone(job)
    taken_back = {record.undoes for record in undone}
    return [record for record in undone
            if isinstance(record.edit, ScaleRest) and record.edit.reason == "rollback" and record.id not in taken_back]


def _roll_back(job, lr_factor: float) -> float:
    """Return to the last good state (weights, schedule, handler states, metrics) and scale the LR from there;
    returns the factor it scaled by."""
    good = job.last_good
    carried = {record.id for record in _carried(job)}  # in the new factor: not undone as far as the user is concerned
    undone = [record for record in _undone(job) if record.id not in carried]
    lr_factor = rollback_factor(job, lr_factor)
    restore(job.session, good["state"])
    job.step, job.run_schedule, job.metrics = good["step"], good["run_schedule"], dict(good["metrics"])
    job.epoch_end_pending, job.diverged = good["epoch_end_pending"], False
    job.load_handler_states(good["handlers"])
    job.forget_batches()
    job.flush()
    job.recorder.restore_epoch(good["epoch_loss"])  # the epoch's losses up to that state, not the diverged steps'
    job.bus.emit(RolledBack(job.step, f"rolled back to step {job.step}"))
    if undone:  # they went without a word: a set-lr that caused the fault, say, vanished while the run still listed it
        made = "; ".join(f"step {record.step}: {record.summary}" for record in undone)
        job.log(f"the rollback to step {job.step} undoes {counted(len(undone), 'edit')} made since ({made}); make it again "
                "if you still want it", "warning")
    job.edit(ScaleRest(lr_factor, reason="rollback"))
    job.set_state("running")
    return lr_factor
