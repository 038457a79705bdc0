"""Cosine annealing and cosine with warm restarts (SGDR)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import COUNT, LR, STEPS, Shape, param


def cosine_between(start: float, end: float, t: np.ndarray, period: np.ndarray | float) -> np.ndarray:
    """Half a cosine from ``start`` (t=0) to ``end`` (t=period), in PyTorch's operation order."""
    return end + (start - end) * (1 + np.cos(np.pi * t / period)) / 2


@dataclass(frozen=True, kw_only=True)
class Cosine(Shape):
    """Half a cosine from start_lr down to end_lr over the segment (PyTorch's CosineAnnealingLR)."""

    kind = "cosine"
    title = "Cosine annealing"
    start_lr: float = param(LR, "The LR of the segment's first step (the top of the cosine).", label="starting LR")
    end_lr: float = param(LR, "The LR the cosine reaches at the end of the segment (eta_min).", 0.0, label="final LR")

    def lrs(self, t):
        return cosine_between(self.start_lr, self.end_lr, np.asarray(t, float), self.steps)


@dataclass(frozen=True, kw_only=True)
class CosineRestarts(Shape):
    """Cosine cycles that restart at start_lr, each period_mult times longer (SGDR)."""

    kind = "cosine_restarts"
    title = "Cosine with warm restarts (SGDR)"
    start_lr: float = param(LR, "The LR at the start of every cycle.", label="LR at each restart")
    end_lr: float = param(LR, "The lowest LR, reached at the end of each cycle (eta_min).", 0.0, label="lowest LR")
    period: int = param(STEPS, "The length in steps of the first cycle (T_0).")
    period_mult: int = param(COUNT, "How many times longer each cycle is than the one before (T_mult).", 1)

    def lrs(self, t):
        t = np.asarray(t, float)
        if self.period_mult == 1:
            cycle_start, cycle_length = np.floor(t / self.period) * self.period, float(self.period)
        else:
            starts, lengths = self._cycles(float(np.max(t, initial=0.0)))
            index = np.searchsorted(starts, t, side="right") - 1
            cycle_start, cycle_length = starts[index], lengths[index]
        return cosine_between(self.start_lr, self.end_lr, t - cycle_start, cycle_length)

    def _cycles(self, last: float) -> tuple[np.ndarray, np.ndarray]:
        """Start step and length of every cycle up to step ``last``, in exact integers."""
        starts, lengths, start, length = [], [], 0, self.period
        while start <= last:
            starts.append(start)
            lengths.append(length)
            start, length = start + length, length * self.period_mult
        return np.asarray(starts, float), np.asarray(lengths, float)
