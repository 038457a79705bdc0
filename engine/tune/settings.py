"""What a tune searches and how much it may spend, in units a user thinks in: full runs, or minutes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

SEARCHABLE = ("lr", "weight_decay")
WEIGHT_DECAY_RANGE = (1e-5, 1e-2)
# A budget in full runs: below 1.5 the range test leaves no room for a trial; the window's box and --help say so too.
MIN_RUNS, MAX_RUNS = 1.5, 1000


@dataclass(frozen=True)
class TuneSettings:
    """A tune: spend about ``budget_runs`` full runs (or ``budget_minutes``), the range test included.

    ``search`` names what varies between trials: always the peak LR of the schedule's shape,
    optionally the weight decay. ``seed`` fixes the initial weights, each trial's data order and
    the sampler. Trials are compared from a third of the run on (at R, R·η, R·η²… epochs, R a third of
    the run's epochs, η ``reduction_factor``) with the trials in the same third of the interval, and
    only the best 1/η go on (successive halving per stratum, ``engine.tune.strata``).
    """

    budget_runs: float = 5.0
    budget_minutes: float | None = None
    search: tuple[str, ...] = ("lr",)
    seed: int = 0
    reduction_factor: int = 3
    range_test_iterations: int = 100

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        if isinstance(self.budget_runs, bool) or not isinstance(self.budget_runs, (int, float)) or not MIN_RUNS <= self.budget_runs <= MAX_RUNS:
            raise ValueError(f"budget must be from {MIN_RUNS:g} to {MAX_RUNS:g} full runs, got {self.budget_runs!r}")
        minutes = self.budget_minutes
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))
                                    or not math.isfinite(minutes) or not 0 < minutes <= 100_000):
            raise ValueError(f"budget in minutes must be above 0, got {minutes!r}")
        unknown = [name for name in self.search if name not in SEARCHABLE]
        if unknown or "lr" not in self.search:
            raise ValueError(f"search must name the peak LR and optionally weight_decay (of {', '.join(SEARCHABLE)}), got {list(self.search)}")
        for name, low, high in (("seed", 0, 2**31 - 1), ("reduction_factor", 2, 10), ("range_test_iterations", 10, 100_000)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high:,}, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {**asdict(self), "search": list(self.search)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TuneSettings:
        """Settings from plain data (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "search" in values:
            values["search"] = tuple(values["search"])
        return cls(**values)
