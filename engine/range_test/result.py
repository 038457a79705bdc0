"""The outcome of a range test: its curve(s), its suggestions and the recommended LRs (or why there are none)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ..plain import JsonObject
from ..schedules.shapes.base import MAX_SET_LR
from ..text import counted
from .suggestions import (
    CANCELLED_NOTE,
    MIN_POINTS,
    NO_RECOMMENDATION,
    Recommendation,
    Suggestion,
    bandwidth,
    combine,
    local_fit,
    median_lr,
    probe_suggestion,
    recommend,
    sweep_suggestions,
)
from .sweep import Curve


@dataclass(frozen=True)
class RangeTestResult:
    """A finished (or cancelled) range test.

    A repeated test keeps each repeat in ``repeats``; its own curve is theirs end to end, its
    suggestions are each method's median and its recommendation the median one. ``measured``
    holds what the test measured besides the curve (for the probe: the starting held-out loss,
    the steps each candidate trained and its loss half way; for a sweep: the class-mix loss).
    """

    mode: str
    settings: JsonObject
    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stop_reason: str
    suggestions: tuple[Suggestion, ...]
    recommendation: Recommendation | None
    notes: tuple[str, ...]
    seconds: float
    measured: JsonObject = field(default_factory=dict)
    repeats: tuple[RangeTestResult, ...] = ()
    curvature: JsonObject | None = None

    @property
    def why_none(self) -> str:
        """Why there is no recommendation (empty when there is one)."""
        if self.recommendation is not None:
            return ""
        reasons = [n.removeprefix(NO_RECOMMENDATION) for n in self.notes if n.startswith(NO_RECOMMENDATION)]
        return reasons[0] if reasons else "; ".join(self.notes) or "the test recorded no usable point"

    def bound_text(self) -> str:
        """The stability bound at the test's start, on the swept LR's scale, naming the group that meets it when the
        groups train at other multipliers ("" when none was measured): a bare 0.1 beside the Health tab's 0.31 for a
        head at ×3 read as a contradiction. "At the test's start": a run's own bound moves as it trains, and the LR plot's 0.35 at step 10
        beside a mid-run test's 0.31 read as two answers to one question."""
        c = self.curvature or {}
        if not c.get("lr_bound"):
            return ""
        factor, group = c.get("bound_multiplier") or 1.0, c.get("bound_group")
        if factor == 1 or not group:
            return f"bound {c['formula']} = {c['lr_bound']:.3g} at the test's start (theory)"
        return f"bound {c['formula']}: {group} ×{factor:g} meets its {c['lr_bound'] * factor:.3g} here at the test's start (theory)"

    def above_bound(self, lr: float) -> str:
        """How far ``lr`` is past the stability bound this test measured at its start, in words ("" when it is not)."""
        bound = (self.curvature or {}).get("lr_bound")
        if not bound or not lr > bound:
            return ""
        return (f"LR {lr:.3g} is ×{lr / bound:.3g} the stability bound at the start ({bound:.3g}; theory, a guide): "
                "if the loss blows up early, lower it")

    @classmethod
    def from_curve(cls, mode: str, settings: dict, curve: Curve, seconds: float, prior_loss: float | None = None) -> RangeTestResult:
        """Analyse one curve: suggestions by every method of the mode, then the recommendation (or why none)."""
        held_out = _held_out(mode, settings)
        if mode == "probe":
            suggestions, notes = probe_suggestion(curve.lrs, curve.losses, curve.start_score, curve.steps)
            measured = {"start_score": curve.start_score, "steps": curve.steps, "midway": _finite(curve.midway)}
        else:
            suggestions, notes = sweep_suggestions(curve.lrs, curve.losses, prior_loss, held_out=held_out)
            measured = {"prior_loss": prior_loss}
            if len(curve.lrs) >= MIN_POINTS:
                # Kept and drawn: the fit the suggestions are read from. The moving average, which stops the sweep, lags:
                # its low stood near 1.9 where the loss reached 0.8, off the marked minimum (helper-74).
                curve = replace(curve, smoothed=local_fit(curve.lrs, curve.losses, bandwidth(curve.lrs))[0])
        if curve.stop_reason == "cancelled":
            notes = ["the test was cancelled: suggestions come from the part that ran", *notes]
        recommendation = recommend(suggestions, notes)
        if curve.stop_reason == "cancelled" and recommendation is None:
            notes = [CANCELLED_NOTE]
        all_notes = recommendation.notes if recommendation else tuple(notes)
        return cls(mode, settings, curve.lrs, curve.losses, curve.smoothed, curve.stop_reason,
                   tuple(suggestions), recommendation, all_notes, seconds, measured)

    @classmethod
    def of_repeats(cls, repeats: list[RangeTestResult], seconds: float) -> RangeTestResult:
        """One result from several repeats: the median of each method and of the recommendations."""
        if len(repeats) == 1:
            return repeats[0]
        first = repeats[0]
        # A cancel cuts the last repeat short (the first one alone is judged as one curve, above): the result is read
        # from the repeats that finished. Judging the cut one too said "only 1 of 2 repeats gave a recommendation (the
        # loss neither fell nor rose…)" of a test whose finished repeat clearly fell and rose.
        finished = [r for r in repeats if r.stop_reason != "cancelled"]
        recommendation, notes = combine([r.recommendation for r in finished], [r.why_none for r in finished if r.recommendation is None],
                                        held_out=_held_out(first.mode, first.settings))
        stop = "cancelled" if len(finished) < len(repeats) else first.stop_reason
        if stop == "cancelled":
            notes = [f"the test was cancelled in repeat {len(repeats)} of {first.settings.get('repeats', len(repeats))}: this "
                     f"result is read from the {counted(len(finished), 'repeat')} that finished", *notes]
        return cls(first.mode, first.settings, *(np.concatenate([getattr(r, name) for r in repeats]) for name in ("lrs", "losses", "smoothed")),
                   stop, _median_suggestions(finished), recommendation, tuple(notes), seconds, {"repeats": len(finished)}, tuple(repeats))

    def qualified(self, note: str) -> RangeTestResult:
        """The result with ``note`` added; a recommendation, if any, carries it and becomes low-confidence."""
        recommendation = self.recommendation
        if recommendation is not None:
            recommendation = replace(recommendation, notes=(*recommendation.notes, note), low_confidence=True)
        return replace(self, recommendation=recommendation, notes=(*self.notes, note))

    def within_bound(self) -> RangeTestResult:
        """The result with its recommended LRs at most MAX_SET_LR, saying which the curve put above it (a curve still
        falling past 100 recommended an LR that every way of using it refused)."""
        r = self.recommendation
        above = [(what, lr) for what, lr in (("constant LR", r.constant_lr), ("one-cycle max LR", r.one_cycle_max_lr))
                 if lr > MAX_SET_LR] if r is not None else []
        if not above:
            return self
        picks = " and ".join(f"{what} {lr:.3g}" for what, lr in above)
        note = (f"the curve's {picks} {'is' if len(above) == 1 else 'are'} above {MAX_SET_LR:g}, the highest LR a run "
                f"accepts, so {MAX_SET_LR:g} is recommended instead")
        constant_lr, constant_method = _capped(r.constant_lr, r.constant_method)
        one_cycle_max_lr, one_cycle_method = _capped(r.one_cycle_max_lr, r.one_cycle_method)
        recommendation = replace(r, constant_lr=constant_lr, constant_method=constant_method, one_cycle_max_lr=one_cycle_max_lr,
                                 one_cycle_method=one_cycle_method, notes=(*r.notes, note))
        return replace(self, recommendation=recommendation, notes=(*self.notes, note))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for schedule files, the run store, events and ``--json``)."""
        return {
            "mode": self.mode,
            "settings": self.settings,
            "curve": {"lr": self.lrs.tolist(), "loss": _finite(self.losses), "smoothed": _finite(self.smoothed)},
            "stop_reason": self.stop_reason,
            "suggestions": [asdict(s) for s in self.suggestions],
            "recommended": asdict(self.recommendation) if self.recommendation else None,
            "why_none": self.why_none,
            "notes": list(self.notes),
            "seconds": self.seconds,
            "measured": self.measured,
            "repeats": [r.to_dict() for r in self.repeats],
            "curvature": self.curvature,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTestResult:
        """The result written by ``to_dict``."""
        curve = data["curve"]
        recommended = data.get("recommended")
        if recommended is not None:
            recommended = Recommendation(**{**recommended, "notes": tuple(recommended["notes"])})
        return cls(data["mode"], data["settings"], np.array(curve["lr"], dtype=float), _array(curve["loss"]), _array(curve["smoothed"]),
                   data["stop_reason"], tuple(Suggestion(**s) for s in data["suggestions"]), recommended, tuple(data["notes"]),
                   float(data["seconds"]), dict(data.get("measured") or {}),
                   tuple(cls.from_dict(r) for r in data.get("repeats", ())), data.get("curvature"))


def _capped(lr: float, method: str) -> tuple[float, str]:
    """A recommended LR and its method, kept at most MAX_SET_LR and saying so (the method alone did not give it)."""
    return (lr, method) if lr <= MAX_SET_LR else (MAX_SET_LR, f"{method}, capped at {MAX_SET_LR:g}")


def _of_repeats(found: int, repeats: int) -> str:
    """Which repeats a median suggestion comes from ("median of 1 repeats" read badly)."""
    if found > 1:
        return f" (median of {found} repeats)"
    return f" (1 of {repeats} repeats)" if repeats > 1 else ""


def _median_suggestions(repeats: list[RangeTestResult]) -> tuple[Suggestion, ...]:
    """Per method, the median LR (and loss) over the repeats that suggested it."""
    methods = dict.fromkeys(s.method for r in repeats for s in r.suggestions)
    out = []
    for method in methods:
        found = [s for r in repeats for s in r.suggestions if s.method == method]
        out.append(Suggestion(method, median_lr([s.lr for s in found]), float(np.median([s.loss for s in found])),
                              found[0].explanation + _of_repeats(len(found), len(repeats))))
    return tuple(out)


def _held_out(mode: str, settings: dict) -> bool:
    """Whether the test is a sweep of the validation loss (its advice must not be to run one)."""
    return mode == "sweep" and bool(settings.get("validation"))


def _finite(values: np.ndarray | None) -> list | None:
    """JSON has no inf: diverged probe candidates are written as null."""
    if values is None:
        return None
    return [float(v) if np.isfinite(v) else None for v in values]


def _array(values: list) -> np.ndarray:
    return np.array([np.inf if v is None else v for v in values], dtype=float)
