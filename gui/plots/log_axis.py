"""Axes that stay readable: log ranges padded so data never lie on the frame, minor labels thinned, and an axis of
steps ticked at whole steps only.

pyqtgraph labels every minor tick (2…9 × 10ⁿ) of a log axis spanning less than a few decades, and
the labels pile up; with nothing to draw it shows a decade-less 1…10 range labelled 2…9 (issue 12).
A run of 6 steps had its step axis ticked at 0.5, 1.5, …: steps that do not exist.
"""

from __future__ import annotations

import math

import pyqtgraph as pg

# Minor multiples in the order they earn a label when there is room: 5 halves a decade, 2 and 3 fill it.
PREFERRED_MINORS = (5, 2, 3, 7, 4, 6, 8, 9)
MIN_LABEL_GAP_PX = 22  # on a vertical axis labels stack: a line of text apart
MIN_LABEL_WIDTH_PX = 52  # on a horizontal one they sit side by side: "5·10⁻⁷" apart, with a space


def padded_log_range(low: float, high: float) -> tuple[float, float]:
    """A log10 range around positive ``low``..``high``: the data inside, not on the frame, and decades at both
    ends with a little room beyond them, so that their labels are drawn whole."""
    low, high = math.log10(low), math.log10(high)
    pad = max(0.1, 0.05 * (high - low))
    first, last = math.floor(low - pad), math.ceil(high + pad)
    room = 0.04 * (last - first)
    return first - room, last + room


def labelled_ticks(values, low: float, high: float, pixels: float, min_gap_px: float = MIN_LABEL_GAP_PX) -> set[float]:
    """Which tick positions (log10 units) get a label: every decade, then minor ticks while they keep ``min_gap_px`` apart."""
    per_unit = pixels / max(high - low, 1e-12)
    values = [float(v) for v in values]
    chosen = [v for v in values if abs(v - round(v)) < 1e-9]
    minors = [v for v in values if v not in chosen]
    for multiple in PREFERRED_MINORS:
        for value in minors:
            if abs(10 ** (value - math.floor(value)) - multiple) < 1e-6 and all(abs(value - c) * per_unit >= min_gap_px for c in chosen):
                chosen.append(value)
    return set(chosen)


class LogAxis(pg.AxisItem):
    """An axis that, in log mode, labels decades always and minor ticks only where they do not crowd; with
    ``whole_numbers`` (an axis of steps), ticks only whole numbers."""

    def __init__(self, orientation: str, **kwargs):
        super().__init__(orientation, **kwargs)
        self._labelled: set[float] | None = None
        self.whole_numbers = False

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        if self.whole_numbers and not self.logMode:
            return [(spacing, [v for v in level if float(v).is_integer()]) for spacing, level in levels]
        if self.logMode:
            values = [value for _spacing, level in levels for value in level]
            gap = MIN_LABEL_GAP_PX if self.orientation in ("left", "right") else MIN_LABEL_WIDTH_PX
            self._labelled = labelled_ticks(values, min(minVal, maxVal), max(minVal, maxVal), size, gap)
        return levels

    def tickStrings(self, values, scale, spacing):
        strings = super().tickStrings(values, scale, spacing)
        if not self.logMode or self._labelled is None:
            return strings
        return [text if float(value) in self._labelled else "" for value, text in zip(values, strings)]


def log_axes(*names: str) -> dict[str, LogAxis]:
    """Axis items for a PlotWidget's ``axisItems``."""
    return {name: LogAxis(name) for name in names}

