"""The sweep: one training batch per LR, the LR rising from start to end; stop when the loss blows up.

The loop is written against two callables, so it runs the same on a network
and on a quadratic whose divergence point is known.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .settings import RangeTestSettings
from .suggestions import MIN_POINTS

Progress = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


@dataclass(frozen=True)
class Curve:
    """Recorded points (finite only for a sweep) and why the test ended.

    A probe also records the held-out loss before any candidate trained, the steps each trained,
    and each candidate's held-out loss half way (its trend).
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stop_reason: str
    start_score: float | None = None
    steps: int | None = None
    midway: np.ndarray | None = None


def lr_sequence(start: float, end: float, count: int, linear: bool = False) -> np.ndarray:
    """``count`` LRs from start to end, evenly spaced in LR (linear) or in log LR."""
    if linear:
        return np.linspace(start, end, count)
    return np.geomspace(start, end, count)


class Smoother:
    """Bias-corrected exponential moving average (as torch-lr-finder and fastai record it)."""

    def __init__(self, beta: float):
        self.beta, self.average, self.count = beta, 0.0, 0

    def add(self, value: float) -> float:
        """Add a value; returns the smoothed value so far."""
        self.count += 1
        self.average = self.beta * self.average + (1 - self.beta) * value
        return self.average / (1 - self.beta**self.count)


def run_sweep(train_at: Callable[[float, int], object], settings: RangeTestSettings, *,
              evaluate: Callable[[], float] | None = None, progress: Progress | None = None,
              cancelled: Callable[[], bool] = lambda: False, read_every: int = 1) -> Curve:
    """Train one batch at each LR; ``train_at(lr, i)`` returns the batch loss (a float or a 0-d tensor).

    With ``evaluate``, the recorded loss is ``evaluate()`` after each step instead
    of the training batch's loss. Losses are read back every ``read_every``
    iterations (more than 1 avoids a GPU sync per step).
    """
    lrs = lr_sequence(settings.start_lr, settings.end_lr, settings.iterations, settings.linear)
    smoother = Smoother(settings.smooth_beta)
    out_lrs, out_losses, out_smoothed = [], [], []
    pending: list = []
    best, reason, reported, last_report = math.inf, "completed", 0, time.perf_counter()
    for index, lr in enumerate(lrs):
        if cancelled():
            reason = "cancelled"
            break
        loss = train_at(float(lr), index)
        pending.append((float(lr), evaluate() if evaluate else loss))
        if len(pending) < read_every and index + 1 < len(lrs):
            continue
        for point_lr, value in pending:
            value = float(value)
            if not math.isfinite(value):
                reason = "nan"
                break
            smooth = smoother.add(value)
            out_lrs.append(point_lr), out_losses.append(value), out_smoothed.append(smooth)
            best = min(best, smooth)
            # Not before a curve can be read: on a trained model a batch at 0.079 after one at 0.011 stopped a sweep as
            # "diverged" at LR 1.2e-7, its two points too few for any advice. A real divergence goes on, or turns NaN.
            if len(out_smoothed) >= MIN_POINTS and smooth > settings.diverge_factor * best:
                reason = "diverged"
                break
        pending = []
        if reason != "completed":
            break
        if progress and time.perf_counter() - last_report > 0.1:
            progress(np.array(out_lrs[reported:]), np.array(out_losses[reported:]), np.array(out_smoothed[reported:]))
            reported, last_report = len(out_lrs), time.perf_counter()
    if progress and reported < len(out_lrs):
        progress(np.array(out_lrs[reported:]), np.array(out_losses[reported:]), np.array(out_smoothed[reported:]))
    return Curve(np.array(out_lrs), np.array(out_losses), np.array(out_smoothed), reason)
