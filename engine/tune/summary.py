"""A tune on one line, as `lrscope runs` and the window's Runs tab list it: its trial runs (a run of a trial it ran
again is none of them) and its winner with the score `lrscope tune` chose it by.

The tab showed its luckiest trial's own accuracy, a number the tune's closing line never gave, and counted a trial cut
short and run again as one of its trials."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..text import counted
from .folders import read_record
from .record import TrialRecord
from .winner import smoothed_by_number, winner_words


@dataclass(frozen=True)
class TuneSummary:
    """How many trial runs stand, how many runs of trials it ran again it leaves, and its winner."""

    trials: int
    ran_again: int
    score: float  # the winner's accuracy averaged with its neighbours in LR (NaN: no winner)
    winner: str  # "best of 4 trials: peak LR 0.0512 scored 96.10%, 95.20% averaged …", as its closing line; or why none

    def runs_words(self) -> str:
        """``4 trial runs (and 1 run of a trial it ran again)``."""
        cut = f" (and {counted(self.ran_again, 'run')} of a trial it ran again)" if self.ran_again else ""
        return f"{counted(self.trials, 'trial run')}{cut}"


def summarize_tune(folder: Path, runs_of_tune: list, again: dict[str, str]) -> TuneSummary:
    """The tune whose record is in ``folder``, its trial runs ``runs_of_tune`` (``RunInfo``) and the runs of them that
    it ran again (``runs_again``)."""
    standing = sum(run.run_id not in again for run in runs_of_tune)
    score, winner = _winner(Path(folder))
    return TuneSummary(standing, len(runs_of_tune) - standing, score, winner)


def _winner(folder: Path) -> tuple[float, str]:
    """The winner's score and words, as the tune's closing line gives them (from the trials that stand, in its record)."""
    try:
        record = read_record(folder)
        trials = [TrialRecord.from_dict(t) for t in record["trials"]]
        winner = TrialRecord.from_dict(record["winner"]) if record.get("winner") else None
    except (OSError, ValueError, KeyError, TypeError):
        return math.nan, "its search record cannot be read"
    if winner is None or not trials:
        return math.nan, "no winner yet" if record.get("state") == "running" else "no winner"
    return smoothed_by_number(trials).get(winner.number, math.nan), winner_words(trials, winner)
