"""Suggested LRs from a range-test curve: pure functions of (lrs, losses), each named by its method.

The curve is smoothed by a Gaussian-weighted local linear fit in log10(LR) with
a bandwidth in decades, so the smoothing (and the slope it gives) is the same
whether the sweep took 50 points or 500, and it does not lag the way an
exponential moving average does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WIDTH_DECADES = 0.2
DISAGREEMENT = 3.0
MIN_POINTS = 8
# A descent smaller than this many noise standard deviations is no descent: the curve is flat.
FLAT_SIGMAS = 4.0


@dataclass(frozen=True)
class Suggestion:
    """One method's suggested LR."""

    method: str
    lr: float
    loss: float
    explanation: str


@dataclass(frozen=True)
class Recommendation:
    """The LRs to use, each with the method it came from, and notes on how far to trust them."""

    constant_lr: float
    constant_method: str
    one_cycle_max_lr: float
    one_cycle_method: str
    spread: float
    notes: tuple[str, ...]


def local_fit(lrs: np.ndarray, losses: np.ndarray, width: float = WIDTH_DECADES) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed loss and its slope d(loss)/d(log10 LR) at every point."""
    x = np.log10(lrs)
    dx = x[None, :] - x[:, None]
    w = np.exp(-0.5 * (dx / width) ** 2)
    s0, s1, s2 = w.sum(1), (w * dx).sum(1), (w * dx * dx).sum(1)
    t0, t1 = (w * losses[None, :]).sum(1), (w * dx * losses[None, :]).sum(1)
    det = s0 * s2 - s1 * s1
    slope = np.where(det > 1e-12, (s0 * t1 - s1 * t0) / np.where(det > 1e-12, det, 1.0), 0.0)
    return (t0 - slope * s1) / s0, slope


def _trimmed(lrs: np.ndarray, width: float = WIDTH_DECADES) -> np.ndarray:
    """Mask of points at least half a bandwidth away from either end of the curve (edge fits are weak)."""
    x = np.log10(lrs)
    return (x >= x[0] + width / 2) & (x <= x[-1] - width / 2)


def sweep_suggestions(lrs: np.ndarray, losses: np.ndarray) -> tuple[list[Suggestion], list[str]]:
    """Steepest descent, valley and minimum/10 of a sweep curve, with notes on the curve's shape."""
    if len(lrs) < MIN_POINTS:
        return [], [f"only {len(lrs)} points were recorded: the curve is too short to suggest an LR; lower start_lr or raise the iteration count"]
    smooth, slope = local_fit(lrs, losses)
    lowest = int(np.argmin(smooth))
    sigma = noise_level(losses - smooth)
    if np.max(smooth[: lowest + 1]) - smooth[lowest] < FLAT_SIGMAS * sigma:
        return _flat(lrs, smooth, lowest, sigma)
    notes = []
    if lowest == 0:
        return [], ["the loss never went down: lower start_lr"]
    if lowest == len(lrs) - 1:
        notes.append("the loss was still falling at end_lr: the best LR may be higher; raise end_lr")
    descent = np.zeros(len(lrs), dtype=bool)
    descent[: lowest + 1] = True
    usable = descent & _trimmed(lrs)
    if not usable.any():
        usable = descent
    steep = int(np.flatnonzero(usable)[np.argmin(slope[usable])])
    suggestions = [
        Suggestion("steepest", float(lrs[steep]), float(smooth[steep]), "where the smoothed loss falls fastest against log10(LR)"),
        _valley(lrs, smooth, slope, usable, steep),
        Suggestion("min_loss/10", float(lrs[lowest] / 10), float(smooth[lowest]), "a tenth of the LR at the lowest smoothed loss"),
        Suggestion("min_loss", float(lrs[lowest]), float(smooth[lowest]), "the LR at the lowest smoothed loss, just before it rises"),
    ]
    return suggestions, notes


def noise_level(residuals: np.ndarray) -> float:
    """A robust standard deviation of the loss around its smoothed curve (median absolute deviation)."""
    return float(1.4826 * np.median(np.abs(residuals - np.median(residuals))))


def _flat(lrs: np.ndarray, smooth: np.ndarray, lowest: int, sigma: float) -> tuple[list[Suggestion], list[str]]:
    """A curve that does not descend (a trained model, or a range starting too high): its edge is what it tells."""
    level = smooth[lowest] + FLAT_SIGMAS * max(sigma, 1e-12)
    above = np.flatnonzero(smooth[lowest:] > level)
    edge = lowest + int(above[0]) - 1 if len(above) else len(lrs) - 1
    note = ("the loss is flat before it rises (the model is already well trained, or start_lr is too high), so "
            "descent-based methods say nothing here; the edge, where the loss starts to rise, is the limit")
    if not len(above):
        note = "the loss neither fell nor rose over the range: raise end_lr to find where it diverges"
    return [Suggestion("edge", float(lrs[edge]), float(smooth[edge]), "the largest LR before the loss rises above its flat level")], [note]


def _valley(lrs, smooth, slope, usable, steep) -> Suggestion:
    """The middle of the longest stretch where the loss clearly falls (slope below a fifth of the steepest)."""
    falling = usable & (slope < 0.2 * slope[steep])
    best_start, best_length, start = steep, 1, None
    for index, flag in enumerate(np.append(falling, False)):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            if index - start > best_length:
                best_start, best_length = start, index - start
            start = None
    middle = best_start + best_length // 2
    return Suggestion("valley", float(lrs[middle]), float(smooth[middle]), "the middle of the longest stretch where the loss clearly falls")


def probe_suggestion(lrs: np.ndarray, scores: np.ndarray) -> tuple[list[Suggestion], list[str]]:
    """The candidate with the lowest held-out loss, refined by a parabola through it and its neighbours."""
    finite = np.isfinite(scores)
    if not finite.any():
        return [], ["every candidate LR diverged: lower start_lr"]
    best = int(np.nanargmin(np.where(finite, scores, np.nan)))
    lr, notes = float(lrs[best]), []
    if best == 0:
        notes.append("the smallest candidate LR was best: lower start_lr")
    elif best == len(lrs) - 1:
        notes.append("the largest candidate LR was best: raise end_lr")
    elif finite[best - 1] and finite[best + 1]:
        lr = _parabola_vertex(np.log10(lrs[best - 1:best + 2]), scores[best - 1:best + 2])
    return [Suggestion("probe_best", lr, float(scores[best]), "the LR with the lowest held-out loss after the same number of steps from the same weights")], notes


def _parabola_vertex(x: np.ndarray, y: np.ndarray) -> float:
    """10**(vertex) of the parabola through three points, kept between the outer two."""
    denominator = (x[0] - x[1]) * (x[0] - x[2]) * (x[1] - x[2])
    a = (x[2] * (y[1] - y[0]) + x[1] * (y[0] - y[2]) + x[0] * (y[2] - y[1])) / denominator
    b = (x[2] ** 2 * (y[0] - y[1]) + x[1] ** 2 * (y[2] - y[0]) + x[0] ** 2 * (y[1] - y[2])) / denominator
    vertex = -b / (2 * a) if a > 0 else x[1]
    return float(10 ** np.clip(vertex, x[0], x[2]))


# The constant-LR methods; their agreement is the confidence of a sweep.
CONSTANT_METHODS = ("steepest", "valley", "min_loss/10")
# A cosine one-cycle averages about half its peak LR, so the peak that matches
# the best constant LR of a probe is twice that LR.
ONE_CYCLE_PER_CONSTANT = 2.0


def recommend(suggestions: list[Suggestion], notes: list[str]) -> Recommendation | None:
    """A constant LR and a one-cycle max LR from the suggestions, saying which method each came from.

    Sweep: the constant LR is the median of the three constant-LR methods; the
    one-cycle peak is the LR at the loss minimum (Smith's rule: a one-cycle
    anneals away from its peak, so it tolerates the largest LR that still
    lowers the loss). A flat sweep: a tenth and a third of its edge. Probe: the
    best candidate is the constant LR, and twice it the one-cycle peak.
    """
    if not suggestions:
        return None
    by_method = {s.method: s for s in suggestions}
    if "edge" in by_method:
        edge = by_method["edge"].lr
        return Recommendation(edge / 10, "edge/10 (a flat curve: a tenth of the largest stable LR)", edge / 3,
                              "edge/3 (a flat curve: a third of the largest stable LR)", 1.0, tuple(notes))
    if "probe_best" in by_method:
        best = by_method["probe_best"]
        return Recommendation(best.lr, "probe_best", best.lr * ONE_CYCLE_PER_CONSTANT,
                              f"probe_best ×{ONE_CYCLE_PER_CONSTANT:g} (a one-cycle averages half its peak)", 1.0, tuple(notes))
    constant = [by_method[m] for m in CONSTANT_METHODS]
    spread = max(s.lr for s in constant) / min(s.lr for s in constant)
    notes = list(notes)
    if spread > DISAGREEMENT:
        listed = ", ".join(f"{s.method} {s.lr:.2g}" for s in constant)
        notes.append(f"low confidence: the methods disagree by a factor of {spread:.1f} ({listed}); "
                     "the curve is noisy or has several descents: try the probe mode or a validation-mode sweep")
    middle = sorted(constant, key=lambda s: s.lr)[1]
    return Recommendation(middle.lr, f"{middle.method} (median of {len(constant)} methods)",
                          by_method["min_loss"].lr, "min_loss (the LR where the smoothed loss is lowest)", spread, tuple(notes))
