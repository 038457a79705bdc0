"""The ways of picking a max LR that the study compares, each run per seed from the variant's fresh weights.

Each method gives, per seed, the one-cycle max LR it chose (or None, with why) and what it spent
in training steps; the study then trains the variant at that LR with the same seed. Without a
recommendation a user keeps the default, so that run is the default's.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from engine.range_test.result import RangeTestResult
from engine.range_test.runner import run_range_test
from engine.range_test.settings import RangeTestSettings
from engine.training.job import default_run_schedule
from engine.training.session import build_session
from engine.tune.record import TrialRecord
from engine.tune.search import Tuner
from engine.tune.settings import TuneSettings
from engine.tune.winner import KEEP_MARGIN, winner_of

from .ledger import Ledger
from .runs import config, train
from .variants import Variant

# Bump a method's version when its code changes, so the ledger measures it again.
VERSIONS = {"default": 1, "sweep": 1, "probe": 1, "repeated sweep": 1, "validation sweep": 2, "tune": 4}
TUNE_BUDGET_RUNS = 9.0
RANGE_TESTS = {
    "sweep": RangeTestSettings(repeats=1),
    "probe": RangeTestSettings(mode="probe", repeats=1),
    "repeated sweep": RangeTestSettings(repeats=3),
    "validation sweep": RangeTestSettings(repeats=3, validation=True),
}
METHODS = ("default", *RANGE_TESTS, "tune")


def fresh_range_test(variant: Variant, dataset, settings: RangeTestSettings, seed: int) -> tuple[RangeTestResult, int]:
    """A range test of the variant's run from its fresh weights with ``seed``, and the length of that run in steps."""
    session = build_session(config(variant, dataset, variant.default_lr, seed), dataset)
    run_steps = session.steps_per_epoch * session.config.epochs
    return run_range_test(session, settings, lambda event: None, run_steps=run_steps), run_steps


def range_test_choice(variant: Variant, dataset, settings: RangeTestSettings, seed: int) -> dict:
    """The one-cycle max LR a range test from fresh weights recommends (None and why, when it does not)."""
    result, run_steps = fresh_range_test(variant, dataset, settings, seed)
    recommendation = result.recommendation
    steps = sum(len(part.lrs) for part in (result.repeats or (result,)))
    if settings.mode == "probe":
        steps = settings.repeats * settings.probe_count * settings.for_run(run_steps).probe_steps
    return {"lr": recommendation.one_cycle_max_lr if recommendation else None, "steps": int(steps), "why_none": result.why_none,
            "low_confidence": bool(recommendation and recommendation.low_confidence),
            "spread": recommendation.spread if recommendation else None}


def tune_choice(variant: Variant, dataset, seed: int, scratch: Path) -> dict:
    """The winner of ``lrscope tune`` at the study's budget (its trials stored in a scratch folder, then removed)."""
    base = config(variant, dataset, variant.default_lr, seed)
    session_steps = build_session(base, dataset).steps_per_epoch
    timeline = default_run_schedule(base, session_steps).timeline
    folder = scratch / f"tune-{variant.name}-{seed}"
    tuner = Tuner(base, dataset, timeline, TuneSettings(budget_runs=TUNE_BUDGET_RUNS, seed=seed),
                  runs_root=folder / "runs", tunes_root=folder / "tunes")
    try:
        record = tuner.run().record
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    winner = record["winner"]
    return {"lr": winner["params"]["lr"] if winner else None, "steps": record["budget"]["spent_steps"],
            "budget_steps": record["budget"]["steps"], "interval": record["interval"],
            "trials": [{k: t[k] for k in ("params", "state", "val_accuracy", "val_loss", "steps")} for t in record["trials"]]}


def tune_winner(trials: list[dict], default_lr: float, keep_margin: float = KEEP_MARGIN) -> float | None:
    """The one-cycle max LR of the tune's winner by today's rule (``engine.tune.winner``), from the trials the ledger
    kept: the rule is a function of the trials' results alone, so a change of it needs no trial to run again.

    A trial's LR is its schedule's highest LR at a step, a hair below the one-cycle max LR when the peak falls between
    steps (0.199998 for 0.2); the tune scales your schedule by winner ÷ your schedule's, so the max LR it hands you is
    ``default_lr`` (your schedule's) × winner ÷ first trial, exactly your default when your schedule stays. (A run at
    0.199998 is another run than at 0.2: on *batch-16* it differed by up to 0.8 points.)"""
    records = [TrialRecord(number, t["params"], 0, t["state"], t["val_accuracy"], _loss(t.get("val_loss")), t["steps"], "", [])
               for number, t in enumerate(trials)]
    winner = winner_of(records, keep_margin)
    return default_lr * winner.params["lr"] / trials[0]["params"]["lr"] if winner else None


def _loss(value: float | None) -> float:
    """A trial's validation loss as the winner's tie-break reads it (unknown: infinite, as the tune's record has it;
    the ledger's entries before 2026-12-03 did not keep it, so their ties replay as the first in order)."""
    return math.inf if value is None else value


def choose(ledger: Ledger, variant: Variant, dataset, method: str, seed: int, scratch: Path) -> dict:
    """What ``method`` chose for ``seed`` (stored), and the accuracy of a run at it (the default's when it chose nothing)."""
    def measure() -> dict:
        if method == "default":
            return {"lr": variant.default_lr, "steps": 0}
        if method == "tune":
            return tune_choice(variant, dataset, seed, scratch)
        return range_test_choice(variant, dataset, RANGE_TESTS[method], seed)

    choice = ledger.get(f"{variant.name}|{method}|{seed}|v{VERSIONS[method]}", measure)
    if method == "tune":
        choice = {**choice, "lr": tune_winner(choice["trials"], variant.default_lr)}
    lr = choice["lr"] if choice["lr"] is not None else variant.default_lr
    return {**choice, "run": train(ledger, variant, dataset, lr, seed)}


def all_methods(ledger: Ledger, variant: Variant, dataset, scratch: Path, seeds: int) -> dict:
    """Every method on seeds 0 … ``seeds`` − 1: the seeds of the grid's best point, so that a method's mean and the best's
    are over the same data orders and initial weights (on fewer, the best point's luck on the others would count
    against every method)."""
    return {method: [choose(ledger, variant, dataset, method, seed, scratch) for seed in range(seeds)] for method in METHODS}
