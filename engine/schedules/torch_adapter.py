"""A standard PyTorch LR scheduler that follows a timeline, for plain training loops."""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from ..errors import ScheduleFileError
from ..optim import set_frozen
from .groups import ALL, GroupMismatch
from .timeline import Timeline


def optimizer_group_names(optimizer: Optimizer, timeline: Timeline) -> tuple[str, ...]:
    """The names the timeline drives the optimizer's groups by; ScheduleFileError says which cannot be matched.

    A timeline that only uses ``all`` (every group trains alike) drives any optimizer, named or not.
    """
    names = [group.get("name") for group in optimizer.param_groups]
    if set(timeline.group_names) == {ALL}:
        return tuple(name if isinstance(name, str) else f"#{i}" for i, name in enumerate(names))
    unnamed = [str(i) for i, name in enumerate(names) if not isinstance(name, str)]
    if unnamed:
        raise ScheduleFileError(f"the optimizer's param group(s) {', '.join(unnamed)} have no \"name\" key; {_how_to_name(timeline)}")
    try:
        timeline.check_groups(tuple(names))
    except GroupMismatch as error:
        raise ScheduleFileError(f"{error.problem}; {_how_to_name(timeline)}") from None
    return tuple(names)


def _how_to_name(timeline: Timeline) -> str:
    """What to do: a schedule whose groups train differently (fine-tuning: a head ×10, frozen spans) must be told
    which parameters each group holds, so it drives the optimizer's param groups by their "name" key."""
    named = [name for name in timeline.group_names if name != ALL]
    rest = ", 'all' covering any other" if ALL in timeline.group_names else ""
    return (f"the schedule trains its groups differently, so give the optimizer one param group per group it names "
            f"({', '.join(named)}{rest}), each with that \"name\", e.g. "
            f"torch.optim.SGD([{{\"params\": model.{named[0]}.parameters(), \"name\": \"{named[0]}\"}}, …])")


class TimelineLR(LRScheduler):
    """Sets each group's LR (and momentum, where scheduled) to the timeline's value at the current step.

    Groups are matched by their "name" key. The LR is computed from the step alone,
    never by multiplying the previous value, so it cannot drift and its state_dict is
    plain data. Where the timeline freezes a group, its parameters stop requiring
    gradients (and its LR is 0) until the freeze span ends; groups never frozen are left alone.
    """

    def __init__(self, optimizer: Optimizer, timeline: Timeline, last_epoch: int = -1):
        self.timeline = timeline
        self.names = optimizer_group_names(optimizer, timeline)
        self.uses_betas = "betas" in optimizer.param_groups[0]
        self._frozen = [False] * len(self.names)
        # Set as at step 0 without dropping what the optimizer holds: one whose state was loaded before the scheduler was
        # made lost a frozen group's momentum, which a resume after the unfreeze needs (helper-90).
        self._starting = True
        super().__init__(optimizer, last_epoch)
        self._starting = False

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
        self._freeze(self._frozen_at(step))
        return self.timeline.group_lrs([step], self.names)[0].tolist()

    def _frozen_at(self, step: int) -> list[bool]:
        """Whether each group is frozen at ``step``, in the optimizer's order."""
        return self.timeline.group_settings([step], self.names)[1][0].tolist()

    def _freeze(self, frozen: list[bool]) -> None:
        # self.names was read from these very groups, in their order, so the pairing is by name.
        for group, now, was in zip(self.optimizer.param_groups, frozen, self._frozen):
            if now != was:
                set_frozen(self.optimizer, group, now, keep_state=self._starting)
        self._frozen = frozen

    def state_dict(self) -> dict:
        """Plain data only: the step counters (the timeline is in the schedule file)."""
        return {k: v for k, v in self.__dict__.items() if k in ("last_epoch", "_step_count", "_last_lr", "base_lrs")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the step counters, and set each group as the timeline has it at that step: frozen or not, its LR and
        momentum, whichever state was loaded first."""
        super().load_state_dict(state_dict)
        # The constructor set the groups as at step 0: left so, a run resumed after the unfreeze trained its first step
        # with the backbone still frozen (the optimizer's state restores the LRs, never requires_grad), and a scheduler
        # made after the optimizer's state was loaded trained that step at step 0's LRs (helper-80, helper-90).
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
