"""How a tune's budget is shared: the range test's sweep first, then whole trials (none starts that it cannot pay for)."""

from __future__ import annotations

import math

from ..errors import LrscopeError
from .settings import TuneSettings

# Validation, the store and building each trial's job cost about this much on top of the training steps.
OVERHEAD = 1.25
# The sweep that sets the interval spends at most this share of the budget (and at least MIN_SWEEP steps).
SWEEP_SHARE, MIN_SWEEP = 0.2, 30


# Below this many full trials after the range test a search holds your schedule and about one other trial (measured on
# the digits, 2 epochs: room for two gave one complete trial and one stopped early, room for three gave three complete).
ROOMY_TRIALS = 3


def small_budget_note(budget_runs: float, run_steps: int, cap: int = TuneSettings.range_test_iterations) -> str:
    """What to expect of a budget too small to compare LRs ("" for one that is not): how many full trials fit once the
    range test (at most ``cap`` steps) has had its share, and the budget that fits enough. Said in full runs alone, it
    was wrong for short runs, where the range test's 30 steps are a large part of each run ("4 or more let it compare
    several LRs", and 4 ran one trial)."""
    budget = int(budget_runs * run_steps)
    sweep = sweep_iterations(budget, cap)
    full = (budget - sweep) // run_steps
    if full >= ROOMY_TRIALS:
        return ""
    compare = f"{_up(smallest_budget(run_steps, cap, ROOMY_TRIALS) / run_steps):g} or more let it compare several LRs"
    if full <= 1:
        return (f"at {round(budget_runs, 1):g} full runs the range test ({sweep} steps) leaves room for one full run of {run_steps} steps, "
                f"your schedule's, so the search will keep it; {compare}")
    return f"at {round(budget_runs, 1):g} full runs the search has room for your schedule and about one other trial, so it will most likely keep yours; {compare}"


class BudgetTooSmall(LrscopeError):
    """A budget that leaves no room for one trial once the range test has spent its share."""


def sweep_iterations(budget_steps: int, cap: int) -> int:
    """The range test's length in a tune of ``budget_steps`` (at most ``cap``)."""
    return int(min(cap, max(MIN_SWEEP, SWEEP_SHARE * budget_steps)))


def smallest_budget(run_steps: int, cap: int, trials: int = 1) -> int:
    """The fewest budget steps that pay for the sweep and ``trials`` full trials of ``run_steps``. Each candidate solves
    one piece of the sweep's length (its floor, its share, its cap); the budget left after the sweep grows with the
    budget, so the smallest candidate that fits is the smallest budget."""
    need = trials * run_steps
    candidates = (need + MIN_SWEEP, math.ceil(need / (1 - SWEEP_SHARE)), need + cap)
    return min(b for b in candidates if b - sweep_iterations(b, cap) >= need)


def check_room(settings: TuneSettings, budget_steps: int, run_steps: int, minutes_per_step: float) -> None:
    """BudgetTooSmall, in the budget's own unit (full runs, or minutes at the measured ``minutes_per_step``), when the
    budget pays for no trial after the range test: the search would have ended with nothing to show."""
    cap = settings.range_test_iterations
    smallest = smallest_budget(run_steps, cap)
    if budget_steps >= smallest:
        return
    short = f"no room for a trial of {run_steps} training steps after the range test's {sweep_iterations(budget_steps, cap)}"
    if settings.budget_minutes is None:
        raise BudgetTooSmall(f"a budget of {settings.budget_runs:g} full runs has {short}; give at least {_up(smallest / run_steps):g} full runs")
    raise BudgetTooSmall(f"{settings.budget_minutes:g} minutes pay for about {budget_steps} training steps here: {short}; "
                         f"give at least {_up(smallest * minutes_per_step):g} minutes")


def _up(value: float) -> float:
    """``value`` rounded up to two significant figures, so that the budget said is enough."""
    digits = 1 - math.floor(math.log10(value))
    return math.ceil(value * 10**digits) / 10**digits


def larger_budget(spent: int, budget_steps: int, run_steps: int) -> int | None:
    """The full runs a stopped tune's budget must give to go on (None: it has room for another trial of ``run_steps``)."""
    return None if spent + run_steps <= budget_steps else math.ceil(spent / run_steps + 1)
