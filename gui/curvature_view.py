"""Follows the run's curvature and health: the bound on the LR plot, the Health tab, the warning banner.

GUI thread only; fed by the bridge's signals, sends commands through ``send``.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from engine.commands import EditSchedule, SetCurvatureCadence
from engine.config import TrainConfig
from engine.curvature.alerts import peak_ratio_after
from engine.curvature.cadence import parse_every
from engine.run.handle import TERMINAL
from engine.schedules.edits import ScaleRest
from engine.store.reader import read_curvature, read_health
from engine.text import counted

from .panels.stability_banner import StabilityBanner
from .plots.health_plot import HealthPanel
from .window_layout import pinned_above

CADENCES = ("auto", "off", "10", "50", "100", "500", "1000")
# The warnings whose advice weighs the schedule's LRs against the bound. A climb of λmax is about the loss surface, but
# its "Scale the rest ×0.93" is about the schedule: after a Set LR far below the bound it stayed up, offering the scale.
SCHEDULE_WARNINGS = ("near_bound", "above_bound", "planned_above", "climbing")


NO_MEASUREMENT = "no measurement yet"


class CurvatureView(QObject):
    """The Health tab (plots, "Measure λmax now", the cadence) and the banner; one per window."""

    def __init__(self, bridge, send, lr_plot, log, banner: StabilityBanner, measure_action, parent=None, tuning=lambda: False):
        super().__init__(parent)
        self.tuning = tuning  # whether a tune is going on: its range test measures fresh weights, no run's
        self.send, self.lr_plot, self.log, self.banner, self.measure_action = send, lr_plot, log, banner, measure_action
        self.pending = False  # a Measure now asked for and not yet answered
        self.health = HealthPanel()
        self.measure = QToolButton()
        self.measure.setDefaultAction(measure_action)
        self.cadence = QComboBox(editable=True)
        self.cadence.addItems(CADENCES)
        self.cadence.setToolTip("The running run's λmax every: measure λmax every N steps from now on; auto keeps the probe "
                                "within 5% of training time; off never. The next run starts from the configuration's. "
                                "Enabled while a run is going.")
        self.cadence.setEnabled(False)  # no run to send it to: it said "measured every 10 steps from now on" of none
        self.last = QLabel(NO_MEASUREMENT)
        # The readout is long (bound, formula, BatchNorm mode, cost): it wraps rather than widen the tab past a laptop
        # screen, where a horizontal scrollbar hid the plots' right edge.
        self.last.setWordWrap(True)
        self.last.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.lambdas = (math.inf, math.inf)  # λmax of the run's last two measurements (a climb is resolved below the first)
        self.margin = TrainConfig.curvature_margin  # the run's: how much of the bound its warnings allow
        self.state = ""  # the run's: a range test in it holds commands until it ends
        self.every, self.run_dir = "auto", ""  # the run's cadence and folder, for what to say if it ends unmeasured
        self.timeline = None  # the run's schedule, as its last change left it
        self.tab = self._tab()
        self.cadence.activated.connect(self._cadence_chosen)
        self.banner.scaleRequested.connect(self._scale)
        for signal, slot in ((bridge.curvatureMeasured, self.measured), (bridge.healthLogged, self.health.add_health),
                             (bridge.stabilityWarning, self.warned), (bridge.runStarted, self.started),
                             (bridge.rolledBack, self.rolled_back), (bridge.scheduleChanged, self.schedule_changed),
                             (bridge.stateChanged, self._state_changed)):
            signal.connect(slot)

    def _tab(self) -> QWidget:
        """The bar pinned above the plots, which scroll rather than impose their heights on the window's minimum (laptop
        screens). The bar stays out of the scroll area: its wrapped readout made the area size the tab for its text's
        preferred height, and at 1366×768 one plot of three was in sight."""
        bar = QWidget()
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.measure)
        row.addWidget(QLabel("λmax every"))  # the configuration's name: the same setting, for the run going on
        row.addWidget(self.cadence)
        row.addWidget(self.last, 1)
        return pinned_above(bar, self.health)

    def waiting(self) -> None:
        """A measurement was asked for: it takes seconds in which training waits, and nothing said it was coming. Asking
        again is off until it comes: two clicks and Ctrl+K measured the same paused weights three times over."""
        waits = "" if self.state == "paused" else " (training waits for it; seconds)"  # a paused run has no training to hold
        self.last.setText(f"measuring λmax {self._when()}{waits}…")
        self.log.add(f"measuring λmax {self._when()}")
        self.pending = True
        self.measure_action.setEnabled(False)

    def _when(self) -> str:
        """When a command sent now takes effect (a paused run takes it at once: "at the next step" was said of a
        measurement made in the second that followed)."""
        return {"range_test": "when the range test ends", "paused": "now (the run stays paused)"}.get(self.state, "at the next step")

    def _answered(self) -> None:
        """No measurement is awaited: Measure now is on again while the run goes on."""
        self.pending = False
        self.measure_action.setEnabled(self.state not in TERMINAL and self.state != "")

    @Slot(object)
    def _state_changed(self, event) -> None:
        self.state = event.state
        self.cadence.setEnabled(event.state not in TERMINAL)
        if event.state in TERMINAL:
            self._answered()
        if event.state in TERMINAL and self.lambdas[1] == math.inf:  # "Measure now measures at once" stayed, disabled
            self.last.setText(f"no λmax measurement in this run{': it ended before auto measured one' if self.every == 'auto' else ''}"
                              f"; `lrscope curvature --checkpoint {self.run_dir}` measures its last weights")

    @Slot(object)
    def measured(self, event) -> None:
        """A measurement: onto the LR plot's bound curve and the λmax plot, and a line saying what it means."""
        if event.trigger == "range_test" and (self.tuning() or self.state in TERMINAL):
            return  # a tune's range test, or a test after the run shown ended: fresh weights, not that run's
        self.lr_plot.stability.add(event)
        self.health.add_curvature(event)
        edge = event.edge
        self.last.setText(f"λmax {event.lambda_max:.4g} at step {event.step} ({event.edge_words()}; {event.formula}, theory; "
                          f"BatchNorm on {event.bn_mode} statistics; {counted(event.iterations, 'product')}, {event.seconds:.2f} s)")
        if event.trigger == "request":  # asked for in the log ("measuring λmax now"), answered there too
            self.log.add(f"step {event.step}: λmax {event.lambda_max:.4g}, {event.edge_words()}")
            self._answered()
        self.lambdas = (self.lambdas[1], event.lambda_max)
        if self.banner.isVisible() and event.step > self.banner.step and self.banner.resolved(event):
            self.banner.hide()
            self.log.add(f"step {event.step}: λmax {event.lambda_max:.3g}, LR at {100 * edge:.0f}% of the bound: the stability "
                         f"warning of step {self.banner.step} no longer holds")

    @Slot(object)
    def warned(self, event) -> None:
        """A stability warning: in the log and in the banner, with the edit that helps. One from the run's past (an
        attached run's history, which stores no advice or factor) goes to the log alone: offered as current, its
        "measured now" was 1200 steps old, and its "Scale ×0.36" had no button. The run warns again if it still holds."""
        if not event.advice:
            self.log.add(f"earlier, at step {event.step}: {event.message}", "warning")
            return
        self.log.add(f"{event.message} {event.advice}", "warning")
        self.banner.show_warning(event, self._resolved_by(event))

    @Slot(object)
    def schedule_changed(self, event) -> None:
        """A warning about the LR against the bound is about the schedule it was given: an edit that lowered the peak
        below the bound left "the schedule will raise the LR to 204% of the bound" up for the rest of the run. The run
        checks the new schedule at once and warns again when the warning still holds."""
        self.timeline = event.run_schedule.timeline  # what a planned rise's warning is weighed against
        if event.reason != "start" and self.banner.isVisible() and self.banner.kind in SCHEDULE_WARNINGS:
            self.banner.hide()
            self.log.add(f"step {event.step}: the schedule changed, so the stability warning of step {self.banner.step} is "
                         "withdrawn (the run warns again if the new schedule is still too close to the bound)")

    def _resolved_by(self, warning):
        """When a later measurement makes ``warning`` stale (the banner offered a fix minutes after λmax fell back):
        a climb, once λmax is back under where it climbed from; an LR near or above the bound, once it is back under the
        run's margin; a planned rise, once the highest LR the schedule still plans is (a bar offered "Scale the rest
        ×0.56" for a peak at 143% of the bound after two measurements had put it at 62% and 37%)."""
        if warning.kind == "climbing":
            before = self.lambdas[0]  # the warned measurement is the last
            return lambda m: m.lambda_max < before
        if warning.kind in ("near_bound", "above_bound"):
            return lambda m: m.edge < self.margin
        if warning.kind == "planned_above" and self.timeline is not None:
            timeline = self.timeline
            return lambda m: m.edge * peak_ratio_after(timeline, m.step, m.optimizer) < self.margin
        return lambda m: False

    @Slot(object)
    def started(self, event) -> None:
        """A new run: forget the last one's health (a resumed run refills its past)."""
        for plot in self.health.plots:
            plot.clear()
            plot.set_total(event.total_steps)
        self.banner.hide()
        every = self.every = str(event.config.get("curvature_every", "auto"))
        self.run_dir = event.run_dir
        # It showed the last run's measurement, or the range test's with its LR; and "auto" on a short run, which never
        # measures, looked broken.
        self.last.setText("no measurement in this run yet" + (
            "; auto measures once 5% of the training time pays for one (a short run may never): Measure now (Ctrl+K) "
            "measures at once" if every == "auto" else ""))
        self.lambdas = (math.inf, math.inf)
        self.margin = float(event.config.get("curvature_margin", self.margin))
        self.cadence.setCurrentText(every)
        if event.start_step and event.run_dir:
            self.load_past(event.run_dir, event.start_step)

    def forget(self) -> None:
        """Show no run's health: another dataset was opened (the last run's λmax stayed above the new one's plots)."""
        for plot in self.health.plots:
            plot.clear()
        self.last.setText(NO_MEASUREMENT)
        self.lambdas, self.run_dir = (math.inf, math.inf), ""

    def show_run(self, run_dir: str) -> None:
        """A stored run, read-only: its health and curvature replace what was shown."""
        for plot in self.health.plots:
            plot.clear()
        self.load_past(run_dir)

    @Slot(object)
    def rolled_back(self, event) -> None:
        """The run went back: forget what came after."""
        for plot in self.health.plots:
            plot.truncate(event.step)

    def load_past(self, run_dir: str, before: int | None = None) -> None:
        """Draw a stored run's health and curvature (read-only runs, resumed runs)."""
        from engine.events import CurvatureMeasured

        health = read_health(run_dir)
        keep = health["step"] < before if before is not None else slice(None)
        if len(health["step"][keep]):
            for plot, key in ((self.health.grad_norm, "grad_norm"), (self.health.update_ratio, "update_ratio")):
                plot.set_groups(tuple(health["groups"]))
                plot.add(health["step"][keep], health[key][keep])
        for data in read_curvature(run_dir):
            if before is None or data["step"] < before:
                self.measured(CurvatureMeasured.from_dict(data))

    def refresh(self) -> None:
        """Redraw the visible health plots whose data changed (the window's redraw tick)."""
        for plot in self.health.plots:
            if plot.isVisible():
                plot.refresh()

    @Slot(int)
    def _cadence_chosen(self, _index: int) -> None:
        text = self.cadence.currentText()
        try:
            every = parse_every(text)
        except ValueError as error:
            self.log.add(str(error), "warning")
            return
        self.send(SetCurvatureCadence(str(every)))
        self.log.add(f"curvature measured {'every ' + str(every) + ' steps' if isinstance(every, int) else every} from now on")

    @Slot(float)
    def _scale(self, factor: float) -> None:
        self.send(EditSchedule(ScaleRest(factor, reason="curvature")))
        # Said now: during a range test in the run nothing else showed the click for minutes.
        self.log.add(f"scaling the rest of the schedule ×{factor:.2g} {self._when()}")
