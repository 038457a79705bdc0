"""Training loss per step (raw, faint, under a trailing mean) and validation loss per epoch."""

from __future__ import annotations

import numpy as np

from ..buffers import CurveBuffer, TrailingMean
from .base import make_curve
from .step_plot import StepPlot, nearest

BLUE, RED = (31, 119, 180), (214, 39, 40)


class LossPlot(StepPlot):
    """Loss against step; the smoothing window is in steps, so it does not change as the run grows."""

    def __init__(self, parent=None):
        super().__init__("Loss", "loss", parent=parent)
        self.raw = make_curve(self.plot, BLUE, alpha=70, name="train (raw)")
        self.smooth = make_curve(self.plot, BLUE, width=2, name="train (smoothed)")
        self.val = make_curve(self.plot, RED, width=2, symbol="o", name="validation")
        self.points = CurveBuffer(2)
        self.means = TrailingMean()
        self.validation = CurveBuffer(2)
        self.window = 20

    def add_steps(self, steps: np.ndarray, losses: np.ndarray) -> None:
        """Append training losses."""
        self.points.extend(np.column_stack([steps, losses]))
        self.means.extend(losses)
        self.dirty = True

    def add_epoch(self, step: int, val_loss: float) -> None:
        """Append a validation loss at the step its epoch ended."""
        self.validation.extend(np.array([[step, val_loss]]))
        self.dirty = True

    def set_window(self, steps: int) -> None:
        """Smooth over the last ``steps`` steps."""
        self.window = max(1, steps)
        self.dirty = True
        self.refresh()

    def truncate(self, step: int) -> None:
        """Forget everything from ``step`` on (after a rollback)."""
        self.points.keep_before(step)
        self.means.truncate(len(self.points))
        self.validation.keep_before(step + 1)
        self.dirty = True

    def clear(self) -> None:
        """Forget every point."""
        self.truncate(-1)

    def redraw(self) -> None:
        steps = self.x(self.points.view(0))
        self.raw.setData(steps, self.points.view(1))
        self.smooth.setData(steps, self.means.means(self.window))
        self.val.setData(self.x(self.validation.view(0)), self.validation.view(1))

    def columns(self):
        return {"step": self.points.view(0), "loss": self.points.view(1), "smoothed": self.means.means(self.window),
                "val_step": self.validation.view(0), "val_loss": self.validation.view(1)}

    def describe_at(self, x):
        index = nearest(self.points.view(0), self.step_at(x))
        if index is None:
            return ""
        step, loss = self.points.view()[index]
        return f"step {int(step)}: loss {loss:.4g}, smoothed {self.means.means(self.window)[index]:.4g}"
