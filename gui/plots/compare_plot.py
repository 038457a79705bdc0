"""Several runs overlaid: smoothed loss and LR against step."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget

from ..buffers import TrailingMean
from .base import PlotPanel, make_curve
from .step_plot import EMPTY_LOG_RANGE

COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207), (140, 86, 75))
WINDOW = 20


class OverlayPlot(PlotPanel):
    """One curve per named series."""

    def __init__(self, title: str, y_label: str, log_y: bool = False):
        super().__init__(title, y_label, log_y=log_y)
        self.y_label = y_label
        self.series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.place_legend("bottom left")  # losses and LRs start high on the left: that corner stays empty
        self._frame()

    def show_series(self, series: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Replace the curves."""
        self.plot.clear()
        self.plot.addItem(self.cursor, ignoreBounds=True)
        for (name, (x, y)), colour in zip(series.items(), COLOURS * 3):
            make_curve(self.plot, colour, width=2, name=name).setData(x, y)
        self.series = series
        self._frame()

    def _frame(self) -> None:
        """Fit the curves; with none, an empty frame whose log axis labels decades (not a bare 2…9)."""
        if self.series:
            self.plot.enableAutoRange()
        else:
            self.plot.getViewBox().setRange(xRange=(0.0, 1.0), yRange=EMPTY_LOG_RANGE if self.log_y.isChecked() else (0.0, 1.0),
                                            padding=0)

    def columns(self):
        return {f"{name} {label}": values for name, (x, y) in self.series.items() for label, values in (("step", x), (self.y_label, y))}


class ComparePanel(QSplitter):
    """Loss (top) and LR (bottom) of each run, one colour per run."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self.loss = OverlayPlot(f"Loss (mean of the last {WINDOW} steps)", "loss")
        self.lr = OverlayPlot("Learning rate (head)", "LR", log_y=True)
        self.addWidget(self.loss)
        self.addWidget(self.lr)

    def show_runs(self, runs: list[tuple[str, dict]]) -> None:
        """(name, per-step arrays from the run store) for each run."""
        losses, lrs = {}, {}
        for name, steps in runs:
            means = TrailingMean()
            means.extend(steps["loss"])
            losses[name] = (steps["step"], means.means(WINDOW))
            lrs[name] = (steps["step"], steps["lrs"][:, -1])
        self.loss.show_series(losses)
        self.lr.show_series(lrs)
