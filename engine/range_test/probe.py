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


def run_probe(reset: Callable[[], None], train_at: Callable[[float, int], object], score: Callable[[], float],
              settings: RangeTestSettings, *, progress: Progress | None = None,
              cancelled: Callable[[], bool] = lambda: False) -> Curve:
    """For each candidate: ``reset()``, ``train_at(lr, i)`` for i < probe_steps, then ``score()``.

    A candidate whose training loss turns non-finite scores inf (it diverged).
    """
    lrs, scores = [], []
    reason = "completed"
    for lr in probe_lrs(settings):
        if cancelled():
            reason = "cancelled"
            break
        reset()
        for step in range(settings.probe_steps):
            if cancelled():
                break
            loss = train_at(float(lr), step)
        if cancelled():
            reason = "cancelled"
            break
        # NaN weights keep the loss NaN, so the last step's loss tells whether the LR diverged.
        value = score() if math.isfinite(float(loss)) else math.inf
        value = value if math.isfinite(value) else math.inf
        lrs.append(float(lr)), scores.append(value)
        if progress:
            progress(np.array([lr]), np.array([value]), np.array([value]))
    return Curve(np.array(lrs), np.array(scores), np.array(scores), reason)
