"""The search record: every trial with its parameters, fate and run folder, the interval, the budget, the winner.

Plain data, written as ``tune.json`` in the tune's folder and into the exported schedule file.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomically
from ..schedules.codec import timeline_to_dict
from ..text import counted
from .folders import RECORD
from .strata import STRATA
from .winner import KEEP_MARGIN, smoothed_by_number

FORMAT = "lrscope.tune"
VERSION = 1
# A trial's state in the user's words, where the record keeps Optuna's ("pruned" is jargon to most).
STATE_WORDS = {"pruned": "stopped early"}


def state_words(state: str) -> str:
    """How the window and the command line say a trial's ``state``."""
    return STATE_WORDS.get(state, state)


def trial_purpose(number: int, params: dict[str, float], tune: str) -> str:
    """What a trial's run is, for the runs list (a trial among a tune's runs looked like any other run); the tune's
    name last, where ``tune_of`` reads it."""
    tried = f"peak LR {params['lr']:.3g}" + (f", weight decay {params['weight_decay']:.3g}" if "weight_decay" in params else "")
    return f"tune trial {number}, {tried} (tune {tune})"  # what matters first: a narrow column cuts the end


def tune_of(purpose: str) -> str | None:
    """The tune whose trial a run with ``purpose`` is (None for a run of the user's own)."""
    match = TRIAL_PURPOSE.fullmatch(purpose)
    return match.group(2) if match else None


def trial_number(purpose: str) -> int:
    """The number of the trial a run with ``purpose`` is (-1 for a run of the user's own)."""
    match = TRIAL_PURPOSE.fullmatch(purpose)
    return int(match.group(1)) if match else -1


TRIAL_PURPOSE = re.compile(r"tune trial (\d+), .* \(tune (\S+)\)")


@dataclass(frozen=True)
class TrialRecord:
    """One trial: what it tried, how it ended, what it reached; each epoch's (epochs, val accuracy, train loss)."""

    number: int
    params: dict[str, float]
    seed: int
    state: str
    val_accuracy: float
    val_loss: float
    steps: int
    run_dir: str
    reports: list[tuple[int, float, float]]
    why: str = ""  # a trial stopped early: what it fell behind; one that ended on damaged weights: its last validation

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON has no inf: an unknown loss is null)."""
        data = asdict(self)
        data["val_accuracy"], data["val_loss"] = _number(self.val_accuracy), _number(self.val_loss)
        data["reports"] = [[epochs, _number(accuracy), _number(loss)] for epochs, accuracy, loss in self.reports]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialRecord:
        """A trial from its record (null, an unknown number, back to NaN); KeyError or TypeError for a damaged one."""
        reports = [(int(epochs), _float(accuracy), _float(loss)) for epochs, accuracy, loss in data["reports"]]
        return cls(int(data["number"]), {k: float(v) for k, v in data["params"].items()}, int(data["seed"]), str(data["state"]),
                   _float(data["val_accuracy"]), _float(data["val_loss"]), int(data["steps"]), str(data["run_dir"]), reports,
                   str(data.get("why", "")))


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def ran_again(trial: TrialRecord, trials: list[TrialRecord]) -> TrialRecord | None:
    """The trial of ``trials`` that ran ``trial`` again: going on with a tune runs the parameters of a trial that Ctrl-C
    cut short first, numbered on. None while none did."""
    if trial.state != "cancelled":
        return None
    return next((t for t in trials if t.number > trial.number and t.params == trial.params), None)


def standing(trials: list[TrialRecord]) -> list[TrialRecord]:
    """The tune's trials: ``trials`` less those cut short and run again, whose rerun stands in their place. Kept, the
    cut-short run of your schedule (18% after 42 of 132 steps) was the baseline every other trial beat."""
    return [t for t in trials if ran_again(t, trials) is None]


def range_test_record(test) -> dict[str, Any] | None:
    """What a tune keeps of its range test: its recommendation or why none, its length, the steps it took."""
    # Its own length beside the steps it took: the settings' range_test_iterations is a cap, and a small budget's
    # sweep is shorter (a fifth of the budget), which the record did not say (helper-67: "100" beside 44 steps).
    return None if test is None else {"recommended": test.to_dict()["recommended"], "why_none": test.why_none,
                                      "iterations": test.settings.get("iterations"), "steps": len(test.lrs)}


def tune_record(tuner, state: str, winner: TrialRecord | None = None) -> dict[str, Any]:
    """The whole search as plain data; ``state`` is "running" (written after each trial, so a killed tune can go on),
    "cancelled" or "finished"."""
    settings, trials = tuner.settings, standing(tuner.trials)
    smoothed = smoothed_by_number(trials)

    def scored(trial: TrialRecord) -> dict[str, Any]:  # the score the winner was chosen by, beside the run's own
        return {**trial.to_dict(), "smoothed_accuracy": smoothed.get(trial.number)}

    return {
        "format": FORMAT, "version": VERSION, "folder": str(tuner.folder),
        "dataset": {"name": tuner.dataset.summary.name, "fingerprint": tuner.dataset.summary.fingerprint},
        "config": tuner.config.to_dict(), "settings": settings.to_dict(),
        "method": {"strata": f"the interval cut into {STRATA} equal parts of log LR, each an Optuna study of its own; "
                             "the part with the fewest trials goes next",
                   "sampler": f"optuna TPESampler per part (seeds {settings.seed * STRATA} to {settings.seed * STRATA + STRATA - 1})",
                   "pruner": f"optuna SuccessiveHalvingPruner per part (min_resource={counted(tuner.first_rung, 'epoch')}, "
                             f"reduction_factor={settings.reduction_factor})",
                   "first_trials": "the schedule as given, then the range test's recommendation",
                   "winner": "the complete trial with the best accuracy averaged with its neighbours' (Gaussian, 0.25 decades); "
                             f"the schedule as given unless that beats it by {100 * KEEP_MARGIN:g} points"},
        "budget": {"steps": tuner.budget, "run_steps": tuner.run_steps, "runs": tuner.budget / tuner.run_steps, "spent_steps": tuner.spent},
        "interval": tuner.interval.to_dict() if tuner.interval else None, "range_test": tuner.range_test,
        # What `lrscope tune --resume` needs to go on: the schedule whose peak is searched, the trials planned first.
        "schedule": timeline_to_dict(tuner.timeline), "first_trials": tuner.first_trials,
        "trials": [scored(t) for t in trials],
        # Their runs stay (their steps were spent, `lrscope delete --tune` removes them), and going on numbers on from them.
        "run_again": [t.to_dict() for t in tuner.trials if ran_again(t, tuner.trials)],
        "baseline": scored(trials[0]) if trials else None,
        "winner": scored(winner) if winner else None,
        "seconds": tuner.seconds(), "state": state, "cancelled": state == "cancelled",
    }


def save_record(folder: Path, record: dict[str, Any]) -> Path:
    """Write ``tune.json`` in ``folder``."""
    path = Path(folder) / RECORD
    write_text_atomically(path, json.dumps(record, indent=1, allow_nan=False) + "\n")
    return path
