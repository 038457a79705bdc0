"""Reduce on plateau: after each epoch, the schedule's plateau rule may scale the rest of the run down."""

from __future__ import annotations

import math

from ...events import EpochEnded
from ...schedules.edits import ScaleRest
from ...schedules.plateau import PlateauTracker


class PlateauHandler:
    """EPOCH_COMPLETED: feed the validation loss to the rule; when it fires, edit the schedule (reason "plateau")."""

    state_key = "plateau"

    def __init__(self):
        self.tracker: PlateauTracker | None = None
        self._saved: dict | None = None

    def __call__(self, job, epoch: EpochEnded) -> None:
        rule = job.run_schedule.timeline.plateau
        if rule is None or job.step >= job.total_steps or not math.isfinite(epoch.val_loss):
            return
        if self.tracker is None:
            self.tracker = PlateauTracker.restore(rule, self._saved) if self._saved else PlateauTracker(rule)
        if self.tracker.observe(epoch.val_loss):
            factor = self.tracker.factor_for(job.run_schedule.timeline.lr_at(job.step - 1))
            if factor is not None:
                job.edit(ScaleRest(factor, reason="plateau"))

    def state_dict(self) -> dict | None:
        """The rule's running state, plain data (None before the rule has seen an epoch)."""
        return self.tracker.state() if self.tracker is not None else self._saved

    def load_state_dict(self, state: dict | None) -> None:
        """Continue from a saved state (from a checkpoint or the state a rollback returns to)."""
        self.tracker, self._saved = None, state
