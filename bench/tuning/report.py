"""Read the study: per variant the grid's best and plateau, and for each method its accuracy, gap, plateau hits and compute.

Definitions (also written into the report):
- seed std: the standard deviation over the seeds at the grid's best point (as many as the table says);
- plateau: the grid points, contiguous around the best, whose mean accuracy is within one seed std
  of the best mean, widened by half a grid step (×√2) on each side;
- gap: the grid best's mean accuracy minus the method's mean accuracy, both over the same seeds (0 … N − 1), in
  points (a seed's data order and initial weights move every LR's result alike, so the same seeds on both
  sides keep one side's luck out of the gap);
- compute: training steps the method spent choosing (the run it then trains is not counted);
- ± after a difference of two methods: its standard error over the seeds, from the per-seed differences (paired: the
  same seeds on both sides).
"""

from __future__ import annotations

import numpy as np

from .methods import METHODS
from .variants import Variant


def plateau(grid: dict) -> tuple[float, float]:
    """The LR interval of the grid's plateau."""
    lrs = sorted(grid["points"])
    means = [np.mean(grid["points"][lr]) for lr in lrs]
    best = lrs.index(grid["best_lr"])
    floor = grid["best_mean"] - grid["best_std"]
    low = high = best
    while low > 0 and means[low - 1] >= floor:
        low -= 1
    while high < len(lrs) - 1 and means[high + 1] >= floor:
        high += 1
    half_step = np.sqrt(lrs[1] / lrs[0])
    return lrs[low] / half_step, lrs[high] * half_step


def paired(first: list[float], second: list[float]) -> tuple[float, float]:
    """Mean of ``first`` − ``second`` over the same seeds, and its standard error, in points."""
    differences = 100 * (np.array(first) - np.array(second))
    return float(differences.mean()), float(differences.std(ddof=1) / np.sqrt(len(differences)))


def summarize(grid: dict, methods: dict) -> dict:
    """Per method: chosen LRs, accuracies, mean gap, plateau hits, compute; and the criteria for tune."""
    low, high = plateau(grid)
    out = {"plateau": (low, high)}
    for method, rows in methods.items():
        accuracies = [r["run"]["accuracy"] for r in rows]
        hits = [r["lr"] is not None and low <= r["lr"] <= high for r in rows]
        out[method] = {"lrs": [r["lr"] for r in rows], "accuracy": float(np.mean(accuracies)), "accuracies": accuracies,
                       "gap": 100 * (grid["best_mean"] - float(np.mean(accuracies))), "hits": int(sum(hits)),
                       "chosen": sum(r["lr"] is not None for r in rows), "steps": float(np.mean([r["steps"] for r in rows])),
                       "why_none": [r.get("why_none", "") for r in rows if r["lr"] is None]}
    tune, default = out["tune"], out["default"]
    out["tune_vs_default"], out["tune_vs_default_se"] = paired(tune["accuracies"], default["accuracies"])
    out["tune_gap_se"] = paired(grid["points"][grid["best_lr"]], tune["accuracies"])[1]
    out["tune_within_std"] = tune["gap"] <= 100 * grid["best_std"]
    out["tune_share"] = tune["steps"] / grid["steps"]
    trials = [r["trials"] for r in methods["tune"]]
    out["tune_trials"] = (float(np.mean([len(t) for t in trials])), float(np.mean([sum(x["state"] == "complete" for x in t) for t in trials])))
    return out


def _lrs(values) -> str:
    return ", ".join("none" if v is None else f"{v:.2g}" for v in values)


def table(rows: list[tuple[Variant, dict, dict]]) -> str:
    """The Markdown tables: the grids, then each method per variant."""
    lines = ["| variant | what | grid best: max LR → accuracy (seed std) | plateau | grid compute (steps, five seeds at the best points) |",
             "|---|---|---|---|---|"]
    for variant, grid, summary in rows:
        low, high = summary["plateau"]
        lines.append(f"| {variant.name} | {variant.what} | {grid['best_lr']:.3g} → {100 * grid['best_mean']:.2f}% "
                     f"(± {100 * grid['best_std']:.2f}, {grid['seeds']} seeds) | {low:.2g} – {high:.2g} | {grid['steps']:,} |")
    lines += ["", "| variant | method | chosen max LRs (per seed) | accuracy | gap (points) | on plateau | compute (steps, % of grid) |",
              "|---|---|---|---|---|---|---|"]
    for variant, grid, summary in rows:
        for method in METHODS:
            m = summary[method]
            lines.append(f"| {variant.name} | {method} | {_lrs(m['lrs'])} | {100 * m['accuracy']:.2f}% | {m['gap']:+.2f} | "
                         f"{m['hits']}/{len(m['accuracies'])} | {m['steps']:,.0f} ({100 * m['steps'] / grid['steps']:.0f}%) |")
    return "\n".join(lines)


def criteria(rows: list[tuple[Variant, dict, dict]]) -> str:
    """The issue's three checks, with their numbers."""
    lines = ["| variant | tune − default (points) | tune's gap ≤ seed std? | tune compute ÷ grid | trials (complete) per tune |",
             "|---|---|---|---|---|"]
    for variant, grid, summary in rows:
        tried, complete = summary["tune_trials"]
        lines.append(f"| {variant.name} | {summary['tune_vs_default']:+.2f} ± {summary['tune_vs_default_se']:.2f} | "
                     f"{'yes' if summary['tune_within_std'] else '**no**'} ({summary['tune']['gap']:+.2f} ± {summary['tune_gap_se']:.2f} "
                     f"vs {100 * grid['best_std']:.2f}) | "
                     f"{100 * summary['tune_share']:.0f}% | {tried:.1f} ({complete:.1f}) |")
    hits = sum(s["repeated sweep"]["hits"] for _, _, s in rows)
    total = sum(len(s["tune"]["accuracies"]) for _, _, s in rows)
    lines += ["", f"Repeated sweep on the plateau: {hits} of {total} seeds ({100 * hits / max(1, total):.0f}%)."]
    for method in METHODS:
        method_hits = sum(s[method]["hits"] for _, _, s in rows)
        gap = np.mean([s[method]["gap"] for _, _, s in rows])
        lines.append(f"- {method}: on the plateau {method_hits}/{total}, mean gap {gap:+.2f} points")
    return "\n".join(lines)
