"""Record every step: its loss (left on the device) and the LRs and momentum read back from the optimizer."""

from __future__ import annotations

from ...optim import applied_lrs, applied_momentum
from ..hooks import StepInfo


def record_step(job, info: StepInfo) -> None:
    """STEP_COMPLETED: buffer the step; read a block back when one is due (the epoch's end flushes its own)."""
    optimizer = job.session.optimizer
    job.recorder.record(info.step, info.loss, applied_lrs(optimizer), applied_momentum(optimizer), info.samples)
    if job.recorder.due() and not job.epoch_end_pending:
        job.flush()
