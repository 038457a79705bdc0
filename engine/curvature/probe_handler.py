"""The curvature probe as one of the training job's handlers: measures at its cadence or on request,
emits each measurement and, in words, when the LR nears the bound or λmax climbs fast."""

from __future__ import annotations

import time

import numpy as np

from ..commands import MeasureCurvature, SetCurvatureCadence
from ..events import CurvatureMeasured, LogLine
from .alerts import climbing, near_bound
from .cadence import Cadence
from .probe import CurvatureProbe
from .settings import CurvatureSettings

STEP_TIME_BETA = 0.9


class CurvatureHandler:
    """Attach with ``attach(job)``; measures between steps, inside the job's snapshot/restore."""

    def __init__(self, config, emit):
        self.emit = emit
        self.probe = CurvatureProbe(CurvatureSettings(bn_mode=config.curvature_bn), seed=config.seed)
        self.cadence = Cadence(config.curvature_every)
        self.margin = config.curvature_margin
        self.previous: CurvatureMeasured | None = None
        self.warned = ""
        self.step_seconds = 0.0
        self._step_started: float | None = None

    # -- hooks ---------------------------------------------------------------------

    def before_step(self, job) -> None:
        """Measure first when one is due, then time the step."""
        if self.cadence.due(job.step, self.step_seconds):
            self.measure(job, "cadence")
        self._step_started = time.perf_counter()

    def after_step(self, job) -> None:
        """Count the step and keep a running step time for the automatic cadence."""
        if self._step_started is not None:
            seconds = time.perf_counter() - self._step_started
            self.step_seconds = seconds if not self.step_seconds else STEP_TIME_BETA * self.step_seconds + (1 - STEP_TIME_BETA) * seconds
            self._step_started = None
        self.cadence.stepped()

    def command(self, job, command) -> bool:
        """Handle MeasureCurvature and SetCurvatureCadence; False for any other command."""
        if isinstance(command, MeasureCurvature):
            self.measure(job, "request")
        elif isinstance(command, SetCurvatureCadence):
            try:
                self.cadence.set_every(command.every)
            except ValueError as error:
                self.emit(LogLine(str(error), "warning"))
        else:
            return False
        return True

    # -- measuring -------------------------------------------------------------------

    def measure(self, job, trigger: str) -> CurvatureMeasured:
        """One measurement now (its time is left out of samples/s, like a range test's)."""
        job.recorder.pause_clock()
        measurement = self.probe.measure(job.session, job.step, trigger)
        self.cadence.measured(measurement.seconds)
        self.emit(measurement)
        self._warn(measurement, rest_peak_ratio(job))
        self.previous = measurement
        return measurement

    def _warn(self, m: CurvatureMeasured, ratio: float) -> None:
        warning = near_bound(m, ratio, self.margin)
        kind = warning.kind if warning else ""
        if warning is not None and kind != self.warned:
            self.emit(warning)
        self.warned = kind
        climb = climbing(m, self.previous, ratio, self.margin)
        if climb is not None:
            self.emit(climb)


def rest_peak_ratio(job) -> float:
    """The highest LR the schedule still plans ÷ the LR now (1 when the LR only falls from here)."""
    timeline = job.run_schedule.timeline
    now = timeline.lr_at(job.step)
    if job.step >= job.total_steps or not now > 0:
        return 1.0
    rest = float(np.max(timeline.lrs(np.arange(job.step, job.total_steps))))
    return max(1.0, rest / now)
