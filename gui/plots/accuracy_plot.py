"""Validation accuracy per epoch."""

from __future__ import annotations

import numpy as np

from ..buffers import CurveBuffer
from .base import make_curve
from .step_plot import StepPlot, finite_bounds, nearest


class AccuracyPlot(StepPlot):
    """Validation accuracy (%) at the end of each epoch."""

    def __init__(self, parent=None):
        # The axis says the unit alone: the title names it, and at 1024 x 600 "accuracy (%)" was cut to "accuracy (9".
        super().__init__("Validation accuracy", "%", parent=parent)
        self.curve = make_curve(self.plot, (44, 160, 44), width=2, symbol="o")
        self.points = CurveBuffer(3)

    def add_epoch(self, step: int, epoch: int, accuracy: float) -> None:
        """Append one epoch's accuracy (0-1)."""
        self.points.extend(np.array([[step, epoch, 100 * accuracy]]))
        self.bump("epochs")

    def truncate(self, step: int) -> None:
        """Forget epochs that ended after ``step``."""
        self.points.keep_before(step + 1)
        self.bump("epochs")
        self.refit()

    def clear(self) -> None:
        """Forget every point."""
        self.truncate(-1)

    def redraw(self) -> None:
        if self.changed("epochs"):
            self.curve.setData(self.x(self.points.view(0)), self.points.view(2))

    def y_bounds(self):
        return finite_bounds(self.points.view(2), positive=self.log_y.isChecked())

    def last_step(self):
        return self.points.view(0)[-1] if len(self.points) else 0.0

    def columns(self):
        return {"step": self.points.view(0), "epoch": self.points.view(1), "val_accuracy_percent": self.points.view(2)}

    def describe_at(self, x):
        index = nearest(self.points.view(0), self.step_at(x))
        if index is None:
            return ""
        step, epoch, accuracy = self.points.view()[index]
        return f"epoch {int(epoch) + 1} (step {int(step)}): {accuracy:.2f}%"
