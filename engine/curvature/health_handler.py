"""Optimizer health as one of the training job's handlers: measured between backward and the update,
read back with each block of logged steps."""

from __future__ import annotations

from .health import HealthMeter


class HealthHandler:
    """Per-group gradient norm and ‖ΔW‖/‖W‖ every step; a HealthLogged per logged block."""

    def __init__(self, optimizer, emit):
        self.meter = HealthMeter(optimizer)
        self.emit = emit

    def after_backward(self, job) -> None:
        """Gradient norms (unscaled under a GradScaler) and a copy of the weights."""
        scaler = job.session.scaler
        self.meter.before_step(scaler._get_scale_async() if scaler is not None else None)

    def after_step(self, job) -> None:
        """The update each group just received (the step counter has already moved on)."""
        self.meter.after_step(job.step - 1)

    def flush(self, job) -> None:
        """Read the block back in one go and emit it."""
        event = self.meter.take()
        if event is not None:
            self.emit(event)
