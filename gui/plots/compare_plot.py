"""Several runs overlaid: smoothed loss and LR against step."""

from __future__ import annotations

import re

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

    def __init__(self, title: str, y_label: str, log_y: bool = False, hint: str = ""):
        super().__init__(title, y_label, log_y=log_y)
        self.y_label = y_label
        self.series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.hint = hint  # while no run is compared: the empty frames did not say how to fill them
        self.show_series({})

    def show_series(self, series: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Replace the curves; the title names each run in its colour."""
        self.plot.clear()
        self.plot.addItem(self.cursor, ignoreBounds=True)
        key = [f'<span style="color: gray">{self.hint}</span>'] if self.hint and not series else []
        for (name, (x, y)), colour in zip(series.items(), COLOURS * 3):
            # A run of one stored step is a point: a line through one point drew nothing at all.
            make_curve(self.plot, colour, width=2, symbol="o" if len(x) == 1 else None).setData(x, y)
            key.append(f'<span style="color: rgb{colour}">━ {short_name(name)}</span>')
        self.set_key_title([self.title, *key])
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


def short_name(run_id: str) -> str:
    """A run's id without its date (runs compared side by side are told apart by time and dataset)."""
    return re.sub(r"^\d{8}-", "", run_id)


class ComparePanel(QSplitter):
    """Loss (top) and LR (bottom) of each run, one colour per run."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self.loss = OverlayPlot(f"Loss ({WINDOW}-step mean)", "loss", hint="select two or more runs above, then Compare")
        self.lr = OverlayPlot("Learning rate", "LR", log_y=True)
        self.addWidget(self.loss)
        self.addWidget(self.lr)

    def show_runs(self, runs: list[tuple[str, dict]]) -> None:
        """(name, per-step arrays from the run store) for each run."""
        losses, lrs, alike = {}, {}, True
        for name, steps in runs:
            means = TrailingMean()
            means.extend(steps["loss"])
            losses[name] = (steps["step"], means.means(WINDOW))
            lrs[name] = (steps["step"], steps["lrs"][:, -1])
            alike = alike and bool(np.all(steps["lrs"] == steps["lrs"][:, -1:]))
        # The head's LR is the run's when its groups trained alike: "(head)" there read as a part of the model only.
        self.lr.title = "Learning rate" if alike else "Learning rate (head)"
        self.loss.show_series(losses)
        self.lr.show_series(lrs)
