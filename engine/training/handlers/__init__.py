"""The job's built-in handlers, each in its own file; ``attach_builtins`` wires them in their order."""

from __future__ import annotations

from ...curvature.health_handler import HealthHandler
from ...curvature.probe_handler import CurvatureHandler
from ..hooks import Hook
from .chance import ChanceCheck
from .checkpoints import TimedCheckpoint, epoch_checkpoint, first_checkpoint, step_checkpoint, stop_checkpoint
from .faults import FaultCheck
from .plateau import PlateauHandler
from .pretrained_peak import warn_of_a_pretrained_peak
from .recording import record_step


def attach_builtins(job) -> None:
    """The pretrained-peak warning, recording, optimizer health, the curvature probe, fault checks, the plateau rule,
    the chance check and checkpoints.

    Order matters where hooks are shared: a step's health is taken and the step recorded
    before a step checkpoint flushes it, and the plateau rule edits the schedule before
    the epoch's state is kept.
    """
    job.add_handler(Hook.RUN_STARTED, warn_of_a_pretrained_peak)
    job.add_handler(Hook.RUN_STARTED, first_checkpoint)
    HealthHandler(job.session.optimizer).attach(job)
    CurvatureHandler(job.config).attach(job)
    job.add_handler(Hook.STEP_COMPLETED, record_step)
    if job.config.checkpoint_every:
        job.add_handler(Hook.STEP_COMPLETED, step_checkpoint, every=job.config.checkpoint_every)
    if job.config.checkpoint_seconds:
        job.add_handler(Hook.STEP_COMPLETED, TimedCheckpoint(job.config.checkpoint_seconds))
    job.add_handler(Hook.BLOCK_FLUSHED, FaultCheck(job.config.explode_factor, len(job.dataset.summary.classes)))
    job.add_handler(Hook.EPOCH_COMPLETED, PlateauHandler())
    job.add_handler(Hook.EPOCH_COMPLETED, ChanceCheck())
    job.add_handler(Hook.EPOCH_COMPLETED, epoch_checkpoint)
    job.add_handler(Hook.RUN_ENDED, stop_checkpoint)


__all__ = ["ChanceCheck", "FaultCheck", "PlateauHandler", "TimedCheckpoint", "attach_builtins", "epoch_checkpoint", "first_checkpoint",
           "record_step", "step_checkpoint", "stop_checkpoint", "warn_of_a_pretrained_peak"]
