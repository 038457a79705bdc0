"""The curvature probe as one of the training job's handlers: measures at its cadence or on request,
emits each measurement and, in words, when the LR nears the bound or λmax climbs fast."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..commands import MeasureCurvature, SetCurvatureCadence
from ..events import CurvatureMeasured, ScheduleChanged
from ..training.hooks import Hook
from .alerts import climbing, near_bound, peak_ratio_after
from .bounds import rule_for
from .cadence import Cadence
from .lanczos import MeasurementStopped
from .probe import CurvatureProbe
from .settings import CurvatureSettings

STEP_TIME_BETA = 0.9
# A warning of the kind already given is given again when it asks to scale the rest by 10% more than the last one did,
# or by 25% less: the older, stricter advice is still safe to follow, only needlessly slow, so a wider band keeps a
# noisy λmax from repeating it at every measurement (the bar kept "×0.123" while λmax asked for about half that cut).
STRICTER = 0.9
LOOSER = 1.25


class CurvatureHandler:
    """Measures at the start of a step when its cadence says so, or on a MeasureCurvature command.

    The measurement runs inside the job's snapshot/restore; its cadence accounting and the
    last warning given are kept in checkpoints and in the state a rollback returns to.
    """

    state_key = "curvature"

    def __init__(self, config):
        self.probe = CurvatureProbe(CurvatureSettings(bn_mode=config.curvature_bn), seed=config.seed)
        self.cadence = Cadence(config.curvature_every)
        self.margin = config.curvature_margin
        self.previous: CurvatureMeasured | None = None
        self.warned = ""  # the kind of the last warning given ("" when none is in force)
        self.warned_scale = 1.0  # and the scale it asked for
        self.step_seconds = 0.0
        self._step_started: float | None = None

    def attach(self, job) -> None:
        """Register at the start and end of each step and for the curvature commands."""
        job.add_handler(Hook.STEP_STARTED, self.step_started)
        job.add_handler(Hook.STEP_COMPLETED, self.step_completed)
        job.add_handler(Hook.COMMAND_RECEIVED, self.command_received)
        job.bus.subscribe(lambda event: self.event(job, event))

    # -- hooks ---------------------------------------------------------------------

    def step_started(self, job, info) -> None:
        """Measure first when one is due (the step's LRs are set), then time the step."""
        if self.cadence.due(job.step, self.step_seconds, job.total_steps):
            self.measure(job, "cadence")
        self._step_started = time.perf_counter()

    def event(self, job, event) -> None:
        """An edit of the schedule (also while paused, where no step starts), or a resumed run's start: recheck the last
        bound at once. (A resumed run planned above the bound its last measurement gave trained on without a word: the
        warning had been given before the stop, and the cadence may not measure again.)"""
        if isinstance(event, ScheduleChanged) and (event.reason != "start" or self.previous is not None):
            self._recheck(job)
        elif isinstance(event, CurvatureMeasured) and event.trigger == "range_test":
            self.previous = event  # a range test's λmax of the run's weights now: the last one, in the checkpoint too

    def step_completed(self, job, info) -> None:
        """Count the step and keep a running step time for the automatic cadence."""
        if self._step_started is not None:
            seconds = time.perf_counter() - self._step_started
            self.step_seconds = seconds if not self.step_seconds else STEP_TIME_BETA * self.step_seconds + (1 - STEP_TIME_BETA) * seconds
            self._step_started = None
        self.cadence.stepped()

    def command_received(self, job, command) -> tuple[bool, str] | None:
        """MeasureCurvature measures now (also from a paused run); SetCurvatureCadence changes the cadence.

        Returns (applied, what became of it) for those two, None for any other command (not this handler's).
        """
        if isinstance(command, MeasureCurvature):
            job.set_next_step_hyperparameters()  # the bound the next step meets, at its LRs and momentum
            measurement = self.measure(job, "request")
            if measurement is None:
                return False, "the λmax measurement was stopped with the run"
            return True, f"λmax {measurement.lambda_max:.4g} measured at step {measurement.step}"
        if isinstance(command, SetCurvatureCadence):
            try:
                self.cadence.set_every(command.every)
            except ValueError as error:
                job.log(str(error), "warning")
                return False, str(error)
            # Logged like a refused one, so the run's log and `watch` show who changed it (only a typo was logged).
            job.log(f"curvature cadence {self.cadence.every} from step {job.step}")
            return True, f"curvature cadence {self.cadence.every} from step {job.step}"
        return None

    # -- state -----------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Plain data: the automatic cadence's accounting, the last measurement and the last warning's kind."""
        return {"spent": self.cadence.spent, "last_cost": self.cadence.last_cost, "trained_steps": self.cadence.trained_steps,
                "since_last": self.cadence.since_last,
                "previous": self.previous.to_dict() if self.previous is not None else None, "warned": self.warned,
                "warned_scale": self.warned_scale}

    def load_state_dict(self, state: dict) -> None:
        """Continue from ``state_dict()``'s data."""
        self.cadence.spent, self.cadence.last_cost = state["spent"], state["last_cost"]
        self.cadence.trained_steps = state["trained_steps"]
        self.cadence.since_last = state.get("since_last", state["trained_steps"])  # checkpoints before 2026-12-03 lack it
        self.previous = CurvatureMeasured.from_dict(state["previous"]) if state["previous"] is not None else None
        self.warned = state["warned"]
        self.warned_scale = state.get("warned_scale", 1.0)  # checkpoints before 2026-12-04 lack it

    # -- measuring -------------------------------------------------------------------

    def measure(self, job, trigger: str) -> CurvatureMeasured | None:
        """One measurement now (its time is left out of samples/s, like a range test's); None when a stop cut it short."""
        job.recorder.pause_clock()
        started = time.perf_counter()
        try:
            measurement = self.probe.measure(job.session, job.step, trigger, job.inbox.stop_requested.is_set)
        except MeasurementStopped:
            self.cadence.measured(time.perf_counter() - started)
            return None
        self.cadence.measured(measurement.seconds)
        job.bus.emit(measurement)
        self._warn(job.bus.emit, measurement, rest_peak_ratio(job))
        self.previous = measurement
        return measurement

    def _recheck(self, job) -> None:
        """After a schedule edit, the last measured λmax against the LRs and momentum the schedule now plans for the
        next step, without measuring again.

        Raising the LR above the bound mid-run was silent until the next measurement, which the automatic
        cadence may never make. Only when the groups' LRs keep the ratios they had at that measurement (the
        bounds scale with those ratios, so new ones need a new measurement), and not for Adam (its bound
        moves with its second moments). The momentum is the schedule's: an edit from a one-cycle to a
        constant LR can take β from 0.9 to 0, which halves the bound of SGD with momentum.
        """
        m, step = self.previous, min(job.step, job.total_steps - 1)
        timeline = job.run_schedule.timeline
        lrs = timeline.group_lrs(np.array([step]), job.session.group_names)[0]
        if m is None or m.preconditioned or not same_ratios(lrs, m.lrs):
            return
        momentum = timeline.momentum_at(step)
        rule = rule_for(job.session.optimizer, momentum if np.isfinite(momentum) else None)
        if rule.preconditioned:
            return
        now = replace(m, lrs=lrs, bounds=m.bounds * (rule.constant / m.constant), constant=rule.constant, formula=rule.formula,
                      optimizer=rule.optimizer)
        # Said again even when it repeats the last warning: the edit was meant to fix it, and the window withdraws a
        # warning when the schedule changes.
        self._warn_near_bound(job.bus.emit, now, rest_peak_ratio(job), job.step, again=True)

    def _warn(self, emit, m: CurvatureMeasured, ratio: float) -> None:
        self._warn_near_bound(emit, m, ratio, m.step)
        climb = climbing(m, self.previous, ratio, self.margin)
        if climb is not None:
            emit(climb)

    def _warn_near_bound(self, emit, m: CurvatureMeasured, ratio: float, step: int, again: bool = False) -> None:
        """A near-bound warning at ``step`` unless the last one was of the same kind and asked for about as much (or
        ``again``); its message names the measurement's step. (A stricter λmax of the same kind was kept quiet, and the
        user's fix for the old one left the LR above the new bound; a looser one left the old cut offered.)"""
        warning = near_bound(m, ratio, self.margin)
        kind, scale = (warning.kind, warning.scale) if warning else ("", 1.0)
        same_advice = kind == self.warned and STRICTER * self.warned_scale <= scale <= LOOSER * self.warned_scale
        if warning is not None and (again or not same_advice):
            emit(replace(warning, step=step))
        elif warning is not None:
            scale = self.warned_scale  # the advice given is still in force: compare the next one with it
        self.warned, self.warned_scale = kind, scale


def same_ratios(lrs: np.ndarray, measured: np.ndarray) -> bool:
    """Whether ``lrs`` are ``measured`` times one positive factor (the same groups at zero)."""
    if lrs.shape != measured.shape or not np.array_equal(lrs > 0, measured > 0) or not np.any(lrs > 0):
        return False
    live = lrs > 0
    factors = lrs[live] / measured[live]
    return bool(np.allclose(factors, factors[0], rtol=1e-6))


def rest_peak_ratio(job) -> float:
    """The highest LR the run's schedule still plans ÷ the LR now (1 when the LR only falls from here)."""
    return peak_ratio_after(job.run_schedule.timeline, job.step, rule_for(job.session.optimizer).optimizer)

