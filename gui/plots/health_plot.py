"""The health pane: gradient norm, update-to-weight ratio (with its guide band) and λmax over steps, per group."""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from engine.curvature.settings import RATIO_BAND

from ..buffers import CurveBuffer
from .base import make_curve
from .group_colors import group_color
from .step_plot import StepPlot, finite_bounds, nearest


class GroupPlot(StepPlot):
    """One value per named group against step, one curve per group."""

    def __init__(self, title: str, y_label: str, unit: str, parent=None, symbol: str | None = None):
        super().__init__(title, y_label, log_y=True, parent=parent)
        self.unit, self.symbol = unit, symbol
        self.groups: tuple[str, ...] = ()
        self.curves: list[pg.PlotDataItem] = []
        self.points = CurveBuffer(1)

    def set_groups(self, groups: tuple[str, ...]) -> None:
        """One curve per group (the head, last, drawn widest); forgets the data when the groups change."""
        if groups == self.groups:
            return
        for curve in self.curves:
            self.plot.removeItem(curve)
        self.groups = tuple(groups)
        colours = [group_color(i, name) for i, name in enumerate(groups)]
        self.curves = [make_curve(self.plot, colour, width=2 if i == len(groups) - 1 else 1, symbol=self.symbol)
                       for i, colour in enumerate(colours)]
        if len(groups) > 1:  # one curve is named by the title
            self.set_key_title([self.title, *(f'<span style="color: rgb{colour}">━ {html.escape(name)}</span>'
                                              for name, colour in zip(groups, colours))])
        self.points = CurveBuffer(1 + len(groups))
        self.bump("data")

    def add(self, steps: np.ndarray, values: np.ndarray) -> None:
        """Append rows of per-group values."""
        self.points.extend(np.column_stack([steps, values]))
        self.bump("data")

    def truncate(self, step: int) -> None:
        """Forget rows from ``step`` on."""
        self.points.keep_before(step)
        self.bump("data")
        self.refit()

    def clear(self) -> None:
        """Forget every row."""
        self.truncate(-1)

    def redraw(self) -> None:
        if self.changed("data"):
            x = self.x(self.points.view(0))
            for index, curve in enumerate(self.curves):
                curve.setData(x, self.points.view(1 + index))

    def y_bounds(self):
        return finite_bounds(*(self.points.view(1 + i) for i in range(len(self.groups))), positive=self.log_y.isChecked())

    def last_step(self):
        return self.points.view(0)[-1] if len(self.points) else 0.0

    def columns(self):
        return {"step": self.points.view(0), **{name: self.points.view(1 + i) for i, name in enumerate(self.groups)}}

    def describe_at(self, x):
        index = nearest(self.points.view(0), self.step_at(x))
        if index is None:
            return ""
        row = self.points.view()[index]
        values = ", ".join(f"{name} {value:.3g}" for name, value in zip(self.groups, row[1:]))
        return f"step {int(row[0])}: {values}{self.unit}"


class UpdateRatioPlot(GroupPlot):
    """‖ΔW‖/‖W‖ per group, over the guide band of healthy values around 1e-3."""

    def __init__(self, parent=None):
        super().__init__("Update / weight ratio ‖ΔW‖/‖W‖", "ratio", "", parent=parent)
        low, high = (math.log10(v) for v in RATIO_BAND)
        self.band = pg.LinearRegionItem((low, high), orientation="horizontal", movable=False,
                                        brush=pg.mkBrush(44, 160, 44, 40), pen=pg.mkPen(None))
        self.guide = pg.InfiniteLine(pos=-3, angle=0, pen=pg.mkPen((44, 160, 44), style=Qt.PenStyle.DashLine),
                                     label="1e-3 guide", labelOpts={"position": 0.01, "color": (44, 160, 44), "anchors": [(0, 1), (0, 1)]})
        for item in (self.band, self.guide):
            self.plot.addItem(item, ignoreBounds=True)
        self.log_y.setEnabled(False)  # the band is placed in log units


class HealthPanel(QWidget):
    """Three stacked plots fed by HealthLogged and CurvatureMeasured events."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grad_norm = GroupPlot("Gradient norm", "‖g‖", "")
        self.update_ratio = UpdateRatioPlot()
        # Marked points: measurements are sparse, and a run's one measurement drew nothing as a bare line.
        self.sharpness = GroupPlot("Sharpness λmax (probe batch)", "λmax", "", symbol="o")
        self.sharpness.set_groups(("λmax",))
        self.sharpness.log_y.setChecked(False)  # λmax usually spans less than a decade within a run
        splitter = QSplitter(Qt.Orientation.Vertical)
        for plot in self.plots:
            splitter.addWidget(plot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    @property
    def plots(self) -> tuple[GroupPlot, ...]:
        """The three plots."""
        return (self.grad_norm, self.update_ratio, self.sharpness)

    def add_health(self, event) -> None:
        """A HealthLogged block."""
        for plot, values in ((self.grad_norm, event.grad_norm), (self.update_ratio, event.update_ratio)):
            plot.set_groups(event.groups)
            plot.add(event.steps, values)

    def add_curvature(self, event) -> None:
        """A CurvatureMeasured."""
        self.sharpness.add(np.array([event.step]), np.array([[event.lambda_max]]))
