"""Plots whose x axis is the training step, shown in steps or epochs, that follow a run without
re-laying their axes every frame."""

from __future__ import annotations

import math

import numpy as np

from .base import PlotPanel
from .log_axis import padded_log_range


def nice_span(low: float, high: float) -> tuple[float, float]:
    """[low, high] padded by 5% and rounded outward to a round step."""
    span = high - low or abs(high) or 1.0
    low, high = low - 0.05 * span, high + 0.05 * span
    step = 10 ** math.floor(math.log10(span / 4))
    return math.floor(low / step) * step, math.ceil(high / step) * step


def sticky(current: tuple[float, float] | None, wanted: tuple[float, float]) -> tuple[float, float]:
    """Keep ``current`` while it holds ``wanted`` and is not much wider; otherwise take ``wanted``.

    Moving an axis makes pyqtgraph lay out and re-render every tick label, which
    costs more than drawing the curves; so a following plot moves its axes rarely.
    """
    if current is not None:
        inside = current[0] <= wanted[0] and wanted[1] <= current[1]
        if inside and (current[1] - current[0]) <= 2.5 * (wanted[1] - wanted[0]):
            return current
    return wanted


EMPTY_LOG_RANGE = (-4.2, 0.2)  # 1e-4 to 1, where learning rates live, with room for the end labels


class StepPlot(PlotPanel):
    """A PlotPanel indexed by step, drawn against steps or epochs, following the run when asked."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps_per_epoch = 0
        self.total_steps = 0
        self.dirty = True  # the first refresh frames the (empty) plot
        self._versions: dict[str, int] = {}
        self._drawn: dict[str, int] = {}
        self._range: tuple | None = None
        self.plot.getViewBox().disableAutoRange()
        self.plot.getAxis("bottom").whole_numbers = True  # steps, until drawn in epochs
        self.unit_named_below = False  # see name_unit_below

    def name_unit_below(self) -> None:
        """Leave the x axis's name ("step", "epoch") to the plot stacked below, which shares the axis: at 1024 x 600 the
        stacked plots' views were 37 px tall, and each spent 20 px of it on the same word."""
        self.unit_named_below = True
        self.plot.getAxis("bottom").showLabel(False)

    # -- what changed since the last redraw --------------------------------------------------

    def bump(self, *names: str) -> None:
        """Mark data as changed (redrawn at the next refresh)."""
        for name in names:
            self._versions[name] = self._versions.get(name, 0) + 1
        self.dirty = True

    def changed(self, name: str) -> bool:
        """Whether ``name`` changed since it was last drawn (and note that it is drawn now)."""
        version = self._versions.get(name, 0)
        if self._drawn.get(name) == version:
            return False
        self._drawn[name] = version
        return True

    # -- x unit, follow, refresh ----------------------------------------------------------------

    def set_epochs(self, steps_per_epoch: int) -> None:
        """Draw x in epochs (``steps_per_epoch`` > 0) or in steps (0)."""
        self.steps_per_epoch = steps_per_epoch
        self.plot.setLabel("bottom", "epoch" if steps_per_epoch else "step")
        self.plot.getAxis("bottom").showLabel(not self.unit_named_below)  # setLabel shows it again
        self.plot.getAxis("bottom").whole_numbers = not steps_per_epoch  # half an epoch is a place in the run
        self._drawn.clear()
        self._range = None
        self.dirty = True
        self.refresh()

    def refit(self) -> None:
        """Fit the axes to the data at the next refresh, however little of the range they fill: after a rollback took
        steps away, the sticky range kept the decades of LR 50 (10²) over LRs below 0.2, squeezed into the lower half."""
        self._range = None
        self.dirty = True

    def set_total(self, total_steps: int) -> None:
        """The run's planned length: a following plot spans it from the start."""
        self.total_steps = total_steps
        self.dirty = True

    def x(self, steps: np.ndarray) -> np.ndarray:
        """Steps in the unit shown."""
        return steps / self.steps_per_epoch if self.steps_per_epoch else steps

    def step_at(self, x: float) -> float:
        """The step under plot coordinate ``x``."""
        return x * self.steps_per_epoch if self.steps_per_epoch else x

    def showEvent(self, event) -> None:
        """A plot hidden while its data changed is drawn as it appears: for a redraw tick the momentum plot, shown
        when a plan's momentum varies, had the last plan's key ("planned" beside the LR plot's "next run")."""
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        """Push changed data to the curves and keep the axes on the data (called by the redraw timer)."""
        if not self.dirty:
            return
        self.dirty = False
        self.redraw()
        if self.follow.isChecked():
            self._follow()

    def readout_at(self, x: float) -> str:
        """Nothing beyond the run's steps: the nearest point there would describe another step."""
        step = self.step_at(x)
        return self.describe_at(x) if -0.5 <= step <= self.last_step() + 0.5 else ""

    def _follow_changed(self, on: bool) -> None:
        if on:
            self._range = None
            self.dirty = True
            self.refresh()

    def _follow(self) -> None:
        last = max(self.total_steps, int(self.last_step()) + 1, 1)
        x_range = (0.0, float(self.x(np.array([last]))[0]))
        bounds = self.y_bounds()
        if bounds is None:  # nothing to draw yet: an empty frame with labelled ticks
            y_range = EMPTY_LOG_RANGE if self.log_y.isChecked() else (0.0, 1.0)
        elif self.log_y.isChecked():
            y_range = sticky(self._range[1] if self._range else None, padded_log_range(max(bounds[0], 1e-12), max(bounds[1], 1e-12)))
        else:
            y_range = sticky(self._range[1] if self._range else None, nice_span(*bounds))
        if self._range != (x_range, y_range):
            self._range = (x_range, y_range)
            self.plot.getViewBox().setRange(xRange=x_range, yRange=y_range, padding=0)

    def _apply_log(self, on: bool) -> None:
        super()._apply_log(on)
        self._range = None
        self.dirty = True

    # -- subclasses ------------------------------------------------------------------------------

    def redraw(self) -> None:
        """setData on the curves whose data changed."""

    def y_bounds(self) -> tuple[float, float] | None:
        """Smallest and largest finite y of the data (positive only on a log axis), or None."""
        return None

    def last_step(self) -> float:
        """The last step with data."""
        return 0.0


def finite_bounds(*arrays: np.ndarray, positive: bool = False) -> tuple[float, float] | None:
    """(min, max) over the finite (and, if asked, positive) values of the arrays."""
    values = [a[np.isfinite(a) & ((a > 0) if positive else True)] for a in arrays if len(a)]
    values = [v for v in values if len(v)]
    if not values:
        return None
    return float(min(v.min() for v in values)), float(max(v.max() for v in values))


def last_drawn(applied_steps: np.ndarray, planned_steps: np.ndarray) -> float:
    """The last step of a run's applied curve and of a plan drawn beside it, whichever ends later (0 with neither): the
    plan of a shorter next run ends before the curves of the run shown."""
    return max(applied_steps[-1] if len(applied_steps) else 0.0, planned_steps[-1] if len(planned_steps) else 0.0)


def applied_or_planned(applied_steps: np.ndarray, planned_steps: np.ndarray, step: float) -> tuple[str, int] | None:
    """What a readout at ``step`` describes: ("applied", index) where an applied point is drawn within a step of it,
    else ("planned", index) of the plan's nearest step; None with neither."""
    index = nearest(applied_steps, step)
    if index is not None and abs(applied_steps[index] - step) <= 1:
        return "applied", index
    index = nearest(planned_steps, step)
    return None if index is None else ("planned", index)


def nearest(values: np.ndarray, target: float) -> int | None:
    """Index of the sorted ``values`` nearest to ``target`` (None when empty)."""
    if len(values) == 0:
        return None
    index = int(np.clip(np.searchsorted(values, target), 1, len(values) - 1)) if len(values) > 1 else 0
    if index and abs(values[index - 1] - target) < abs(values[index] - target):
        index -= 1
    return index
