"""Range test: loss against LR on a log axis (one line per repeat), each suggestion marked and named."""

from __future__ import annotations

import textwrap

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Slot
from PySide6.QtGui import QFontMetricsF

from engine.range_test.curve_csv import Part, write_curve_csv, write_result_csv
from engine.range_test.settings import RangeTestSettings

from ..buffers import CurveBuffer
from .base import PlotPanel, make_curve
from .stability_overlay import BOUND_RED

LABEL_WIDTH = 24  # characters on a line of a marker's label, at most
NARROWEST_LABEL = 8  # and at least: narrower, a label is a column of single words
LABEL_PADDING = 12  # px around a label's text (its box's margins), and clear of the view's edge
EMPTY_LR_RANGE = (-7.3, 1.3)  # log10: 1e-7 to 10 with room for the end labels
# Suggestion lines over the curves (as when they were added after them); their labels over every line.
MARKER_Z = 10
# Red is the stability bound's, here and on the LR plot: "steepest" beside it in the same red read as one line.
COLOURS = {"steepest": (227, 119, 194), "valley": (44, 160, 44), "min_loss/10": (148, 103, 189),
           "min_loss": (255, 127, 14), "probe_best": (23, 190, 207), "edge": (140, 86, 75)}


def useful_loss_range(losses: np.ndarray, smoothed: np.ndarray) -> tuple[float, float] | None:
    """The loss range worth looking at: from the lowest loss to a little above the highest smoothed loss before
    the minimum, or the curve's typical (median) level when that is higher. The divergence tail (losses tens of times
    higher) is left above the frame.

    The median too: from trained weights the minimum may come first, and the frame showed a sliver under a flat
    curve that stayed out of sight (a mid-run test)."""
    finite = np.isfinite(smoothed) & np.isfinite(losses)
    if finite.sum() < 2:
        return None
    losses, smoothed = losses[finite], smoothed[finite]
    best = int(np.argmin(smoothed))
    # The rise after the minimum, up to where a sweep stops by default: from trained weights (a test mid-run) the curve
    # is flat and noisy until it rises, and a frame of its noise alone left the rise, what the test is read by, above it.
    rise = min(float(np.max(smoothed[best:])), RangeTestSettings.diverge_factor * float(smoothed[best]))
    low, top = float(smoothed[best]), max(float(np.max(smoothed[: best + 1])), float(np.median(smoothed)), rise)
    span = max(top - low, 1e-3 * max(abs(top), 1.0))
    high = top + 0.3 * span
    shown = losses[losses <= high]
    low = min(low, float(shown.min())) if len(shown) else low
    return low - 0.05 * span, high


def wrapped_to(text: str, room: float, metrics: QFontMetricsF) -> str:
    """``text`` on lines of as many characters (up to LABEL_WIDTH) as fit ``room`` px; words are never split (the
    narrowest it takes is NARROWEST_LABEL characters)."""
    for width in range(LABEL_WIDTH, NARROWEST_LABEL - 1, -1):
        lines = textwrap.wrap(text, width, break_long_words=False)
        if max(metrics.horizontalAdvance(line) for line in lines) <= room:
            break
    return "\n".join(lines)


class RangePlot(PlotPanel):
    """Raw and smoothed loss against LR, filled in live, a line per repeat; suggestion lines once it ends.

    A probe's curve is each candidate's held-out loss after all its steps; "half way" adds the same
    loss after half of them, which shows which candidates were still improving.
    """

    def __init__(self, parent=None):
        super().__init__("Range test", "loss", x_label="learning rate", log_x=True, parent=parent)
        self.raw = make_curve(self.plot, (31, 119, 180), alpha=80, name="loss", symbol=None)
        self.smooth = make_curve(self.plot, (31, 119, 180), width=2, name="smoothed")
        # In the legend only when a probe drew it: a sweep has no half way.
        self.half_way = make_curve(self.plot, (127, 127, 127), style=Qt.PenStyle.DotLine, symbol="o")
        for curve in (self.raw, self.smooth, self.half_way):
            curve.opts["connect"] = "finite"
        self.points = CurveBuffer(4)
        self.mode = "sweep"
        self.result = None  # the finished test's, whose curve the CSV holds
        self.received: dict[int, list[np.ndarray]] = {}  # each repeat's points as they came, a diverged loss's too
        # Each marker is drawn twice: the dashed line, and above every line an invisible one that carries its label, so
        # that no label is crossed by its neighbours' lines (suggestions sit a factor of 2 apart: the lines cut the text).
        self.markers: list[pg.InfiniteLine] = []  # the label carriers
        self.marker_lines: list[pg.InfiniteLine] = []
        self.marker_texts: list[str] = []  # each label's text on one line, wrapped to the room the view leaves it
        view = self.plot.getViewBox()
        view.sigResized.connect(self._fit_labels)
        view.sigXRangeChanged.connect(self._fit_labels)
        self.span = EMPTY_LR_RANGE  # log10 LRs the test tries, framed from its start
        self.dirty = True  # the first refresh frames the empty plot
        self.key_from_legend()  # "half way" only for a probe

    def clear(self) -> None:
        """Start a new test."""
        self.points.clear()
        self.result, self.received = None, {}
        self.half_way.setData([], [])
        self.show_in_legend(self.half_way, "half way", False)
        self._remove_markers()
        self.dirty = True
        self.refresh()

    def set_mode(self, mode: str) -> None:
        """Name what the test measures: a probe's points are each candidate's loss on held-out batches after its steps,
        which read as the run's training loss (0.25 beside a train loss of 0.024, unexplained)."""
        self.mode = mode
        self.plot.setLabel("left", "held-out loss after each candidate's steps" if mode == "probe" else "loss")

    def expect(self, start_lr: float | None, end_lr: float | None) -> None:
        """The LRs the test will try: framed from its start, so the curve fills the frame left to right
        (fitted to the first few points, the axis would show a single label)."""
        if start_lr and end_lr and 0 < start_lr < end_lr:
            low, high = np.log10(start_lr), np.log10(end_lr)
            room = 0.04 * (high - low)
            self.span = (float(low - room), float(high + room))
            self.dirty = True

    def add_points(self, lrs: np.ndarray, losses: np.ndarray, smoothed: np.ndarray, repeat: int = 0) -> None:
        """Append points as they arrive; a new repeat starts a new line."""
        finite = np.isfinite(losses)
        self.received.setdefault(repeat, []).append(np.column_stack([lrs, losses, smoothed]))
        if self.points.size and self.points.view(3)[-1] != repeat:
            self.points.extend(np.array([[np.nan, np.nan, np.nan, repeat]]))
        self.points.extend(np.column_stack([lrs, losses, smoothed, np.full(len(lrs), repeat)])[finite])
        self.dirty = True

    def show_result(self, result) -> None:
        """The finished test: its fit, suggestions, stability bound and a probe's half way; its curve is what CSV saves."""
        self.result = result
        self.show_fit(result)
        self.show_suggestions(result.suggestions)
        self.show_bound(result)
        self.show_half_way(result)

    def show_fit(self, result) -> None:
        """Once a sweep ends, its smoothed line is the fit its suggestions were read from, not the moving average drawn
        live (that lags: its low sat far right of the marked minimum, and well above the loss: helper-74)."""
        if result.mode != "sweep":
            return
        self.points.clear()
        self.received = {}
        for repeat, part in enumerate(result.repeats or (result,)):
            self.add_points(part.lrs, part.losses, part.smoothed, repeat)

    def show_half_way(self, result) -> None:
        """For a probe: each candidate's held-out loss half way through its steps."""
        parts = [p for p in (result.repeats or (result,)) if p.measured.get("midway") is not None]
        lrs = np.concatenate([np.append(p.lrs, np.nan) for p in parts]) if parts else np.array([])
        values = np.concatenate([np.append(np.array(p.measured["midway"], dtype=float), np.nan) for p in parts]) if parts else lrs
        values[~np.isfinite(values)] = np.nan
        # A probe cancelled before any candidate's half way has none: all-NaN points made pyqtgraph's bounds raise.
        shown = bool(np.isfinite(values).any())
        self.half_way.setData(lrs if shown else [], values if shown else [])
        self.show_in_legend(self.half_way, "half way", shown)

    def show_suggestions(self, suggestions) -> None:
        """A vertical line per suggestion, labelled with its method and LR."""
        self._remove_markers()
        for suggestion in suggestions:
            colour = COLOURS.get(suggestion.method, (0, 0, 0))
            self._mark(suggestion.lr, f"{suggestion.method} {suggestion.lr:.2g}", colour, Qt.PenStyle.DashLine)
        self._fit_labels()

    def _mark(self, lr: float, text: str, colour, style: Qt.PenStyle, z: int = MARKER_Z) -> None:
        """A vertical line at ``lr``, its label in the next free slot down from the top (clear of the legend at the bottom)."""
        line = pg.InfiniteLine(pos=np.log10(lr), angle=90, pen=pg.mkPen(colour, width=2, style=style))
        line.setZValue(z)
        # Wrapped: the bound's label, one line, ran off the plot's left edge at 1366×768.
        carrier = pg.InfiniteLine(pos=np.log10(lr), angle=90, pen=pg.mkPen(None), label=textwrap.fill(text, LABEL_WIDTH, break_long_words=False),
                                  labelOpts={"position": 0.9 - 0.12 * len(self.markers), "color": colour, "fill": (255, 255, 255, 220)})
        carrier.setZValue(MARKER_Z + 1)
        for item in (line, carrier):
            self.plot.addItem(item, ignoreBounds=True)
        self.marker_lines.append(line)
        self.markers.append(carrier)
        self.marker_texts.append(text)

    @Slot()
    def _fit_labels(self) -> None:
        """Each marker's label wrapped to the room beside its line, on the side pyqtgraph puts it (the view's wider one):
        in the 170 px that the Range test tab left its view at 1024 x 600, the bound's label ran off the left edge."""
        view = self.plot.getViewBox()
        frame = view.sceneBoundingRect()
        for carrier, text in zip(self.markers, self.marker_texts):
            x = view.mapViewToScene(QPointF(carrier.value(), 0)).x()
            room = max(x - frame.left(), frame.right() - x) - LABEL_PADDING
            wrapped = wrapped_to(text, room, QFontMetricsF(carrier.label.textItem.font()))
            if wrapped != carrier.label.toPlainText():
                carrier.label.setText(wrapped)

    def _remove_markers(self) -> None:
        for item in (*self.marker_lines, *self.markers):
            self.plot.removeItem(item)
        self.markers, self.marker_lines, self.marker_texts = [], [], []

    def show_bound(self, result) -> None:
        """A line at the swept LR where the optimizer's stability bound lies (theory), when the test measured λmax."""
        if text := result.bound_text():
            # Under the suggestions' lines: a "steepest" 4% from the bound vanished under its red; the dash-dot's gaps
            # let both show.
            self._mark(result.curvature["lr_bound"], text, BOUND_RED, Qt.PenStyle.DashDotLine, z=MARKER_Z - 1)
            self._fit_labels()

    def refresh(self) -> None:
        """Push new points to the curves."""
        if self.dirty:
            self.dirty = False
            self.raw.setData(self.points.view(0), self.points.view(1))
            self.smooth.setData(self.points.view(0), self.points.view(2))
            if self.follow.isChecked():
                self._frame()

    def _follow_changed(self, on: bool) -> None:
        if on:
            self._frame()

    def _frame(self) -> None:
        """All the LRs tried; the losses up to where they diverge."""
        view = self.plot.getViewBox()
        if not len(self.points):  # nothing yet: the span to be tried (or the default sweep's), its decades labelled
            view.setRange(xRange=self.span, yRange=(0.0, 1.0), padding=0)
            return
        lrs = self.points.view(0)[np.isfinite(self.points.view(0))]
        view.setXRange(min(self.span[0], np.log10(lrs.min())), max(self.span[1], np.log10(lrs.max())), padding=0)
        y_range = useful_loss_range(self.points.view(1), self.points.view(2))
        if y_range is not None:
            view.setYRange(*y_range, padding=0)
        else:
            view.enableAutoRange(y=True)

    def export_csv(self, path):
        """Save the curve in `range-test --csv`'s columns: the finished test's, or the points drawn so far, whose groups'
        LRs (and a probe's steps and half way) are known once it ends."""
        if self.result is not None:
            return write_result_csv(path, self.result)
        return write_curve_csv(path, {}, self.mode, self._parts_so_far())

    def _parts_so_far(self) -> list[Part]:
        """The points received so far, a part per repeat; a sweep's step is its place in the repeat (a probe's, how many
        steps each candidate trains, comes with the result, and so does its half way)."""
        parts = []
        for blocks in self.received.values():
            lrs, losses, smoothed = np.concatenate(blocks).T
            probe = self.mode == "probe"
            parts.append(([None] * len(lrs) if probe else None, lrs, losses, np.full(len(lrs), np.nan) if probe else smoothed))
        return parts

    def describe_at(self, x):
        rows = self.points.view()[np.isfinite(self.points.view(0))]
        if not len(rows) or not x > 0:
            return ""
        # The repeats overlap in LR, so the nearest point is searched, not bisected.
        lr, loss, smooth, repeat = rows[int(np.argmin(np.abs(np.log(rows[:, 0] / x))))]
        return f"LR {lr:.3g}: loss {loss:.4g}, smoothed {smooth:.4g} (repeat {int(repeat) + 1})"
