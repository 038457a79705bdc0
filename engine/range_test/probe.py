"""The probe: every candidate LR starts from the same snapshot, trains M steps, and is scored on the
same held-out batches, so no LR inherits the damage done by the ones before it."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .settings import RangeTestSettings
from .sweep import Curve, Progress


def probe_lrs(settings: RangeTestSettings) -> np.ndarray:
    """The candidate LRs, log-spaced from start to end."""
    return np.geomspace(settings.start_lr, settings.end_lr, settings.probe_count)


def _train(train_at: Callable[[float, int], object], lr: float, steps: range, cancelled: Callable[[], bool]) -> float | None:
    """Train ``steps`` at ``lr``; the last loss, or None when cancelled."""
    loss = 0.0
    for step in steps:
        if cancelled():
            return None
        loss = train_at(lr, step)
    return float(loss)


def _finite_or_inf(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def run_probe(reset: Callable[[], None], train_at: Callable[[float, int], object], score: Callable[[], float],
              settings: RangeTestSettings, *, progress: Progress | None = None,
              cancelled: Callable[[], bool] = lambda: False) -> Curve:
    """For each candidate: ``reset()``, train ``probe_steps`` steps scoring half way and at the end.

    ``score()`` before any candidate gives the starting held-out loss. A candidate whose training
    loss turns non-finite scores inf (it diverged).
    """
    steps = settings.probe_steps
    half = max(1, steps // 2)
    if cancelled():  # before the held-out score, which takes minutes on a large network and many batches
        return Curve(np.array([]), np.array([]), np.array([]), "cancelled", None, steps, np.array([]))
    reset()
    start = score()
    lrs, scores, midway = [], [], []
    reason = "completed"
    for lr in probe_lrs(settings):
        reset()
        # NaN weights keep the loss NaN, so the last step's loss tells whether the LR diverged.
        last = first = _train(train_at, float(lr), range(half), cancelled)
        middle = _finite_or_inf(score()) if first is not None and math.isfinite(first) else math.inf
        if math.isfinite(middle):
            last = _train(train_at, float(lr), range(half, steps), cancelled)
        if first is None or last is None:
            reason = "cancelled"
            break
        value = _finite_or_inf(score()) if math.isfinite(last) and math.isfinite(middle) else math.inf
        lrs.append(float(lr)), scores.append(value), midway.append(middle)
        if progress:
            progress(np.array([lr]), np.array([value]), np.array([value]))
    return Curve(np.array(lrs), np.array(scores), np.array(scores), reason, start, steps, np.array(midway))
