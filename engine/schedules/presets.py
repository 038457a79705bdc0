"""Ready-made schedules a user starts from: constant, cosine, warmup + cosine, one-cycle."""

from __future__ import annotations

import numpy as np

from .schedule import Schedule
from .shapes import Constant, Cosine, Linear, OneCycle

PRESETS = ("constant", "cosine", "warmup_cosine", "one_cycle")


def preset(kind: str, lr: float, total_steps: int) -> Schedule:
    """A schedule of ``total_steps`` whose peak LR is ``lr``."""
    if kind == "constant":
        return Schedule((Constant(steps=total_steps, lr=lr),))
    if kind == "cosine":
        return Schedule((Cosine(steps=total_steps, start_lr=lr, end_lr=0.0),))
    if kind == "warmup_cosine":
        warmup = max(1, min(total_steps - 1, round(total_steps * 0.05)))
        return Schedule((Linear(steps=warmup, start_lr=lr * 0.01, end_lr=lr), Cosine(steps=total_steps - warmup, start_lr=lr, end_lr=0.0)))
    if kind == "one_cycle":
        return Schedule((OneCycle(steps=total_steps, max_lr=lr),))
    raise ValueError(f"unknown preset {kind!r}; choose one of {', '.join(PRESETS)}")


def peak_lr(schedule: Schedule) -> float:
    """The highest LR the schedule reaches."""
    return float(np.max(schedule.lrs(np.arange(schedule.total_steps + 1))))


def with_peak_lr(schedule: Schedule, lr: float) -> Schedule:
    """The same shape scaled so its highest LR is ``lr`` (how a suggested LR is applied)."""
    peak = peak_lr(schedule)
    if peak <= 0:
        raise ValueError("the schedule's LR is 0 everywhere, so it cannot be scaled to a peak")
    return schedule.scaled(lr / peak)
