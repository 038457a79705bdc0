"""The stability bound on the LR plot: its own curve (per group where the groups' LRs differ), the applied
LR shaded where it is above it, and LR·λmax in the crosshair readout."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ..buffers import CurveBuffer
from .base import make_curve

BOUND_RED = (214, 39, 40)  # the stability bound's colour on every plot
FILL_POINTS = 4000


class StabilityOverlay:
    """Curvature measurements drawn over an LrPlot; the bound holds from each measurement to the next."""

    def __init__(self, lr_plot):
        self.lr_plot = lr_plot
        plot = lr_plot.plot
        self.bound = make_curve(plot, BOUND_RED, width=2, style=Qt.PenStyle.DashDotLine)  # in the legend once measured
        self.bound_first = make_curve(plot, BOUND_RED, alpha=110, style=Qt.PenStyle.DashDotLine)
        # Invisible edges of the shaded area: the bound and max(LR, bound), on (a sample of) the applied steps.
        # Not clipped to the view: a fill is only redrawn when its curves' data change, not when the view moves.
        self.low, self.high = (pg.PlotDataItem(pen=pg.mkPen(0, 0, 0, 0)) for _ in range(2))
        for edge in (self.low, self.high):
            plot.addItem(edge)
        self.fill = pg.FillBetweenItem(self.low, self.high, brush=pg.mkBrush(*BOUND_RED, 90))
        plot.addItem(self.fill)
        # step, λmax, constant, bound of the first group, bound of the last group
        self.measurements = CurveBuffer(5)

    def add(self, event) -> None:
        """A new measurement (a CurvatureMeasured)."""
        self.measurements.extend(np.array([[event.step, event.lambda_max, event.constant, event.bounds[0], event.bounds[-1]]]))
        self.lr_plot.bump("stability")

    def truncate(self, step: int) -> None:
        """Forget measurements from ``step`` on."""
        self.measurements.keep_before(step)
        self.lr_plot.bump("stability")

    def _at(self, steps: np.ndarray, column: int) -> np.ndarray:
        """The latest measurement's ``column`` at each step (NaN before the first)."""
        index = np.searchsorted(self.measurements.view(0), steps, side="right") - 1
        values = self.measurements.view(column)
        return np.where(index >= 0, values[np.clip(index, 0, None)], np.nan) if len(values) else np.full(len(steps), np.nan)

    def redraw(self, changed_steps: bool) -> None:
        """setData on the bound curves when the steps or the measurements changed."""
        if not (self.lr_plot.changed("stability") or changed_steps):
            return
        points = self.lr_plot.points
        head_column = points.view().shape[1] - 1  # the groups' columns run input to output; the head is last
        steps = points.view(0)
        if len(steps) and len(self.measurements):
            steps = np.append(steps, max(steps[-1] + 1, self.measurements.view(0)[-1]))
        head, first = self._at(steps, 4), self._at(steps, 3)
        x = self.lr_plot.x(steps)
        known = np.isfinite(head)
        self.bound.setData(x[known], head[known])
        self.lr_plot.show_in_legend(self.bound, "stability bound (theory)", bool(known.any()))
        groups_differ = head_column > 1 and not np.array_equal(points.view(1), points.view(head_column))
        differ = groups_differ and np.isfinite(first).any()
        self.bound_first.setData(x[known] if differ else [], first[known] if differ else [])
        lr = np.append(points.view(head_column), points.view(head_column)[-1:])[: len(steps)]
        shown = np.flatnonzero(known)
        shown = shown[np.unique(np.linspace(0, len(shown) - 1, min(len(shown), FILL_POINTS)).astype(int))] if len(shown) else shown
        self.low.setData(x[shown], head[shown])
        self.high.setData(x[shown], np.maximum(lr[shown], head[shown]))
        # Emptied edges leave a FillBetweenItem's old area drawn (pyqtgraph 0.14): a new run showed the last one's.
        self.fill.setVisible(len(shown) > 0)

    def y_values(self) -> np.ndarray:
        """The bounds, for fitting the y axis."""
        return self.measurements.view(4)

    def describe(self, step: float, lr: float) -> str:
        """LR·λmax at ``step`` against the optimizer's constant, or "" before the first measurement."""
        index = int(np.searchsorted(self.measurements.view(0), step, side="right") - 1)
        if index < 0:
            return ""
        _, lam, constant, _, bound = self.measurements.view()[index]
        return f" · LR·λmax {lr * lam:.3g} (stable below {constant:.3g} in theory; bound {bound:.3g})"
