"""Checkpoints: the state a run can roll back to (in memory) and resume from (on disk).

A run is checkpointed before its first step (so it is resumable whenever it is killed), every
``checkpoint_every`` steps, at least every ``checkpoint_seconds`` (so a kill loses a bounded time),
at each epoch's end, while it is paused (``control.checkpoint_paused``) and where it stops. Diverged
weights (a loss fault not yet rolled back, or an epoch end whose validation says they are damaged, until
a later one says they are sound) are never written: resuming goes back to the last good checkpoint instead.
"""

from __future__ import annotations

import time

from ...events import EpochEnded
from ..hooks import StepInfo
from .faults import damaged_at_epoch_end, guess_loss, lr_since_last_good


def first_checkpoint(job, _payload: None) -> None:
    """RUN_STARTED: a fresh run is written at step 0 and waited for, before anything is printed of it."""
    if job.step == 0 and job.store is not None:
        job.save_checkpoint()
        job.store.sync()


def step_checkpoint(job, info: StepInfo) -> None:
    """STEP_COMPLETED (every ``checkpoint_every`` steps): write a checkpoint unless the epoch ends here, or the weights
    are damaged (a fault found now or not rolled back, or an epoch end's validation said so)."""
    if not job.epoch_end_pending and not job.diverged and job.flush():
        job.save_checkpoint()


class TimedCheckpoint:
    """STEP_COMPLETED: write a checkpoint when ``seconds`` passed since the last one of any kind.

    In a distributed run rank 0's clock decides for every rank (``job.timed_checkpoint_due``, set by the command
    sync): the checkpoint reads the step block back, which is a collective every rank must join at the same step.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __call__(self, job, info: StepInfo) -> None:
        if job.timed_checkpoint_due is not None:
            if job.timed_checkpoint_due:
                step_checkpoint(job, info)
        # the store is looked at here, not when attaching: the CLI and the window give it to the job after building it
        elif job.store is not None and time.monotonic() - job.checkpointed_at >= self.seconds:
            step_checkpoint(job, info)


def epoch_checkpoint(job, epoch: EpochEnded) -> None:
    """EPOCH_COMPLETED: keep this state as the last good one (what a rollback returns to) and write it, unless its
    validation says the weights are damaged already: then nothing is written until an epoch end says they are sound
    again, so that a resume goes back to sound weights too (it resumed at a validation loss of 4,450, and met the same
    blown-up loss at its first step each time)."""
    job.diverged = damaged_at_epoch_end(job, epoch)
    if job.diverged:
        # Said, not only acted on: an LR 50 rolled back to 5 printed "val loss 1314.4990" beside the epoch and nothing else.
        job.log(f"after epoch {epoch.epoch + 1} the validation loss ({epoch.val_loss:.4g}, against {guess_loss(len(job.dataset.summary.classes)):.2f} "
                f"for guessing) and accuracy ({100 * epoch.val_accuracy:.1f}%) say the weights are damaged: this state is not "
                f"kept as a good one to roll back or resume to. The LR (up to {lr_since_last_good(job, epoch.step):.3g} since step "
                f"{job.last_good['step']}, the last good state) is probably too high: lower it, or stop and start again lower.", "warning")
        return
    job.last_good = job.snapshot()
    job.save_checkpoint(job.last_good["state"])


def stop_checkpoint(job, state: str) -> None:
    """RUN_ENDED: a stopped run is written where it stopped, so it resumes exactly there; one stopped on damaged
    weights resumes from the last good state, written again as its newest checkpoint."""
    if state != "stopped":
        return
    if job.diverged:
        job.save_last_good()
    else:
        job.save_checkpoint()
