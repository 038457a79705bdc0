"""The LRs and momentum of upcoming steps, computed a block at a time.

Evaluating the timeline once per step would cost tens of microseconds of numpy
overhead; one vectorized call per 1,024 steps makes it an array lookup.
"""

from __future__ import annotations

import numpy as np

from ..schedules.timeline import Timeline

BLOCK = 1024


class Plan:
    """Per-step group LRs and momentum of a timeline, filled lazily in blocks."""

    def __init__(self, timeline: Timeline, fallback_momentum: float):
        self.timeline = timeline
        self.multipliers = np.array([m for _, m in timeline.multipliers])
        self.fallback_momentum = fallback_momentum
        self._start = -1
        self._lrs = self._momenta = np.empty(0)

    def at(self, step: int) -> tuple[list[float], float]:
        """(LR of each group, momentum) at ``step``."""
        if not self._start <= step < self._start + len(self._lrs):
            grid = np.arange(step, step + BLOCK)
            self._start = step
            self._lrs = self.timeline.lrs(grid)
            momenta = self.timeline.momenta(grid)
            self._momenta = np.where(np.isnan(momenta), self.fallback_momentum, momenta)
        offset = step - self._start
        return (self._lrs[offset] * self.multipliers).tolist(), float(self._momenta[offset])
