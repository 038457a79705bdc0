"""Going on with a tune that stopped before its budget was spent: Ctrl-C, a closed window, a killed process.

A tune writes its record after its range test and after every trial (``state`` "running" until it
ends), so what it measured survives however it stopped. Going on reads that record back: the same
initial weights, interval, strata and settings; each finished trial is told to its stratum's Optuna
study again (its intermediate scores too, so successive halving compares new trials with it); the
trials it planned first and has not run yet come first; a trial the stop cut short runs again.
The budget is the one it was given unless a larger one is asked for. Plain data only: the record is
JSON, the weights are loaded with ``weights_only=True`` by the trials' runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import TrainConfig
from ..errors import ConfigError, ScheduleFileError
from ..schedules.codec import timeline_from_dict
from ..schedules.timeline import Timeline
from .budget import larger_budget
from .folders import RECORD, WEIGHTS, CannotResume, read_record
from .interval import Interval
from .record import FORMAT, TrialRecord, standing
from .settings import TuneSettings
from .strata import stratum_of


@dataclass(frozen=True)
class Resumed:
    """What a tune had done when it stopped, read back from its record."""

    folder: Path
    config: TrainConfig
    settings: TuneSettings
    timeline: Timeline
    dataset: dict[str, Any]
    budget_steps: int
    spent: int
    seconds: float
    interval: Interval | None  # None: it stopped in its range test, which runs again
    range_test: dict[str, Any] | None
    first_trials: list[dict[str, float]]
    trials: list[TrialRecord]
    state: str


def read_resumable(folder: Path) -> Resumed:
    """The record of the tune in ``folder``, checked; CannotResume says why it cannot go on."""
    record_path, weights = folder / RECORD, folder / WEIGHTS
    if not record_path.is_file():
        raise CannotResume(f"{folder.name}: stopped before its range test ended, so nothing of it was kept; start a new tune")
    if not weights.is_file():
        raise CannotResume(f"{folder.name}: its initial weights ({weights.name}) are gone, so new trials could not start where "
                           "the others did; start a new tune")
    try:
        record = read_record(folder)
        if record.get("format") != FORMAT:
            raise ValueError("not an lrscope tune record")
        if "schedule" not in record or "state" not in record:
            raise CannotResume(f"{folder.name}: recorded by an older lrscope, which did not keep what going on needs; start a new tune")
        return _resumed(folder, record)
    except CannotResume:
        raise
    except (OSError, ValueError, KeyError, TypeError, ConfigError, ScheduleFileError) as error:
        why = f"it has no {error.args[0]}" if isinstance(error, KeyError) else error  # not "('config')"
        raise CannotResume(f"{record_path}: damaged ({why}); it cannot go on, start a new tune") from None


def _resumed(folder: Path, record: dict[str, Any]) -> Resumed:
    interval = record.get("interval")
    return Resumed(
        folder=folder, config=TrainConfig.from_dict(record["config"]), settings=TuneSettings.from_dict(record["settings"]),
        timeline=timeline_from_dict(record["schedule"], "schedule"), dataset=dict(record["dataset"]),
        budget_steps=int(record["budget"]["steps"]), spent=int(record["budget"]["spent_steps"]), seconds=float(record["seconds"]),
        interval=None if interval is None else Interval(float(interval["low"]), float(interval["high"]), str(interval["source"])),
        range_test=record.get("range_test"), first_trials=[{k: float(v) for k, v in t.items()} for t in record["first_trials"]],
        trials=all_trials(record), state=str(record["state"]))


def all_trials(record: dict[str, Any]) -> list[TrialRecord]:
    """Every trial ``record`` holds, by number: the tune's, and those cut short that it ran again (numbers go on from them)."""
    trials = [TrialRecord.from_dict(t) for t in record["trials"] + record.get("run_again", [])]
    return sorted(trials, key=lambda t: t.number)


def check_budget(resumed: Resumed, budget_steps: int, run_steps: int) -> None:
    """CannotResume when ``budget_steps`` leaves no room for one more trial of ``run_steps`` after what was spent."""
    runs = larger_budget(resumed.spent, budget_steps, run_steps)
    if runs is not None:
        raise CannotResume(f"{resumed.folder.name}: spent {resumed.spent} of its {budget_steps} training steps, no room for "
                           f"another trial of {run_steps}; give a larger budget to go on (--budget {runs} or more full runs)")


def standing_going_on(trials: list[TrialRecord]) -> list[TrialRecord]:
    """The trials that stand from the moment the tune goes on: those of ``standing`` less the ones cut short, which it
    runs again first (their reruns take their place)."""
    return [t for t in standing(trials) if t.state != "cancelled"]


def still_to_try(trials: list[TrialRecord], first_trials: list[dict[str, float]]) -> list[dict[str, float]]:
    """The trials to run first: those a stop cut short (and not run again yet), then those planned first
    (``first_trials``) that never ran."""
    cut = [t.params for t in standing(trials) if t.state == "cancelled"]
    ran = [t.params for t in trials if t.state != "cancelled"]
    planned = [p for p in first_trials if not any(math.isclose(p["lr"], r["lr"], rel_tol=1e-9) for r in ran)]
    return cut + [p for p in planned if p not in cut]


def tell_again(studies: list, bounds: list[tuple[float, float]], trials: list[TrialRecord], weight_decay: tuple[float, float],
               score, diverged: float, optuna) -> list[int]:
    """Each trial that ran to an end (finished, stopped early, diverged) told to its stratum's study as it happened,
    its scores at each epoch included; returns the trials per stratum. A trial cut short is left out: it runs again."""
    counts = [0] * len(bounds)
    for trial in trials:
        if trial.state == "cancelled":
            continue
        k = stratum_of(bounds, trial.params["lr"])
        counts[k] += 1
        studies[k].add_trial(_frozen(trial, bounds[k], weight_decay, score, diverged, optuna))
    return counts


def _frozen(trial: TrialRecord, bounds: tuple[float, float], weight_decay: tuple[float, float], score, diverged: float, optuna):
    """``trial`` as Optuna's FrozenTrial: a finished one's last epoch was not reported (it was scored by its accuracy)."""
    lr = trial.params["lr"]
    distributions = {"lr": optuna.distributions.FloatDistribution(min(bounds[0], lr), max(bounds[1], lr), log=True)}
    if "weight_decay" in trial.params:
        decay = trial.params["weight_decay"]
        distributions["weight_decay"] = optuna.distributions.FloatDistribution(min(weight_decay[0], decay), max(weight_decay[1], decay), log=True)
    reports = trial.reports[:-1] if trial.state == "complete" else trial.reports
    values = {epochs: score(loss) for epochs, _, loss in reports}
    states = optuna.trial.TrialState
    if trial.state == "complete":
        accuracy = trial.val_accuracy if math.isfinite(trial.val_accuracy) else 0.0
        return optuna.trial.create_trial(params=trial.params, distributions=distributions, value=accuracy, intermediate_values=values)
    if trial.state == "diverged":
        values[max(1, len(reports) + 1)] = diverged
    return optuna.trial.create_trial(params=trial.params, distributions=distributions, intermediate_values=values, state=states.PRUNED)
