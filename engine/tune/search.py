"""The search: a range test sets the interval, then Optuna samples trials that are real runs of the schedule.

Every trial starts from the same initial weights (written once, loaded like any weights file) with
a data order of its own, trains through the run store, and reports its training loss at each
epoch. The interval is cut into thirds of log LR (``strata``), each its own Optuna study: its TPE
sampler proposes within it and its SuccessiveHalvingPruner stops the trials that fall behind the
others of that third (ASHA run one trial at a time). The first trial is the user's schedule as it
is, the second the range test's recommendation; then the third with the fewest trials has its
turn. No trial starts unless the budget can pay for it in full, so the tune never spends more than
it said.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..config import TrainConfig
from ..data.dataset import PreparedDataset
from ..events import (
    EpochEnded,
    Event,
    LogLine,
    TuneFinished,
    TuneIntervalChosen,
    TuneStarted,
    TuneTrialFinished,
    TuneTrialReported,
    TuneTrialStarted,
)
from ..range_test.runner import run_range_test
from ..range_test.settings import RangeTestSettings
from ..schedules.edits import RunSchedule
from ..schedules.timeline import Timeline
from ..store.lock import RunLock
from ..store.writer import RunStore
from ..text import counted
from ..training.handlers.chance import chance_bar, clears
from ..training.session import build_session
from .budget import OVERHEAD, check_room, sweep_iterations
from .folders import WEIGHTS
from .interval import Interval, search_interval
from .record import TrialRecord, range_test_record, save_record, standing, trial_purpose, tune_record
from .resume import Resumed, check_budget, still_to_try, tell_again
from .settings import WEIGHT_DECAY_RANGE, TuneSettings
from .strata import STRATA, emptiest, strata, stratum_of
from .timing import step_seconds
from .trial import TrialJob
from .winner import finish_message, unlearned_message, winner_of

STARTUP_TRIALS = 4


@dataclass(frozen=True)
class TuneResult:
    """The search record (plain data), the model's parameter groups and, when a trial finished, the winning config and schedule."""

    record: dict
    groups: tuple[str, ...]
    config: TrainConfig | None
    timeline: Timeline | None


DIVERGED = -1e9  # the score of a loss that is not a number


def progress_score(train_loss: float) -> float:
    """What successive halving compares before a trial ends: its mean training loss over the last epoch, negated.

    Not the validation accuracy: in the middle of a schedule the LR is high and BatchNorm's running
    statistics lag the weights, so validation in eval mode is close to random (18% and 10% for two
    good LRs after the first of three epochs, 96-97% at the end); the training loss is measured
    with the batch's own statistics and follows the run.
    """
    return -train_loss if math.isfinite(train_loss) else DIVERGED


def why_stopped(study, number: int, reports: list[tuple[int, float, float]], run_epochs: int) -> str:
    """What successive halving stopped trial ``number`` of ``study`` for, in words; ``reports``: its (epochs, accuracy,
    training loss). Its mid-run accuracy beside finished trials' read as the LR's (24% at 0.042 beside 96% at 0.050),
    with nothing to say why it stopped (helper-74)."""
    if not reports:
        return ""
    epoch, _, loss = reports[-1]
    rivals = [t.intermediate_values[epoch] for t in study.get_trials(deepcopy=False)  # not a diverged one's marker
              if t.number != number and t.intermediate_values.get(epoch, DIVERGED) > DIVERGED]
    behind = f", behind {-max(rivals):.3g}, the best of {counted(len(rivals), 'other trial')} of its LR range there" if rivals else ""
    return (f"stopped after epoch {epoch} of {run_epochs}: training loss {loss:.3g}{behind}; "
            "its accuracy then is mid-run, not what it would have reached")


class Tuner:
    """Tunes ``timeline``'s peak LR (and optionally the weight decay) for ``config`` on ``dataset``."""

    def __init__(self, config: TrainConfig, dataset: PreparedDataset, timeline: Timeline, settings: TuneSettings, *,
                 runs_root: Path, tunes_root: Path, emit: Callable[[Event], None] = lambda event: None, resume: Resumed | None = None):
        settings.validate()
        self.config, self.dataset, self.timeline, self.settings = config, dataset, timeline, settings
        self.runs_root, self.emit, self.resumed = Path(runs_root), emit, resume
        self.folder = resume.folder if resume else Path(tunes_root) / f"{time.strftime('%Y%m%d-%H%M%S')}-{dataset.summary.name[:40]}-{uuid.uuid4().hex[:4]}"
        self.run_steps = timeline.total_steps
        self.run_epochs = 1  # known once the session is built
        self._cancel = threading.Event()
        self._current: TrialJob | None = None
        self.store_failure: str | None = None  # why a trial's run, or the search record, could not be written
        self.groups: tuple[str, ...] = ()
        self.budget = 0
        # What the search has done: a resumed tune's, read back from its record.
        self.spent = resume.spent if resume else 0
        self.trials: list[TrialRecord] = list(resume.trials) if resume else []
        self.interval: Interval | None = resume.interval if resume else None
        self.range_test: dict | None = resume.range_test if resume else None
        self.first_trials: list[dict[str, float]] = list(resume.first_trials) if resume else []
        self._started = time.perf_counter()

    def cancel(self) -> None:
        """Stop the trial in progress and start no other (callable from any thread); the best so far wins."""
        self._cancel.set()
        if self._current is not None:
            self._current.stop()

    def seconds(self) -> float:
        """How long the search has run, a resumed one's earlier time included."""
        return time.perf_counter() - self._started

    def run(self) -> TuneResult:
        """Range test, then trials until the budget is spent or the tune is cancelled (a resumed tune: trials alone)."""
        import optuna

        self._started = time.perf_counter() - (self.resumed.seconds if self.resumed else 0.0)
        session = build_session(replace(self.config, seed=self.settings.seed), self.dataset)
        self.groups = session.group_names
        self.run_epochs = math.ceil(self.run_steps / session.steps_per_epoch)
        seconds = step_seconds(session)  # the session is left as it was: the weights saved below are the initial ones
        budget = self._budget_steps(seconds)
        lock = self._prepare(session, seconds)
        try:
            return self._search(session, seconds, budget, optuna)
        finally:
            lock.release()

    def _prepare(self, session, seconds: float) -> RunLock:
        """Check the budget and the store, make the tune's folder with the initial weights (a new tune), and lock it."""
        if self.resumed:
            check_budget(self.resumed, self.budget, self.run_steps)
        else:
            check_room(self.settings, self.budget, self.run_steps, seconds * OVERHEAD / 60)  # before anything is spent or written
        RunStore.check_root(self.runs_root)
        if not self.resumed:
            self.folder.mkdir(parents=True)
            torch.save(session.model.state_dict(), self.folder / WEIGHTS)
        return RunLock(self.folder, "tune").acquire(then="go on with it")

    def _search(self, session, seconds: float, budget: int, optuna) -> TuneResult:
        baseline = self._baseline()
        self.emit(TuneStarted(budget, self.run_steps, (budget - self.spent) * seconds * OVERHEAD, tuple(self.settings.search), baseline,
                              str(self.folder), self.resumed is not None, self.spent, len(standing(self.trials))))
        if self.interval is None:
            self._range_test(session, baseline)
            if self._cancel.is_set():  # cancelled in its test, nothing is searched: the window shaded a band all the same
                self.interval = None
        if self.interval is not None:
            self.emit(TuneIntervalChosen(self.interval.low, self.interval.high, self.interval.source, self.spent))
            self._save("running")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        bounds = strata(self.interval.low, self.interval.high) if self.interval else []
        studies = [self._study(k, optuna) for k in range(len(bounds))]
        counts = tell_again(studies, bounds, self.trials, self._weight_decay_range(), progress_score, DIVERGED, optuna)
        # A resumed tune's: those it planned (or its range test, run again, plans now) less those that ran.
        first = still_to_try(self.trials, self.first_trials)
        while not self._cancel.is_set() and self.spent + self.run_steps <= budget and self._time_left(budget):
            k = stratum_of(bounds, first[0]["lr"]) if first else emptiest(counts)
            if first:
                studies[k].enqueue_trial(first.pop(0))
            counts[k] += 1
            self._trial(studies[k], bounds[k], self.folder / WEIGHTS, optuna)
            self._save("running")
        trials = standing(self.trials)  # a trial cut short and run again is no trial, nor your schedule's result
        best = winner_of(trials)
        labels = self.dataset.labels[self.dataset.val_index]
        chance, bar = chance_bar(labels)
        winner = best if best is None or clears(best.val_accuracy, bar) else None
        record = tune_record(self, "cancelled" if self._cancel.is_set() else "finished", winner)
        record["chance"] = {"accuracy": chance, "bar": bar}
        message = finish_message(trials, winner, self._cancel.is_set()) if winner is best else unlearned_message(best, chance, bar, len(labels))
        return self._finish(record, winner, message)

    def _range_test(self, session, baseline: dict[str, float]) -> None:
        """The sweep that sets the interval (at most a fifth of the budget) and the trials to run first."""
        iterations = sweep_iterations(self.budget, self.settings.range_test_iterations)
        test = run_range_test(session, RangeTestSettings(iterations=iterations, repeats=1), self.emit,
                              self.timeline, cancelled=self._cancel.is_set, run_steps=self.run_steps)
        self.spent += len(test.lrs) + (test.stop_reason == "nan") if test is not None else 0
        self.range_test = range_test_record(test)
        self.interval = search_interval(test, baseline["lr"], constant_shape=self._constant())
        self.first_trials = self._first_trials(test, baseline)

    def _save(self, state: str) -> None:
        """The record so far, after the interval and each trial: a tune killed then can go on (``engine.tune.resume``)."""
        try:
            save_record(self.folder, tune_record(self, state))
        except OSError as error:  # the trials' runs fail on a full disk too, and end the search; the final save says why
            self.emit(LogLine(f"the search record could not be written to {self.folder}: {error.strerror or error}", "warning"))

    def _study(self, index: int, optuna):
        """The Optuna study of one stratum: its own sampler (seeded apart from the others') and successive halving."""
        # A resumed tune's samplers are seeded apart from the first ones': seeded alike, each proposed again the LRs it had
        # proposed before the stop (0.0575 twice in a row).
        again = 7919 * len(self.trials)
        sampler = optuna.samplers.TPESampler(seed=self.settings.seed * STRATA + index + again, n_startup_trials=STARTUP_TRIALS)
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=self.first_rung, reduction_factor=self.settings.reduction_factor)
        return optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)

    def _first_trials(self, test, baseline: dict[str, float]) -> list[dict[str, float]]:
        """The user's schedule as it is, then the range test's recommendation (when it made one, and it differs)."""
        first = [dict(baseline)]
        if test is not None and test.recommendation is not None and not math.isclose(self._recommended(test), baseline["lr"]):
            first.append({**baseline, "lr": self._recommended(test)})
        return first

    # -- one trial --------------------------------------------------------------------------

    def _trial(self, study, bounds: tuple[float, float], weights: Path, optuna) -> None:
        """One trial of ``study`` (a stratum), its peak LR within ``bounds``."""
        trial, number = study.ask(), len(self.trials)
        params = {"lr": trial.suggest_float("lr", *bounds, log=True)}
        if "weight_decay" in self.settings.search:
            low, high = self._weight_decay_range()
            params["weight_decay"] = trial.suggest_float("weight_decay", low, high, log=True)
        seed = (self.settings.seed * 7919 + number + 1) % (2**31 - 1)
        config = replace(self.config, lr=params["lr"], seed=seed, weights=str(weights),
                         weight_decay=params.get("weight_decay", self.config.weight_decay))
        reports: list[tuple[int, float, float]] = []

        def check(epoch: EpochEnded) -> bool:
            accuracy = epoch.val_accuracy if math.isfinite(epoch.val_accuracy) else 0.0
            reports.append((epoch.epoch + 1, accuracy, epoch.train_loss))
            self.emit(TuneTrialReported(number, epoch.epoch + 1, epoch.step, accuracy, epoch.val_loss, epoch.train_loss))
            if epoch.step >= self.run_steps:
                return False
            trial.report(progress_score(epoch.train_loss), epoch.epoch + 1)
            return trial.should_prune()

        self._current = TrialJob(config, self.dataset, RunSchedule(self.timeline.with_peak_lr(params["lr"])), self.runs_root, check,
                                 purpose=trial_purpose(number, params, self.folder.name))
        if self._cancel.is_set():
            self._current.stop()
        self.emit(TuneTrialStarted(number, params, seed, str(self._current.run_dir)))
        run = self._current.run()
        self._current = None
        self.spent += run.steps
        if run.store_failure:  # the next trial could not be stored either: end the search with the best so far
            self.store_failure = run.store_failure
            self.emit(LogLine(f"the tune stops: {run.store_failure}", "warning"))
            self._cancel.set()
        state = self._tell(study, trial, run, reports, optuna)
        why = why_stopped(study, trial.number, reports, self.run_epochs) if state == "pruned" else run.why
        self.trials.append(TrialRecord(number, params, seed, state, run.val_accuracy, run.val_loss, run.steps, run.run_dir, reports, why))
        self.emit(TuneTrialFinished(number, params, state, run.val_accuracy, run.val_loss, run.steps, run.run_dir, self.spent,
                                    self.budget, why))

    def _tell(self, study, trial, run, reports, optuna) -> str:
        """Tell Optuna how the trial ended; returns its state in the record's words."""
        if run.fault:
            # The worst score: 0.0 was a training loss of 0, the best, since scores became losses, and TPE ranks a pruned
            # trial by its last one: a diverged peak LR read as a good one to sample near.
            trial.report(progress_score(math.nan), max(1, len(reports) + 1))
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return "diverged"
        if run.stopped_early:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return "pruned"
        if run.steps < self.run_steps:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return "cancelled"
        study.tell(trial, run.val_accuracy if math.isfinite(run.val_accuracy) else 0.0)
        return "complete"

    # -- budget and parameters ------------------------------------------------------------------

    @property
    def first_rung(self) -> int:
        """The epoch at which successive halving first compares trials: a third of the run. After one epoch of a
        one-cycle run the LR is still rising, so the highest peaks lead by training loss and good lower peaks were
        stopped there (measured in docs/tuning-quality.md: Adam's best peaks, a third of the default, never finished)."""
        return max(1, math.ceil(self.run_epochs / 3))

    def _budget_steps(self, seconds: float) -> int:
        """The budget in training steps: full runs, or the minutes converted at the measured speed; a resumed tune's
        own unless it was given another."""
        if self.resumed and self.settings == self.resumed.settings:
            self.budget = self.resumed.budget_steps
            return self.budget
        steps = self.settings.budget_runs * self.run_steps
        if self.settings.budget_minutes is not None:
            steps = self.settings.budget_minutes * 60 / (seconds * OVERHEAD)
        self.budget = int(steps)
        return self.budget

    def _time_left(self, budget: int) -> bool:
        """With a budget in minutes: whether one more full run fits in the time left, at the speed seen so far."""
        if self.settings.budget_minutes is None or not self.spent:
            return True
        per_step = self.seconds() / self.spent
        return self.seconds() + per_step * self.run_steps <= self.settings.budget_minutes * 60

    def _baseline(self) -> dict[str, float]:
        """The schedule as the user has it: the first trial, so the winner is never worse than not tuning."""
        baseline = {"lr": self.timeline.peak_lr()}
        if "weight_decay" in self.settings.search and self.config.weight_decay > 0:
            baseline["weight_decay"] = self.config.weight_decay
        return baseline

    def _weight_decay_range(self) -> tuple[float, float]:
        low, high = WEIGHT_DECAY_RANGE
        current = self.config.weight_decay
        return (min(low, current), max(high, current)) if current > 0 else (low, high)

    def _constant(self) -> bool:
        """Whether the schedule holds one LR throughout (then the range test's constant LR is its peak)."""
        return all(s.kind == "constant" for p in self.timeline.pieces for s in p.schedule.segments)

    def _recommended(self, test) -> float:
        recommendation = test.recommendation
        return recommendation.constant_lr if self._constant() else recommendation.one_cycle_max_lr

    def _finish(self, record: dict, winner: TrialRecord | None, message: str) -> TuneResult:
        try:
            save_record(self.folder, record)
        except OSError as error:  # a full disk must not cost the result: it is still reported and exported
            self.store_failure = self.store_failure or f"the search record could not be written to {self.folder}: {error.strerror or error}"
            self.emit(LogLine(self.store_failure, "warning"))
        self.emit(TuneFinished(record, self._cancel.is_set(), message))
        if winner is None:
            return TuneResult(record, self.groups, None, None)
        config = replace(self.config, lr=winner.params["lr"], weight_decay=winner.params.get("weight_decay", self.config.weight_decay))
        return TuneResult(record, self.groups, config, self.timeline.with_peak_lr(winner.params["lr"]))
