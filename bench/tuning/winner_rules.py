"""What choosing among a tune's trials costs, screened on the study's stored tunes without training (docs/tuning-quality.md).

A tune's winner is a function of its trials' results, so a rule can be replayed on the trials the ledger kept. Every
pick is scored by the grid's mean accuracy interpolated in log LR at it (a screen: no run trains at the pick):
- the best of the trials each tune ran to the end, chosen by the grid (an oracle): what the search reached;
- each winner rule's pick from the trials' own single-run accuracies: what the tune chose;
- each rule again on simulated trials: the same LRs, each scored the grid's mean there plus Gaussian noise of the
  grid's seed std (one run per trial), of that ÷ √2 (two runs each, averaged), or none, so that what seed noise costs
  is told apart from what the rule itself gives away.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from engine.tune.record import TrialRecord
from engine.tune.winner import WIDTH_DECADES, winner_of

from .ledger import Ledger
from .sweep_rules import interpolated
from .variants import Variant

SIMULATIONS = 100  # simulated tunes per stored tune: the mean cost moves by about 0.01 points between two sets of 100
# The simulated trials' noise, in seed stds: one run per trial, two averaged, none.
NOISE = {"one run": 1.0, "two runs": 2**-0.5, "no noise": 0.0}


def local_linear(trials: list[TrialRecord], width: float = WIDTH_DECADES) -> list[float]:
    """Each trial's accuracy from a line fitted to the trials near it (Gaussian weights in log LR): unlike a local
    mean, a slope through the neighbours does not pull a trial at the edge of the searched interval toward the inside."""
    points = np.array([[math.log10(v) for v in t.params.values()] for t in trials])
    accuracies = np.array([t.val_accuracy for t in trials])
    fitted = []
    for point in points:
        weights = np.exp(-0.5 * (np.linalg.norm(points - point, axis=1) / width) ** 2)
        design = np.hstack([np.ones((len(points), 1)), points - point])
        gram = design.T @ (weights[:, None] * design) + 1e-9 * np.eye(design.shape[1])  # one trial: a flat fit
        fitted.append(float(np.linalg.solve(gram, design.T @ (weights * accuracies))[0]))
    return fitted


# Each rule: trials -> the winner. The first is today's (engine.tune.winner); the others were screened on 2026-12-06.
RULES = {
    "today's (local mean over 0.25 decades, your schedule kept within 0.5 points)": winner_of,
    "no margin (the best local mean wins)": partial(winner_of, keep_margin=0.0),
    "local line over 0.25 decades, your schedule kept within 0.5 points": partial(winner_of, score=local_linear),
}


def _records(trials: list[dict], accuracies: list[float]) -> list[TrialRecord]:
    return [TrialRecord(number, t["params"], 0, t["state"], accuracy, math.inf, t["steps"], "", [])
            for number, (t, accuracy) in enumerate(zip(trials, accuracies))]


def _scaled(variant: Variant, trials: list[dict], trial: dict) -> float:
    """A trial's max LR as the tune hands it over: your max LR × its peak ÷ your schedule's (``methods.tune_winner``)."""
    return variant.default_lr * trial["params"]["lr"] / trials[0]["params"]["lr"]


def screen(ledger: Ledger, variant: Variant, grid: dict, seeds: int) -> dict[str, float]:
    """Gaps (points) from the grid's best, averaged over the seeds' tunes: the oracle's, each rule's on the stored
    trials, and each rule's selection cost on simulated trials at each level of ``NOISE``."""
    rng = np.random.default_rng(0)
    gaps: dict[str, list[float]] = {}
    for seed in range(seeds):
        trials = [t for t in ledger.entries[f"{variant.name}|tune|{seed}|v4"]["trials"] if t["state"] == "complete"]
        truth = [interpolated(grid, _scaled(variant, trials, t)) for t in trials]
        gaps.setdefault("oracle", []).append(grid["best_mean"] - max(truth))
        for name, rule in RULES.items():
            chosen = rule(_records(trials, [t["val_accuracy"] for t in trials]))
            gaps.setdefault(name, []).append(grid["best_mean"] - truth[chosen.number])
            for level, scale in NOISE.items():
                noise = scale * grid["best_std"]
                simulated = [rule(_records(trials, list(truth + rng.normal(0, noise, len(truth))))) for _ in range(SIMULATIONS)]
                gaps.setdefault(f"{name}|{level}", []).append(max(truth) - np.mean([truth[w.number] for w in simulated]))
    return {key: 100 * float(np.mean(values)) for key, values in gaps.items()}


def table(rows: list[tuple[Variant, dict, dict[str, float]]]) -> str:
    """Markdown: per variant the seed std, the oracle's gap, and per rule its gap (stored trials) and its selection
    cost (simulated, at each level of ``NOISE``); then the means."""
    names = list(RULES)
    costs = ", ".join(NOISE)
    lines = ["| variant | seed std | best trial run (oracle) | " + " | ".join(f"{chr(65 + i)}: gap; cost with {costs}"
                                                                 for i in range(len(names))) + " |",
             "|---|---|---|" + "---|" * len(names)]

    def cells(values: dict[str, float]) -> str:
        return " | ".join(f"{values[n]:+.2f}; " + ", ".join(f"{values[f'{n}|{level}']:.2f}" for level in NOISE) for n in names)

    for variant, grid, values in rows:
        lines.append(f"| {variant.name} | {100 * grid['best_std']:.2f} | {values['oracle']:+.2f} | {cells(values)} |")
    means = {key: float(np.mean([values[key] for _, _, values in rows])) for key in rows[0][2]}
    lines.append(f"| **mean** | | **{means['oracle']:+.2f}** | {cells(means)} |")
    lines += [""] + [f"{chr(65 + i)}: {name}" for i, name in enumerate(names)]
    return "\n".join(lines)

