"""Which trial wins: the best accuracy once each trial's result is averaged with its neighbours' in log LR.

One run's accuracy is one noisy sample (a seed moves it by a point on the digits, by eight after one
epoch), so the plain maximum of a handful of runs rewards luck. Trials near each other in log LR
measure nearly the same thing; a Gaussian-weighted mean over them (a local constant fit, like the
range test's smoothing) keeps the signal and averages the noise. The winner is always a trial that
ran, so its run can be opened and its schedule exported as it was trained.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..text import counted

if TYPE_CHECKING:  # the record names the winner's rule, so it imports this module
    from .record import TrialRecord

# Bandwidth in decades of LR (and of weight decay, when it is searched).
WIDTH_DECADES = 0.25
# The user's schedule (the first trial) stays unless another trial beats it by this much accuracy, smoothed. A smoothed
# score averages two or three trials, so two scores differ by about half a point from noise alone where one run's seed
# std is 0.7 (the digits): below that, a switch is a coin toss. A wider margin misses the real gains of half a point to
# a point that an optimum away from your schedule gives (Adam, no augmentation); docs/tuning-quality.md measures 0, 0.5,
# 1 and 2 points on eleven variants.
KEEP_MARGIN = 0.005


def smoothed_accuracies(trials: list[TrialRecord]) -> list[float]:
    """Each trial's accuracy averaged with the other trials', weighted by their closeness in log parameters."""
    points = np.array([[math.log10(v) for v in t.params.values()] for t in trials])
    accuracies = np.array([t.val_accuracy for t in trials])
    distances = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=2) / WIDTH_DECADES
    weights = np.exp(-0.5 * distances**2)
    return list((weights @ accuracies) / weights.sum(1))


def smoothed_by_number(trials: list[TrialRecord]) -> dict[int, float]:
    """The smoothed accuracy of each complete trial, by trial number: the score the winner is chosen by."""
    complete = [t for t in trials if t.state == "complete"]
    return dict(zip((t.number for t in complete), smoothed_accuracies(complete))) if complete else {}


def tried(trial: TrialRecord) -> str:
    """``peak LR 0.05``, with the weight decay when it was searched (the line never said which won)."""
    decay = f", weight decay {trial.params['weight_decay']:.3g}" if "weight_decay" in trial.params else ""
    return f"peak LR {trial.params['lr']:.3g}{decay}"


def scored(trial: TrialRecord, scores: dict[int, float]) -> str:
    """``96.10%, 95.20% averaged with its neighbours in LR``: its run's accuracy, then its score in ``scores``
    (``smoothed_by_number``) when it has one."""
    smoothed = f", {100 * scores[trial.number]:.2f}% averaged with its neighbours in LR" if trial.number in scores else ""
    return f"{100 * trial.val_accuracy:.2f}%{smoothed}"


def winner_words(trials: list[TrialRecord], winner: TrialRecord) -> str:
    """``best of 4 trials: peak LR 0.05 scored …`` or ``your schedule stays (peak LR 0.02, …)``: how the tune's closing
    line begins, and what `lrscope runs` and the Runs tab say of the tune."""
    scores = smoothed_by_number(trials)
    if winner.number == trials[0].number:
        return f"your schedule stays ({tried(winner)}, {scored(winner, scores)})"
    return f"best of {counted(len(trials), 'trial')}: {tried(winner)} scored {scored(winner, scores)}"


def finish_message(trials: list[TrialRecord], winner: TrialRecord | None, cancelled: bool = False) -> str:
    """The line that ends a tune. It shows both scores, since the smoothed one decides: a winner whose own run
    scored below your schedule's can still lead once each is averaged with its neighbours in LR. ``cancelled``: the
    user ended it, not its budget."""
    if winner is None:
        return no_winner_message(trials)
    yours = trials[0]
    if winner is yours:
        # Only a trial that ran to the end can beat yours: one stopped early or cancelled was never in the running.
        rivals = sum(t.state == "complete" for t in trials) - 1
        if not rivals:
            # Cancelled, the budget was not what ended it: "a larger budget tries more" was wrong advice.
            more = "it was cancelled before another trial finished" if cancelled else "a larger budget tries more"
            return f"{winner_words(trials, winner)}: no other trial ran to the end, so nothing was compared with it ({more})"
        return (f"{winner_words(trials, winner)}: none of the {counted(rivals, 'other complete trial')} beat it by "
                f"{100 * KEEP_MARGIN:g} points once averaged with its neighbours")
    return (f"{winner_words(trials, winner)} (your schedule: {scored(yours, smoothed_by_number(trials))}); the averaged "
            "score decides, since one run's accuracy is one noisy sample")


def no_winner_message(trials: list[TrialRecord]) -> str:
    """Why no trial could win: none finished, or those that ran diverged or ended on damaged weights, and then what to
    do (trials that ran to their end on damaged weights were told "no trial finished")."""
    diverged = [t for t in trials if t.state == "diverged"]
    if not diverged:
        return "no trial finished, so there is no winner"
    lrs = sorted(t.params["lr"] for t in diverged)
    ended = "diverged or ended on damaged weights (peak LR " + (f"{lrs[0]:.3g})" if len(lrs) == 1 else f"{lrs[0]:.3g} to {lrs[-1]:.3g})")
    others = len(trials) - len(diverged)
    if others:
        return (f"no trial finished sound: {counted(len(diverged), 'trial')} {ended}, the other "
                f"{'trial' if others == 1 else counted(others, 'trial')} stopped before the end, so there is no winner")
    # Your schedule is the first trial, and the interval searched always holds its peak: a lower one is tried for sure.
    lower = "tune again from a lower peak LR (your schedule's is always tried first)"
    if len(trials) == 1:
        return (f"the only trial, your schedule, {ended}, so there is no winner: that LR is too high for this run; {lower}, "
                "or with a larger budget, so that other LRs are tried too")
    return f"all {len(trials)} trials {ended}, so there is no winner: those LRs are too high for this run; {lower}"


def unlearned_message(best: TrialRecord, chance: float, bar: float, count: int) -> str:
    """Why a tune whose best trial scored no better than chance has no winner, and what to check."""
    return (f"no trial learned: the best, peak LR {best.params['lr']:.3g}, scored {100 * best.val_accuracy:.1f}%, not clearly "
            f"above the {100 * chance:.1f}% of always answering the most common class ({100 * bar:.1f}% would be, over "
            f"{count} validation images), so no schedule is chosen or exported. Check that each class folder holds that "
            "class's images, or give the runs more epochs")


def winner_of(trials: list[TrialRecord], keep_margin: float = KEEP_MARGIN,
              score: Callable[[list[TrialRecord]], list[float]] = smoothed_accuracies) -> TrialRecord | None:
    """The complete trial with the best smoothed accuracy (ties: the lower validation loss), unless the user's schedule
    (the first trial, when complete) is within ``keep_margin`` of it: then the schedule stays as it is. ``score``: how
    the complete trials' accuracies are smoothed (the study screens other ways on stored tunes)."""
    complete = [t for t in trials if t.state == "complete"]
    if not complete:
        return None
    scores = score(complete)
    best = max(range(len(complete)), key=lambda i: (round(scores[i], 12), -complete[i].val_loss))
    if complete[0] is trials[0] and scores[best] - scores[0] < keep_margin:
        return complete[0]
    return complete[best]
