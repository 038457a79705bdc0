"""Other one-cycle rules for the repeated sweep, screened on the study's grids without training (docs/tuning-quality.md).

Each repeat of the study's repeated sweep keeps what every suggestion method read from its curve. A rule turns one
repeat's suggestions into a one-cycle max LR; its pick is the median over the repeats, as ``combine`` takes today's
(none unless most repeats gave a recommendation: the user then keeps the default). A pick is scored by whether it lands
on the grid's plateau and by the grid's mean accuracy interpolated in log LR at it: a screen, no run trains at the pick.
"""

from __future__ import annotations

import math

import numpy as np

from engine.range_test.settings import RangeTestSettings
from engine.range_test.suggestions import median_lr

from .ledger import Ledger
from .methods import RANGE_TESTS, fresh_range_test
from .report import plateau
from .variants import Variant

# The sweep's own horizon: a rule that scales with the run's length takes the sweep as a run of this many steps.
SWEEP_STEPS = RangeTestSettings().iterations

# Each rule: (one repeat's suggestions, the advised run's length in steps) -> one-cycle max LR. The first four were
# written down before any suggestion was recorded (2026-12-04): today's rule and the three the ecosystem uses. The
# last came after their screen, from where today's misses lie (longer runs want lower LRs): the optimum shrinks with
# the training horizon T as T^-0.3 (Bjorck et al. 2024, "Scaling Optimal LR Across Token Horizons").
RULES = {
    "min_loss (today's: Smith's largest LR that still lowers the loss)": lambda s, steps: s["min_loss"],
    "valley (fastai's suggestion for fit_one_cycle)": lambda s, steps: s["valley"],
    "2 × the constant LR (the probe's one-cycle rule)": lambda s, steps: 2 * s["constant"],
    "√(min_loss · valley)": lambda s, steps: math.sqrt(s["min_loss"] * s["valley"]),
    "horizon-scaled min_loss (min_loss × (T / 100)^-0.3, T the run's steps, 100 the sweep's)":
        lambda s, steps: s["min_loss"] * (steps / SWEEP_STEPS) ** -0.3,
}


def repeat_suggestions(ledger: Ledger, variant: Variant, dataset, seed: int) -> list[dict | None]:
    """Per repeat of the study's repeated sweep: each method's LR and the constant LR it recommends (None for a repeat
    that recommends nothing). Stored, so a rule can be screened without sweeping again."""
    def measure() -> list[dict | None]:
        result, _ = fresh_range_test(variant, dataset, RANGE_TESTS["repeated sweep"], seed)
        return [None if part.recommendation is None else
                {**{s.method: s.lr for s in part.suggestions}, "constant": part.recommendation.constant_lr}
                for part in result.repeats or (result,)]
    return ledger.get(f"{variant.name}|sweep suggestions|{seed}|v1", measure)


def pick(repeats: list[dict | None], rule: str, run_steps: int = SWEEP_STEPS) -> float | None:
    """The rule's one-cycle max LR for a run of ``run_steps``: the median over the repeats that recommend, when most do."""
    given = [RULES[rule](s, run_steps) for s in repeats if s is not None]
    return median_lr(given) if 2 * len(given) > len(repeats) else None


def interpolated(grid: dict, lr: float) -> float:
    """The grid's mean accuracy at ``lr``, linear in log LR between its points (held at the ends)."""
    lrs = sorted(grid["points"])
    return float(np.interp(math.log(lr), np.log(lrs), [np.mean(grid["points"][x]) for x in lrs]))


def screen(variant: Variant, grid: dict, repeats_per_seed: list[list[dict | None]], run_steps: int) -> dict[str, tuple[int, float]]:
    """Per rule: plateau hits over the seeds and the gap (points) from the grid's best to its interpolated mean."""
    low, high = plateau(grid)
    out = {}
    for rule in RULES:
        picks = [pick(repeats, rule, run_steps) for repeats in repeats_per_seed]
        hits = sum(lr is not None and low <= lr <= high for lr in picks)
        accuracy = np.mean([interpolated(grid, variant.default_lr if lr is None else lr) for lr in picks])
        out[rule] = (hits, 100 * (grid["best_mean"] - float(accuracy)))
    return out


def table(rows: list[tuple[Variant, dict[str, tuple[int, float]]]], seeds: int) -> str:
    """Markdown: per variant and rule, plateau hits and gap over ``seeds`` seeds; then the totals."""
    names = list(RULES)
    lines = ["| variant | " + " | ".join(f"{name.split(' (')[0]}: hits, gap" for name in names) + " |",
             "|---|" + "---|" * len(names)]
    for variant, scores in rows:
        lines.append(f"| {variant.name} | " + " | ".join(f"{scores[n][0]}, {scores[n][1]:+.2f}" for n in names) + " |")
    lines.append("| **all** | " + " | ".join(
        f"**{sum(s[n][0] for _, s in rows)}/{seeds * len(rows)}**, {np.mean([s[n][1] for _, s in rows]):+.2f}" for n in names) + " |")
    return "\n".join(lines)
