"""The outcome of a range test: its curve, its suggestions and the recommended LRs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .suggestions import Recommendation, Suggestion, probe_suggestion, recommend, sweep_suggestions
from .sweep import Curve


@dataclass(frozen=True)
class RangeTestResult:
    """A finished (or cancelled) range test."""

    mode: str
    settings: dict[str, Any]
    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stop_reason: str
    suggestions: tuple[Suggestion, ...]
    recommendation: Recommendation | None
    notes: tuple[str, ...]
    seconds: float
    curvature: dict[str, Any] | None = None

    @classmethod
    def from_curve(cls, mode: str, settings: dict, curve: Curve, seconds: float) -> RangeTestResult:
        """Analyse a curve: suggestions by every method of the mode, then the recommendation."""
        if mode == "probe":
            suggestions, notes = probe_suggestion(curve.lrs, curve.losses)
        else:
            suggestions, notes = sweep_suggestions(curve.lrs, curve.losses)
        if curve.stop_reason == "cancelled":
            notes = ["the test was cancelled: suggestions come from the part that ran", *notes]
        recommendation = recommend(suggestions, notes)
        all_notes = recommendation.notes if recommendation else tuple(notes)
        return cls(mode, settings, curve.lrs, curve.losses, curve.smoothed, curve.stop_reason,
                   tuple(suggestions), recommendation, all_notes, seconds)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for schedule files, the run store and ``--json``)."""
        return {
            "mode": self.mode,
            "settings": self.settings,
            "curve": {"lr": self.lrs.tolist(), "loss": _finite(self.losses), "smoothed": _finite(self.smoothed)},
            "stop_reason": self.stop_reason,
            "suggestions": [asdict(s) for s in self.suggestions],
            "recommended": asdict(self.recommendation) if self.recommendation else None,
            "notes": list(self.notes),
            "seconds": self.seconds,
            "curvature": self.curvature,
        }


def _finite(values: np.ndarray) -> list:
    """JSON has no inf: diverged probe candidates are written as null."""
    return [float(v) if np.isfinite(v) else None for v in values]
