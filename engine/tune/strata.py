"""Successive halving within each third of the log-LR interval, not across all of it.

At a third of a one-cycle run, the training loss ranks the high peaks first: a low peak learns more
slowly early and catches up in the anneal (the short-horizon bias). Measured in the tuning study
(docs/tuning-quality.md): over 35 tunes of seven variants, no trial below a peak of 0.15 ran to its
end, although the grid's best peak was 0.05–0.1 on six of them. So each stratum is its own Optuna
study with its own sampler and SuccessiveHalvingPruner: a trial is stopped only for falling behind
trials of a similar peak, and the strata meet only in the winner's rule, at the end of their runs.
"""

from __future__ import annotations

import math

STRATA = 3


def strata(low: float, high: float, count: int = STRATA) -> list[tuple[float, float]]:
    """``count`` intervals of equal width in log LR that cover [low, high], lowest first."""
    edges = [math.exp(math.log(low) + (math.log(high) - math.log(low)) * k / count) for k in range(count + 1)]
    edges[0], edges[-1] = low, high  # exactly the interval's ends, not their round trip through log and exp
    return list(zip(edges[:-1], edges[1:]))


def stratum_of(bounds: list[tuple[float, float]], lr: float) -> int:
    """The index of the stratum holding ``lr`` (the nearest at either end)."""
    return next((k for k, (_, high) in enumerate(bounds) if lr <= high), len(bounds) - 1)


def emptiest(counts: list[int]) -> int:
    """The stratum with the fewest trials so far (the lowest of a tie): every third of the interval gets its turn."""
    return min(range(len(counts)), key=lambda k: (counts[k], k))
