"""Tune: each trial's validation accuracy against its peak LR, filled in as trials end; pruned ones marked."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from engine.tune.record import TrialRecord, state_words

from .base import PlotPanel

# state -> (symbol, colour)
MARKS = {
    "complete": ("o", (31, 119, 180)),
    "pruned": ("x", (127, 127, 127)),
    "diverged": ("t", (214, 39, 40)),
    "cancelled": ("s", (188, 189, 34)),
}
EMPTY_LR_DECADES = (-4, 1)
# The key, in the title (set_key_title), names every mark the plot draws, the dashed line too: a label on the line
# overlapped the trials near it.
# A trial stopped early scored mid-run, with its LR still high: beside finished ones it read as the range test's pick
# failing (helper-67: 32% beside a 94% winner), so the key says when it was scored. (A non-breaking hyphen: the line
# broke the entry at "mid-" although the whole entry fitted on the next.)
KEY = ("<span style='color:#1f77b4'>● complete</span>", "<span style='color:#7f7f7f'>× stopped early (scored mid&#8209;run)</span>",
       "<span style='color:#d62728'>▼ diverged</span>", "<span style='color:#9a9b1a'>■ cancelled</span>",
       "<span style='color:#b8860b'>★ winner</span>", "<span style='color:#505050'>┆ yours (first trial)</span>",
       "<span style='color:#2ca02c'>▮ searched</span>", "<span style='color:#d62728'>┄ chance</span>")


class TunePlot(PlotPanel):
    """Accuracy (%) against peak LR on a log axis: one marker per trial, the searched interval shaded,
    the current schedule's LR dashed and the winner starred."""

    def __init__(self, parent=None):
        super().__init__("Tune", "validation accuracy (%)", x_label="peak learning rate", log_x=True, parent=parent)
        self.scatters = {}
        # Markers without lines, as plot items (unlike bare scatter items, they follow the log x axis).
        for state, (symbol, colour) in MARKS.items():
            self.scatters[state] = self.plot.plot([], [], pen=None, symbol=symbol, symbolSize=10, symbolBrush=colour, symbolPen=colour)
        self.winner = self.plot.plot([], [], pen=None, symbol="star", symbolSize=22, symbolBrush=(255, 190, 0), symbolPen=(120, 90, 0))
        self.set_key_title(["Tune:", *KEY])
        # Accuracy is 0 … 100 %: auto-ranged about a single trial at 94.7% the axis ran from 45 to 145.
        self.plot.getViewBox().setLimits(yMin=-2, yMax=102)
        self.region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(44, 160, 44, 30), pen=pg.mkPen(None))
        self.baseline = pg.InfiniteLine(angle=90, pen=pg.mkPen((80, 80, 80), style=Qt.PenStyle.DashLine))
        # Always answering the most common class: on unlearnable labels the trials sat at 10-12% with nothing to say so.
        self.chance = pg.InfiniteLine(angle=0, pen=pg.mkPen((214, 39, 40), style=Qt.PenStyle.DotLine))
        self.trials: list[tuple[int, float, float, str]] = []  # number, peak LR, accuracy (%), state
        self._redraw()

    def clear(self) -> None:
        """Start a new tune."""
        self.trials = []
        for item in (self.region, self.baseline, self.chance):
            self.plot.removeItem(item)
        self._redraw()

    def show_baseline(self, lr: float) -> None:
        """The peak LR of the schedule as it is (the first trial)."""
        self.baseline.setPos(np.log10(lr))
        self._show(self.baseline, ignoreBounds=True)

    def show_interval(self, low: float, high: float) -> None:
        """Shade the peak LRs the search samples from."""
        self.region.setRegion((np.log10(low), np.log10(high)))
        self._show(self.region)  # counted in the axes' range, so the whole interval shows

    def add_trial(self, number: int, lr: float, accuracy: float, state: str) -> None:
        """A finished trial (one cancelled before its first evaluation has no accuracy, so no marker)."""
        self.trials.append((number, lr, 100 * accuracy, state))
        self._redraw()

    def show_trials(self, trials: list[TrialRecord]) -> None:
        """The trials of the tune's record in place of those added as they ended: one cut short and run again is no trial
        of the tune, and its marker (18% at your schedule's LR, after one epoch) read as your schedule's result."""
        self.trials = [(t.number, t.params["lr"], 100 * t.val_accuracy, t.state) for t in trials]
        self._redraw()

    def show_chance(self, accuracy: float) -> None:
        """The accuracy of always answering the most common class, which a trial must clear to count."""
        self.chance.setPos(100 * accuracy)
        self._show(self.chance)  # in the axes' range: trials at 11% read as a trend without the 10% beside them

    def _show(self, item, **options) -> None:
        """Add ``item`` unless it is there: a tune that goes on keeps the plot of its first part."""
        if item not in self.plot.items:
            self.plot.addItem(item, **options)

    def show_winner(self, lr: float, accuracy: float) -> None:
        """Star the winning trial."""
        self.winner.setData([lr], [100 * accuracy])

    def _redraw(self) -> None:
        for state, scatter in self.scatters.items():
            points = [(lr, accuracy) for _, lr, accuracy, s in self.trials if s == state and np.isfinite(accuracy)]
            scatter.setData([p[0] for p in points], [p[1] for p in points])
        if not self.trials:
            self.winner.setData([], [])
            # Axes a tune could fill (peak LRs 1e-4 … 10, 0 … 100 %) rather than pyqtgraph's empty 1 … 10 and 0 … 1;
            # the range still follows the interval and the trials once they come.
            self.plot.getViewBox().setRange(xRange=EMPTY_LR_DECADES, yRange=(0, 100), padding=0, disableAutoRange=False)

    def refresh(self) -> None:
        """Points are set as trials end; nothing is pending."""

    def columns(self):
        return {"trial": np.array([t[0] for t in self.trials], dtype=float), "lr": np.array([t[1] for t in self.trials]),
                "accuracy": np.array([t[2] for t in self.trials])}

    def describe_at(self, x):
        if not self.trials or not x > 0:
            return ""
        index = int(np.argmin([abs(np.log(t[1] / x)) for t in self.trials]))
        number, lr, accuracy, state = self.trials[index]
        scored = f"{accuracy:.2f}%" if np.isfinite(accuracy) else "no accuracy"
        scored += " when stopped, mid-run" if state == "pruned" and np.isfinite(accuracy) else ""
        return f"trial {number}: peak LR {lr:.3g}, {scored} ({state_words(state)})"
