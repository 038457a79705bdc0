"""The LRs, freeze states and momentum of upcoming steps, computed a block at a time.

Evaluating the timeline once per step would cost tens of microseconds of numpy
overhead; one vectorized call per 1,024 steps makes it an array lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..schedules.timeline import Timeline

BLOCK = 1024


@dataclass(frozen=True)
class StepSettings:
    """What one step trains with: each group's LR and whether it is frozen (by group name), and the momentum."""

    lrs: dict[str, float]
    frozen: dict[str, bool]
    momentum: float


class Plan:
    """Per-step settings of a timeline for the parameter groups ``names``, filled lazily in blocks.

    Raises GroupMismatch (a ValueError) when the timeline does not fit the names.
    """

    def __init__(self, timeline: Timeline, names: tuple[str, ...], fallback_momentum: float):
        timeline.check_groups(names)
        self.timeline, self.names = timeline, names
        self.fallback_momentum = fallback_momentum
        self._start = -1
        self._lrs = self._frozen = self._momenta = np.empty((0, len(names)))

    def at(self, step: int) -> StepSettings:
        """The settings of ``step``."""
        if not self._start <= step < self._start + len(self._lrs):
            self._fill(step)
        offset = step - self._start
        return StepSettings(dict(zip(self.names, self._lrs[offset].tolist())),
                            dict(zip(self.names, self._frozen[offset].tolist())), float(self._momenta[offset]))

    def _fill(self, step: int) -> None:
        grid = np.arange(step, step + BLOCK)
        self._start = step
        self._frozen = self.timeline.group_settings(grid, self.names)[1]
        self._lrs = self.timeline.group_lrs(grid, self.names)
        momenta = self.timeline.momenta(grid)
        self._momenta = np.where(np.isnan(momenta), self.fallback_momentum, momenta)
