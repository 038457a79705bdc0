"""Plots whose x axis is the training step, shown in steps or epochs."""

from __future__ import annotations

import numpy as np

from .base import PlotPanel


class StepPlot(PlotPanel):
    """A PlotPanel whose data is indexed by step and drawn against steps or epochs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps_per_epoch = 0
        self.dirty = False

    def set_epochs(self, steps_per_epoch: int) -> None:
        """Draw x in epochs (``steps_per_epoch`` > 0) or in steps (0)."""
        self.steps_per_epoch = steps_per_epoch
        self.plot.setLabel("bottom", "epoch" if steps_per_epoch else "step")
        self.dirty = True
        self.refresh()

    def x(self, steps: np.ndarray) -> np.ndarray:
        """Steps in the unit shown."""
        return steps / self.steps_per_epoch if self.steps_per_epoch else steps

    def step_at(self, x: float) -> float:
        """The step under plot coordinate ``x``."""
        return x * self.steps_per_epoch if self.steps_per_epoch else x

    def refresh(self) -> None:
        """Push changed data to the curves (called once per bridge tick)."""
        if self.dirty:
            self.dirty = False
            self.redraw()

    def redraw(self) -> None:
        """setData on every curve."""


def nearest(values: np.ndarray, target: float) -> int | None:
    """Index of the sorted ``values`` nearest to ``target`` (None when empty)."""
    if len(values) == 0:
        return None
    index = int(np.clip(np.searchsorted(values, target), 1, len(values) - 1)) if len(values) > 1 else 0
    if index and abs(values[index - 1] - target) < abs(values[index] - target):
        index -= 1
    return index
