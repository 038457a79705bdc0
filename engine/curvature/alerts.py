"""Warnings in words when the LR nears the stability bound or λmax climbs fast, with the edit that helps."""

from __future__ import annotations

import math

import numpy as np

from ..events import CurvatureMeasured, StabilityWarning
from ..schedules.sampling import steps_from
from ..text import counted
from .bounds import constant_of

DEFAULT_MARGIN = 0.8
CLIMB_FACTOR = 1.5
NOTHING_TO_SCALE = 0.99
# A climb is said while the schedule's peak from here uses at least this share of the margin: λmax can double twice
# before a peak under a quarter of it nears the bound, and a run resumed at a tiny LR warned at "0% of the bound".
FAR_BELOW = 0.25


def peak_ratio_after(timeline, step: int, rule: str = "") -> float:
    """How much nearer its bound ``timeline`` brings the LR from ``step`` on, at most (1 when never nearer): the LR ÷ the
    LR at ``step``, times the bound's constant at ``step`` ÷ its constant at the momentum planned then (``rule``: a
    StabilityRule's optimizer). A one-cycle lowers the momentum as the LR peaks, which lowers the bound: a Scale the
    rest offered for the LR alone left the peak at 84% of the bound, and the warning came straight back (helper-77)."""
    now = timeline.lr_at(step)
    if step >= timeline.total_steps or not now > 0:
        return 1.0
    steps = steps_from(timeline, step)
    ratios = timeline.lrs(steps) / now
    betas = timeline.momenta(steps)
    if rule and np.isfinite(betas).all():
        constants = constant_of(rule, betas)
        ratios = ratios * constants[0] / constants
    return max(1.0, float(np.max(ratios)))


def scale_to_fit(edge: float, rest_peak_ratio: float, margin: float) -> float:
    """The factor that keeps the rest of the schedule under ``margin`` × today's bound (≤ 1).

    ``edge`` is LR ÷ bound now; ``rest_peak_ratio`` the highest LR still planned ÷ the LR now (≥ 1).
    """
    peak_edge = edge * max(rest_peak_ratio, 1.0)
    return min(1.0, margin / peak_edge) if peak_edge > 0 and math.isfinite(peak_edge) else 1.0


def near_bound(m: CurvatureMeasured, rest_peak_ratio: float, margin: float) -> StabilityWarning | None:
    """A warning when the LR now, or the highest LR still planned, is above ``margin`` × the bound."""
    edge = m.edge
    if not math.isfinite(edge):
        return None
    peak_edge = edge * max(rest_peak_ratio, 1.0)
    # Within 1% of the margin nothing is worth scaling: the banner's own fix lands exactly on it, and then warned
    # again, offering "Scale the rest ×1".
    if scale_to_fit(edge, rest_peak_ratio, margin) >= NOTHING_TO_SCALE:
        return None
    # The group nearest its bound (the head, last, when they tie).
    group = int(max(reversed(range(len(m.groups))), key=lambda i: m.lrs[i] / m.bounds[i] if m.bounds[i] > 0 else -1))
    # Named only when the groups' LRs differ: "the LR 50 of group head" read as the head's alone when all trained at 50.
    where = f"LR {m.lrs[group]:.3g}" + (f" of group {m.groups[group]}" if m.bounds_differ else "")
    theory = f"the stability bound {m.bounds[group]:.3g} ({m.formula}, λmax {m.lambda_max:.3g} at step {m.step})"
    if edge >= 1:
        message = f"The {where} is above {theory}: in theory the loss will oscillate and blow up along the sharpest direction."
        kind = "above_bound"
    elif edge >= margin:
        message = f"The {where} is at {100 * edge:.0f}% of {theory}: training may start to oscillate."
        kind = "near_bound"
    else:
        # "by ×3.2" named the LR's rise alone, where the momentum's fall lowers the bound too.
        message = (f"The schedule will raise the {where} to {100 * peak_edge:.0f}% of {theory} as it goes on, unless the "
                   "curvature falls meanwhile.")
        kind = "planned_above"
    if edge >= margin and rest_peak_ratio > 1.01:  # else the scale offered for the planned peak goes unexplained
        message += f" The schedule will take it to {100 * peak_edge:.0f}% of the bound as it goes on."
    factor = scale_to_fit(edge, rest_peak_ratio, margin)
    advice = f"Scale the rest of the schedule by ×{factor:.3g} to stay under {100 * margin:.0f}% of the bound (a guide from theory, not a law)."
    return StabilityWarning(m.step, kind, message, advice, factor)


def climbing(m: CurvatureMeasured, previous: CurvatureMeasured | None, rest_peak_ratio: float, margin: float,
             factor: float = CLIMB_FACTOR) -> StabilityWarning | None:
    """A warning when λmax grew by ``factor`` or more since the previous measurement."""
    if previous is None or not previous.lambda_max > 0 or not m.lambda_max >= factor * previous.lambda_max:
        return None
    if m.edge * rest_peak_ratio < margin * FAR_BELOW:  # a climb far under the bound is no news ("now 0% of the bound")
        return None
    rise = m.lambda_max / previous.lambda_max
    message = (f"λmax rose ×{rise:.2g} in {counted(m.step - previous.step, 'step')} ({previous.lambda_max:.3g} → {m.lambda_max:.3g}): "
               f"the loss surface is getting sharper, so the stable LR is falling (now {m.edge:.0%} of the bound is used).")
    scale = scale_to_fit(m.edge, rest_peak_ratio, margin)
    # Read in a terminal too (`train`, `watch`, `ctl`): no advice that only the window can follow.
    advice = (f"Scale the rest of the schedule by ×{scale:.3g} to stay under {100 * margin:.0f}% of the bound measured now."
              if scale < 1 else "No change is needed yet; keep an eye on the bound as λmax is measured again.")
    return StabilityWarning(m.step, "climbing", message, advice, scale)
