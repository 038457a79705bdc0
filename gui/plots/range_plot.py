"""Range test: loss against LR on a log axis, each suggestion marked and named."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ..buffers import CurveBuffer
from .base import PlotPanel, make_curve
from .step_plot import nearest

COLOURS = {"steepest": (214, 39, 40), "valley": (44, 160, 44), "min_loss/10": (148, 103, 189),
           "min_loss": (255, 127, 14), "probe_best": (23, 190, 207), "edge": (140, 86, 75)}


class RangePlot(PlotPanel):
    """Raw and smoothed loss against LR, filled in live; suggestion lines once it ends."""

    def __init__(self, parent=None):
        super().__init__("Range test", "loss", x_label="learning rate", log_x=True, parent=parent)
        self.raw = make_curve(self.plot, (31, 119, 180), alpha=80, name="loss", symbol=None)
        self.smooth = make_curve(self.plot, (31, 119, 180), width=2, name="smoothed")
        self.points = CurveBuffer(3)
        self.markers: list[pg.InfiniteLine] = []
        self.dirty = False

    def clear(self) -> None:
        """Start a new test."""
        self.points.clear()
        for marker in self.markers:
            self.plot.removeItem(marker)
        self.markers = []
        self.dirty = True
        self.refresh()

    def add_points(self, lrs: np.ndarray, losses: np.ndarray, smoothed: np.ndarray) -> None:
        """Append points as they arrive."""
        finite = np.isfinite(losses)
        self.points.extend(np.column_stack([lrs, losses, smoothed])[finite])
        self.dirty = True

    def show_suggestions(self, suggestions) -> None:
        """A vertical line per suggestion, labelled with its method and LR."""
        for marker in self.markers:
            self.plot.removeItem(marker)
        self.markers = []
        for index, suggestion in enumerate(suggestions):
            colour = COLOURS.get(suggestion.method, (0, 0, 0))
            line = pg.InfiniteLine(pos=np.log10(suggestion.lr), angle=90, pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                                   label=f"{suggestion.method} {suggestion.lr:.2g}",
                                   labelOpts={"position": 0.9 - 0.12 * index, "color": colour, "fill": (255, 255, 255, 200)})
            self.plot.addItem(line, ignoreBounds=True)
            self.markers.append(line)

    def show_bound(self, curvature: dict | None) -> None:
        """A line at the LR where the optimizer's stability bound lies (theory), when the test measured λmax."""
        lr = (curvature or {}).get("lr_bound")
        if not lr:
            return
        line = pg.InfiniteLine(pos=np.log10(lr), angle=90, pen=pg.mkPen((214, 39, 40), width=2, style=Qt.PenStyle.DashDotLine),
                               label=f"bound {curvature['formula']} = {lr:.2g} (theory, λmax {curvature['lambda_max']:.3g})",
                               labelOpts={"position": 0.15, "color": (214, 39, 40), "fill": (255, 255, 255, 200)})
        self.plot.addItem(line, ignoreBounds=True)
        self.markers.append(line)

    def refresh(self) -> None:
        """Push new points to the curves."""
        if self.dirty:
            self.dirty = False
            self.raw.setData(self.points.view(0), self.points.view(1))
            self.smooth.setData(self.points.view(0), self.points.view(2))

    def columns(self):
        return {"lr": self.points.view(0), "loss": self.points.view(1), "smoothed": self.points.view(2)}

    def describe_at(self, x):
        index = nearest(self.points.view(0), x)
        if index is None:
            return ""
        lr, loss, smooth = self.points.view()[index]
        return f"LR {lr:.3g}: loss {loss:.4g}, smoothed {smooth:.4g}"
