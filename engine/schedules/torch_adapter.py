"""A standard PyTorch LR scheduler that follows a timeline, for plain training loops."""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from ..errors import ScheduleFileError
from .timeline import Timeline


def group_multipliers(optimizer: Optimizer, timeline: Timeline) -> list[float]:
    """The multiplier of each optimizer group: by its "name" key, else by position."""
    by_name = dict(timeline.multipliers)
    groups = optimizer.param_groups
    if all(g.get("name") in by_name for g in groups):
        return [by_name[g["name"]] for g in groups]
    if len(groups) == len(timeline.multipliers):
        return [m for _, m in timeline.multipliers]
    if len(timeline.multipliers) == 1:
        return [timeline.multipliers[0][1]] * len(groups)
    raise ScheduleFileError(
        f"the schedule drives the parameter groups {', '.join(timeline.group_names)} but the optimizer has "
        f"{len(groups)} groups: give each group a matching 'name' key"
    )


class TimelineLR(LRScheduler):
    """Sets each group's LR (and momentum, where scheduled) to the timeline's value at the current step.

    The LR is computed from the step alone, never by multiplying the previous
    value, so it cannot drift and its state_dict is plain data.
    """

    def __init__(self, optimizer: Optimizer, timeline: Timeline, last_epoch: int = -1):
        self.timeline = timeline
        self.multipliers = group_multipliers(optimizer, timeline)
        self.uses_betas = "betas" in optimizer.param_groups[0]
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """The LR of every group at ``last_epoch`` (which counts batches here)."""
        step = self.last_epoch
        momentum = self.timeline.momentum_at(step)
        if not math.isnan(momentum):
            for group in self.optimizer.param_groups:
                if self.uses_betas:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        base = self.timeline.lr_at(step)
        return [base * m for m in self.multipliers]

    def state_dict(self) -> dict:
        """Plain data only: the step counters (the timeline is in the schedule file)."""
        return {k: v for k, v in self.__dict__.items() if k in ("last_epoch", "_step_count", "_last_lr", "base_lrs")}
