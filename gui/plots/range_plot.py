"""Range test: loss against LR on a log axis (one line per repeat), each suggestion marked and named."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ..buffers import CurveBuffer
from .base import PlotPanel, make_curve

COLOURS = {"steepest": (214, 39, 40), "valley": (44, 160, 44), "min_loss/10": (148, 103, 189),
           "min_loss": (255, 127, 14), "probe_best": (23, 190, 207), "edge": (140, 86, 75)}


class RangePlot(PlotPanel):
    """Raw and smoothed loss against LR, filled in live, a line per repeat; suggestion lines once it ends.

    A probe's curve is each candidate's held-out loss after all its steps; "half way" adds the same
    loss after half of them, which shows which candidates were still improving.
    """

    def __init__(self, parent=None):
        super().__init__("Range test", "loss", x_label="learning rate", log_x=True, parent=parent)
        self.raw = make_curve(self.plot, (31, 119, 180), alpha=80, name="loss", symbol=None)
        self.smooth = make_curve(self.plot, (31, 119, 180), width=2, name="smoothed")
        self.half_way = make_curve(self.plot, (127, 127, 127), style=Qt.PenStyle.DotLine, name="half way", symbol="o")
        for curve in (self.raw, self.smooth, self.half_way):
            curve.opts["connect"] = "finite"
        self.points = CurveBuffer(4)
        self.markers: list[pg.InfiniteLine] = []
        self.dirty = False

    def clear(self) -> None:
        """Start a new test."""
        self.points.clear()
        self.half_way.setData([], [])
        for marker in self.markers:
            self.plot.removeItem(marker)
        self.markers = []
        self.dirty = True
        self.refresh()

    def add_points(self, lrs: np.ndarray, losses: np.ndarray, smoothed: np.ndarray, repeat: int = 0) -> None:
        """Append points as they arrive; a new repeat starts a new line."""
        finite = np.isfinite(losses)
        if self.points.size and self.points.view(3)[-1] != repeat:
            self.points.extend(np.array([[np.nan, np.nan, np.nan, repeat]]))
        self.points.extend(np.column_stack([lrs, losses, smoothed, np.full(len(lrs), repeat)])[finite])
        self.dirty = True

    def show_half_way(self, result) -> None:
        """For a probe: each candidate's held-out loss half way through its steps."""
        parts = [p for p in (result.repeats or (result,)) if p.measured.get("midway") is not None]
        lrs = np.concatenate([np.append(p.lrs, np.nan) for p in parts]) if parts else np.array([])
        values = np.concatenate([np.append(np.array(p.measured["midway"], dtype=float), np.nan) for p in parts]) if parts else lrs
        values[~np.isfinite(values)] = np.nan
        self.half_way.setData(lrs, values)

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
        return {"repeat": self.points.view(3), "lr": self.points.view(0), "loss": self.points.view(1), "smoothed": self.points.view(2)}

    def describe_at(self, x):
        rows = self.points.view()[np.isfinite(self.points.view(0))]
        if not len(rows) or not x > 0:
            return ""
        # The repeats overlap in LR, so the nearest point is searched, not bisected.
        lr, loss, smooth, repeat = rows[int(np.argmin(np.abs(np.log(rows[:, 0] / x))))]
        return f"LR {lr:.3g}: loss {loss:.4g}, smoothed {smooth:.4g} (repeat {int(repeat) + 1})"
