"""Reduce-on-plateau: lower the LR when validation loss stops improving (as ReduceLROnPlateau)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..text import counted

EPS = 1e-8


@dataclass(frozen=True)
class PlateauRule:
    """When to fire: after ``patience`` epochs without a ``threshold`` improvement of val loss."""

    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        if not (isinstance(self.factor, float) and 0 < self.factor < 1):
            raise ValueError(f"factor must be between 0 and 1 (exclusive), got {self.factor!r}")
        for name in ("patience", "cooldown"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**6:
                raise ValueError(f"{name} must be a whole number of epochs from 0, got {value!r}")
        for name in ("threshold", "min_lr"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number from 0, got {value!r}")
        if self.threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be rel or abs, got {self.threshold_mode!r}")


def cuts_kept(cuts: int) -> str:
    """Why a schedule trained again has no plateau rule: its run's cuts are in it (empty when the rule made none)."""
    return f"the plateau rule cut the LR {counted(cuts, 'time')} in the run; those cuts are in the schedule now, so the rule is off" if cuts else ""


@dataclass
class PlateauTracker:
    """The rule's running state; ``observe`` says whether the rule fires after an epoch."""

    rule: PlateauRule
    best: float = math.inf
    bad_epochs: int = 0
    cooldown_left: int = 0

    def _improves(self, value: float) -> bool:
        if self.rule.threshold_mode == "rel":
            return value < self.best * (1 - self.rule.threshold)
        return value < self.best - self.rule.threshold

    def observe(self, val_loss: float) -> bool:
        """Record one epoch's validation loss; True when the LR should be lowered now."""
        if self._improves(val_loss):
            self.best, self.bad_epochs = val_loss, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.rule.patience:
            self.cooldown_left, self.bad_epochs = self.rule.cooldown, 0
            return True
        return False

    def factor_for(self, current_lr: float) -> float | None:
        """The factor to apply to ``current_lr`` when firing, or None when min_lr blocks it."""
        new_lr = max(current_lr * self.rule.factor, self.rule.min_lr)
        if current_lr - new_lr <= EPS or current_lr <= 0:
            return None
        return new_lr / current_lr

    def state(self) -> dict:
        """Plain-data state for checkpoints."""
        return {"best": self.best, "bad_epochs": self.bad_epochs, "cooldown_left": self.cooldown_left}

    @classmethod
    def restore(cls, rule: PlateauRule, state: dict) -> PlateauTracker:
        """The tracker as saved by ``state()``."""
        return cls(rule, float(state["best"]), int(state["bad_epochs"]), int(state["cooldown_left"]))
