"""Checkpoints: the state a run can roll back to (in memory) and resume from (on disk)."""

from __future__ import annotations

from ...events import EpochEnded
from ..hooks import StepInfo


def step_checkpoint(job, info: StepInfo) -> None:
    """STEP_COMPLETED (every ``checkpoint_every`` steps): write a checkpoint unless the epoch ends here or a fault was found."""
    if not job.epoch_end_pending and job.flush():
        job.save_checkpoint()


def epoch_checkpoint(job, epoch: EpochEnded) -> None:
    """EPOCH_COMPLETED: keep this state as the last good one (what a rollback returns to) and write it."""
    job.last_good = job.snapshot()
    job.save_checkpoint(job.last_good["state"])


def stop_checkpoint(job, state: str) -> None:
    """RUN_ENDED: a stopped run is written where it stopped, so it resumes exactly there."""
    if state == "stopped":
        job.save_checkpoint()
