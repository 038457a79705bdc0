"""Where to search the peak LR: from the range test when it recommends, from its limits when it does not.

Pure functions of the test's result and the user's current peak, tested alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Around a recommended peak: the sweep's recommendation moves by ×2 to ×20 between batch orders and
# tends to be late (high), so the interval reaches further below it than above.
BELOW, ABOVE = 20.0, 4.0
# Below a measured limit (where a flat curve rose, or where the sweep diverged): 2.5 decades.
BELOW_LIMIT = 300.0
# With nothing measured: around the user's LR.
AROUND_BELOW, AROUND_ABOVE = 30.0, 10.0


@dataclass(frozen=True)
class Interval:
    """The peak LRs a tune samples from (log-uniform), and where they came from."""

    low: float
    high: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)


def search_interval(result, current_peak: float, constant_shape: bool = False) -> Interval:
    """The search interval for the peak LR of the schedule, always including ``current_peak``.

    ``result`` is a RangeTestResult (or None). A recommendation gives [peak/20, peak×4] around its
    one-cycle max LR (its constant LR for a constant shape), capped where the sweep diverged; a
    curve without one gives 2.5 decades below the highest LR it reached; nothing, 1.5 decades
    around the current peak.
    """
    recommendation = getattr(result, "recommendation", None)
    limit = _limit(result)
    if recommendation is not None:
        centre = recommendation.constant_lr if constant_shape else recommendation.one_cycle_max_lr
        low, high = centre / BELOW, centre * ABOVE
        if limit is not None and limit > centre:
            high = min(high, limit)
        what = "constant LR" if constant_shape else "one-cycle max LR"
        source = f"around the range test's {what} {centre:.3g}"
    elif limit is not None:
        low, high = limit / BELOW_LIMIT, limit
        # Its reason only: the advice after it ("… or a tune") is for one who runs a range test, not a tune.
        reason = result.why_none.split(". ")[0].rstrip(".")
        source = f"below {limit:.3g}, where the range test's loss rose (it gave no recommendation: {reason})"
    else:
        low, high = current_peak / AROUND_BELOW, current_peak * AROUND_ABOVE
        source = f"around the current peak LR {current_peak:.3g} (no range test result to go by)"
    if not low <= current_peak <= high:
        source += f", widened to include the current peak LR {current_peak:.3g}"
    return Interval(float(min(low, current_peak)), float(max(high, current_peak)), source)


def _limit(result) -> float | None:
    """The highest LR a sweep reached before its loss rose: its edge, or where it stopped diverging."""
    if result is None or result.mode != "sweep" or not len(result.lrs):
        return None
    edges = [s.lr for s in result.suggestions if s.method == "edge"]
    if edges:
        return float(edges[0])
    parts = result.repeats or (result,)
    stops = [float(part.lrs[-1]) for part in parts if part.stop_reason in ("diverged", "nan") and len(part.lrs)]
    return min(stops) if stops else None
