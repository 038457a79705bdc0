"""Optimizer health as one of the training job's handlers: measured between backward and the update,
read back with each block of logged steps."""

from __future__ import annotations

from ..training.hooks import Hook
from .health import HealthMeter

# Health is sampled on every 10th step: on every step, the weight copy for ‖ΔW‖ cost 3.4 % of a small
# model's training on CPU (as much as its update), over the 1 % budget; a sample per block is what the plots need.
HEALTH_EVERY = 10


class HealthHandler:
    """Per-group gradient norm and ‖ΔW‖/‖W‖ every ``HEALTH_EVERY``-th step; a HealthLogged per logged block."""

    def __init__(self, optimizer):
        self.meter = HealthMeter(optimizer)

    def attach(self, job) -> None:
        """Register between backward and the update, after the update and after each block is read back."""
        job.add_handler(Hook.AFTER_BACKWARD, self.after_backward, every=HEALTH_EVERY)
        job.add_handler(Hook.STEP_COMPLETED, self.step_completed)  # returns at once on a step that was not sampled
        job.add_handler(Hook.BLOCK_FLUSHED, self.block_flushed)

    def after_backward(self, job, info) -> None:
        """Gradient norms (the job has unscaled them under mixed precision) and a copy of the weights."""
        self.meter.before_step()

    def step_completed(self, job, info) -> None:
        """The update the step's groups just received."""
        self.meter.after_step(info.step)

    def block_flushed(self, job, block) -> None:
        """Read the health of the block's steps back in one go and emit it."""
        event = self.meter.take()
        if event is not None:
            job.bus.emit(event)
