"""LR per step: the past as applied (solid), the planned future (dashed), an editor preview (dotted),
a "now" marker, and draggable keypoints of a free-form segment."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ..buffers import CurveBuffer
from .base import make_curve
from .group_colors import ORANGE, group_color
from .stability_overlay import StabilityOverlay
from .step_plot import StepPlot, applied_or_planned, finite_bounds, last_drawn

GREY, PURPLE = (150, 150, 150), (148, 103, 189)
MOMENTUM_COLOR = (140, 86, 75)


class LrPlot(StepPlot):
    """The LR each parameter group was trained at (one curve per group, named in the key) against step.

    The curves are named in a hidden legend (the place their keys are kept, in order), shown as the title's key."""

    def __init__(self, parent=None):
        super().__init__("Learning rate", "LR", log_y=True, parent=parent)
        self.groups: tuple[str, ...] = ()
        self.applied: list[pg.PlotDataItem] = []
        self.planned: list[pg.PlotDataItem] = []
        self.preview = make_curve(self.plot, PURPLE, width=2, style=Qt.PenStyle.DotLine)  # in the legend while shown
        self.now = pg.InfiniteLine(angle=90, pen=pg.mkPen(GREY, width=1), label="now", labelOpts={"position": 0.95, "color": GREY})
        self.plot.addItem(self.now, ignoreBounds=True)
        # Its legend stays a box in the lower left, four columns wide: its key in the title took a second row at 1024 px,
        # and with the warning bar up the window then needed 578 px of a 600 px screen.
        self.plot.legend.setVisible(True)
        self.plot.legend.setBrush(pg.mkBrush(255, 255, 255, 170))  # the curves under it pale, its words readable
        self.plot.legend.setOffset((10, -10))
        self.plot.legend.setColumnCount(4)
        self.plan = (np.empty(0), np.empty((0, 1)))
        self.plan_groups: tuple[str, ...] = ()
        self.plan_key = "planned"
        self._plan_keyed_alone = True  # whether the plan's keys were given with no run drawn (named per group)
        self.preview_data = (np.empty(0), np.empty(0))
        self.handles: list[pg.TargetItem] = []
        self.now_at: int | None = None  # the running job's step; None when no run is in progress
        self.set_groups(("applied",))
        self.stability = StabilityOverlay(self)

    def set_groups(self, names: tuple[str, ...]) -> None:
        """One applied curve per parameter group (a run's groups, input to output); forgets the applied LRs."""
        names = tuple(names)
        if names == self.groups:
            return
        for curve in (*self.applied, *self.planned):
            self.plot.removeItem(curve)
        self.groups = names
        self.points = CurveBuffer(1 + len(names))
        self.applied = [make_curve(self.plot, group_color(i, n), width=2, name=n) for i, n in enumerate(names)]
        self.keys = dict(zip(self.applied, names))  # each applied curve's key in the legend ("" while it is not listed)
        self._seen, self._alike, self._trained = 0, [], []  # what _overlaps has read of the applied LRs
        self.planned = []
        self.bump("steps", "plan")

    def add_steps(self, steps: np.ndarray, lrs: np.ndarray, groups: tuple[str, ...] | None = None) -> None:
        """Append applied LRs: one column per group, named by ``groups`` (the columns' order is the run's)."""
        if groups is not None:
            self.set_groups(groups)
        self.points.extend(np.column_stack([steps, lrs]))
        self.bump("steps", "now")

    def set_now(self, step: int | None) -> None:
        """Move the "now" marker to ``step``; None hides it (a finished or read-only run has no "now")."""
        if step != self.now_at:
            self.now_at = step
            self.bump("now")

    def set_plan(self, steps: np.ndarray, lrs: np.ndarray, key: str = "planned", groups: tuple[str, ...] = ()) -> None:
        """The planned LR of every step of the run (drawn whole: the applied curves cover its past).

        ``lrs`` has one column per group named in ``groups`` (or is one curve, before a model's groups are known); ``key``
        names it in the legend: the run's own plan is "planned", the next run's is "next run" (after a run, or after
        Detach, the last run's curves stay beside it: one key for both read as the plan of the run drawn). The plan's
        groups are its own: the next run's model may have others than the run drawn, whose applied LRs must stay.
        """
        self.plan = (steps, np.asarray(lrs).reshape(len(steps), -1))
        groups = tuple(groups) if len(groups) == self.plan[1].shape[1] else ()
        if groups != self.plan_groups:  # each curve is coloured for its group when made: another model's are made anew
            for curve in self.planned:
                self.plot.removeItem(curve)
            self.planned = []
        self.plan_groups = groups
        self.plan_key = key
        self.bump("plan")

    def set_preview(self, steps: np.ndarray, lrs: np.ndarray) -> None:
        """The editor's schedule, drawn dotted until it is applied (empty arrays hide it)."""
        self.preview_data = (steps, lrs)
        self.bump("preview")
        self.refresh()

    def truncate(self, step: int) -> None:
        """Forget applied LRs from ``step`` on."""
        self.points.keep_before(step)
        self._seen = 0  # rows past ``step`` will be new ones: the overlaps are read again from the start
        self.stability.truncate(step)
        self.bump("steps", "now")
        self.refit()

    def clear(self) -> None:
        """Forget the run (the plan and preview stay)."""
        self.truncate(0)

    def redraw(self) -> None:
        steps_changed = self.changed("steps")
        if steps_changed:
            steps = self.x(self.points.view(0))
            for column, curve in enumerate(self.applied, start=1):
                curve.setData(steps, self.points.view(column))
            self._name_overlaps()
        if self.changed("plan") or (steps_changed and self._plan_keyed_alone != (not len(self.points))):
            self._draw_plan()  # a run's first steps (or their clearing) change how the plan is named
        if self.changed("now"):
            if self.now_at is not None:
                self.now.setPos(self.x(np.array([self.now_at]))[0])
            self.now.setVisible(self.now_at is not None and len(self.points) > 0)  # before a run there is no "now" either
        if self.changed("preview"):
            self.preview.setData(self.x(self.preview_data[0]), self.preview_data[1])
            self.show_in_legend(self.preview, "editor preview", len(self.preview_data[0]) > 0)
        self.stability.redraw(steps_changed)

    def _name_overlaps(self) -> None:
        """Groups trained at the same LRs draw their curves one over another: one key names them together ("all 4
        groups", or "block1 = block2") in the colour of the curve on top (the last drawn), so that no key names a curve
        that cannot be seen. (Four keys, one visible orange line: the eye looked for the other three; "all groups"
        alone read as a model of one group.)"""
        alike, trained = self._overlaps()
        keys = {curve: "" for curve in self.applied}
        if len(self.points):  # no run shown, no applied curve to name
            for index, (curve, key) in enumerate(zip(self.applied, keys_of_alike(self.groups, alike, f"all {len(self.groups)} groups"))):
                frozen = self._seen and not trained[index]  # LR 0 throughout, which a log axis does not draw: the key says why
                keys[curve] = f"{key} frozen (LR 0)" if key and frozen else key
        if keys != self.keys:
            self.keys = keys
            others = [(sample.item, label.text) for sample, label in self.plot.legend.items if sample.item not in keys]
            self.plot.legend.clear()  # the groups' keys first, then the plan's and the others, as before
            for item, key in [*keys.items(), *others]:
                if key:
                    self.plot.legend.addItem(item, key)

    def _overlaps(self) -> tuple[list[int], list[bool]]:
        """For each group, the first group whose applied LRs equal its own so far, and whether it ever trained (LR > 0).
        Only the rows added since the last call are read (this runs on the redraw timer, a long run holds 10^5 steps):
        groups alike can only part, so the full comparison is redone only when some do, or the steps were cut back."""
        lrs = self.points.view()[:, 1:]
        if len(lrs) < self._seen or len(self._alike) != lrs.shape[1]:
            self._seen, self._alike, self._trained = 0, [0] * lrs.shape[1], [False] * lrs.shape[1]
        new = lrs[self._seen:]
        if any(not np.array_equal(new[:, first], new[:, i]) for i, first in enumerate(self._alike)):
            self._alike = [next(j for j in range(lrs.shape[1]) if np.array_equal(lrs[:, j], lrs[:, i])) for i in range(lrs.shape[1])]
        self._trained = [was or bool(new[:, i].any()) for i, was in enumerate(self._trained)]
        self._seen = len(lrs)
        return self._alike, self._trained

    def _draw_plan(self) -> None:
        """Dashed curves of the plan, one per group (colored like its applied curve), its key in the legend once."""
        steps, lrs = self.plan
        columns = lrs.shape[1]
        while len(self.planned) < columns:
            index = len(self.planned)
            color = group_color(index, self.plan_groups[index]) if len(self.plan_groups) > 1 else ORANGE
            self.planned.append(make_curve(self.plot, color, style=Qt.PenStyle.DashLine))
        for index, curve in enumerate(self.planned):
            curve.setData(self.x(steps) if index < columns else [], lrs[:, index] if index < columns else [])
        keys = self._plan_keys()
        for index, curve in enumerate(self.planned):
            self.show_in_legend(curve, keys[index] if index < columns else "", bool(index < columns and keys[index]))
        self._plan_keyed_alone = not len(self.points)  # the keys change when a run's first steps come (or go)

    def _plan_keys(self) -> list[str]:
        """Each plan curve's key ("" for none). Beside the curves of a run with the plan's groups, one key on the last
        curve, the one drawn on top where the groups' plans coincide (its colour is what shows): the run's keys name the
        colours. Otherwise (before a run, or beside a run of another model) six dashed curves under one key "next run"
        could not be told apart: each is named by its group, groups planned alike together, as the run's keys do (all
        alike: the one key)."""
        lrs, names = self.plan[1], self.plan_groups
        columns = lrs.shape[1]
        # A run's keys name the plan's colours only when it has the plan's groups: after a small_cnn run, a MobileNet
        # plan's six curves read "next run" (helper-72).
        if (len(self.points) and names == self.groups) or len(names) < 2:
            return [self.plan_key if index == columns - 1 else "" for index in range(columns)]
        first = [next(j for j in range(columns) if np.array_equal(lrs[:, j], lrs[:, i])) for i in range(columns)]
        return keys_of_alike(names, first, self.plan_key)  # all alike: the plan's own key

    def y_bounds(self):
        return finite_bounds(self.points.view()[:, 1:].ravel(), self.plan[1].ravel(), self.preview_data[1], self.stability.y_values(),
                             positive=self.log_y.isChecked())

    def last_step(self):
        return last_drawn(self.points.view(0), self.plan[0])

    def show_handles(self, points: list[tuple[float, float]], moved: Callable[[int, float, float], None]) -> None:
        """Draggable markers at (step, LR) points; ``moved(index, step, lr)`` is called as one is dragged."""
        self.hide_handles()
        for index, (step, lr) in enumerate(points):
            handle = pg.TargetItem(pos=self._to_view(step, lr), size=12, symbol="o", movable=True,
                                   pen=pg.mkPen(PURPLE, width=2), label=f"{index + 1}")
            handle.sigPositionChanged.connect(lambda item, i=index: moved(i, *self._from_view(item.pos())))
            self.plot.addItem(handle)
            self.handles.append(handle)

    def hide_handles(self) -> None:
        """Remove the keypoint markers."""
        for handle in self.handles:
            self.plot.removeItem(handle)
        self.handles = []

    def _to_view(self, step: float, lr: float) -> tuple[float, float]:
        x = self.x(np.array([step]))[0]
        return x, math.log10(max(lr, 1e-12)) if self.log_y.isChecked() else lr

    def _from_view(self, position) -> tuple[float, float]:
        step = self.step_at(position.x())
        return step, 10 ** position.y() if self.log_y.isChecked() else max(0.0, position.y())

    def columns(self):
        plan_steps, plan_lrs = self.plan
        applied = {f"lr_{name}": self.points.view(i) for i, name in enumerate(self.groups, start=1)}
        if self.plan_groups:
            planned = {f"planned_lr_{name}": plan_lrs[:, i] for i, name in enumerate(self.plan_groups)}
        else:
            planned = {"planned_lr": plan_lrs[:, 0]}
        return {"step": self.points.view(0), **applied, "planned_step": plan_steps, **planned}

    def describe_at(self, x):
        step = self.step_at(x)
        found = applied_or_planned(self.points.view(0), self.plan[0], step)
        if found is None:
            return ""
        which, index = found
        if which == "applied":
            lrs = self.points.view()[index, 1:]
            return f"step {int(self.points.view(0)[index])}: {_lrs(lrs, self.groups)} (applied)" + self.stability.describe(step, lrs[-1])
        return f"step {int(self.plan[0][index])}: {_lrs(self.plan[1][index], self.plan_groups)} (planned)"


def keys_of_alike(names: tuple[str, ...], first: list[int], everyone: str) -> list[str]:
    """Each curve's key, given ``first[i]``, the first curve drawn alike with curve i: the curve drawn on top of those
    alike (the last) names them all ("block1 = block2", or ``everyone`` for every curve), the others nothing."""
    keys = []
    for index in range(len(names)):
        together = [name for name, same in zip(names, first) if same == first[index]]
        on_top = index == max(i for i, same in enumerate(first) if same == first[index])
        named = everyone if len(together) == len(names) > 1 else " = ".join(together)
        keys.append(named if on_top else "")
    return keys


def _lrs(values: np.ndarray, names: tuple[str, ...]) -> str:
    """"LR 0.1" when the groups' LRs are alike (or unnamed), else each group's."""
    if len(set(values.tolist())) == 1 or len(values) != len(names):
        return f"LR {values[0]:.4g}"
    return "LR " + ", ".join(f"{name} {lr:.4g}" for name, lr in zip(names, values))


class MomentumPlot(StepPlot):
    """Momentum (or Adam's beta1) per step, applied and planned; worth a look when it is scheduled."""

    def __init__(self, parent=None):
        # β, as the papers write it (SGD's momentum and Adam's β1 alike): the title names it, and at 1024 x 600 the view is
        # shorter than "momentum".
        super().__init__("Momentum", "β", parent=parent)
        self.applied = make_curve(self.plot, MOMENTUM_COLOR, width=2)
        self.planned = make_curve(self.plot, MOMENTUM_COLOR, style=Qt.PenStyle.DashLine)
        self.plan_key = "planned"
        self.points = CurveBuffer(2)
        self.plan = (np.empty(0), np.empty(0))
        self.step = 0

    def add_steps(self, steps: np.ndarray, momenta: np.ndarray) -> None:
        """Append applied momenta."""
        self.points.extend(np.column_stack([steps, momenta]))
        self.step = int(steps[-1]) + 1
        self.bump("steps")

    def set_plan(self, steps: np.ndarray, momenta: np.ndarray, key: str = "planned") -> None:
        """The planned momentum of every step (drawn whole: the applied curve covers its past); ``key`` as the LR plot's."""
        self.plan = (steps, momenta)
        self.plan_key = key
        self.bump("plan")

    def truncate(self, step: int) -> None:
        """Forget momenta from ``step`` on."""
        self.points.keep_before(step)
        self.step = step
        self.bump("steps")
        self.refit()

    def clear(self) -> None:
        """Forget the run."""
        self.truncate(0)

    @property
    def scheduled(self) -> bool:
        """Whether the momentum changes during the run."""
        values = self.plan[1][np.isfinite(self.plan[1])]  # none at all where the schedule does not say (NaN)
        return len(values) > 0 and bool(values.max() - values.min() > 1e-12)

    def redraw(self) -> None:
        steps, plan = self.changed("steps"), self.changed("plan")
        if steps:
            self.applied.setData(self.x(self.points.view(0)), self.points.view(1))
        if plan:
            self.planned.setData(self.x(self.plan[0]), self.plan[1])
        if steps or plan:
            self.set_key_title([self.title, *self.key()])

    def key(self) -> list[str]:
        """The key's entries: "applied" only while it is drawn (before a run there is none), then the plan's name."""
        colour = f"rgb{MOMENTUM_COLOR}"
        applied = [f'<span style="color: {colour}">━ applied</span>'] if len(self.points) else []
        return [*applied, f'<span style="color: {colour}">╌ {self.plan_key}</span>']

    def y_bounds(self):
        return finite_bounds(self.points.view(1), self.plan[1], positive=self.log_y.isChecked())

    def last_step(self):
        # As the LR plot's: spanning the plan alone, a 66-step run shown beside a 22-step next run was cut at 22 here
        # and drawn whole above.
        return last_drawn(self.points.view(0), self.plan[0])

    def columns(self):
        return {"step": self.points.view(0), "momentum": self.points.view(1)}

    def describe_at(self, x):
        # As the LR plot's: over a run's curve its applied momentum (the plan's nearest step was read there, even past
        # a shorter next run's end).
        found = applied_or_planned(self.points.view(0), self.plan[0], self.step_at(x))
        if found is None:
            return ""
        which, index = found
        steps, momenta = (self.points.view(0), self.points.view(1)) if which == "applied" else self.plan
        return f"step {int(steps[index])}: momentum {momenta[index]:.4g} ({which})"
