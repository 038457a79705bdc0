"""Short human descriptions of segments and schedules, for histories and summaries."""

from __future__ import annotations

import numpy as np

from ..text import counted
from .schedule import Schedule
from .shapes import Shape


def fmt_lr(value: float) -> str:
    """An LR in 3 significant digits."""
    return f"{value:.3g}"


def lr_span(segment: Shape) -> str:
    """"0.008 → 0.2 → 8e-07": the LR at the segment's start and natural end, with the peak between when
    it rises above both. (The LR at ``steps`` is past a one-cycle's end: it once read 0.000521 for 8e-07.)"""
    first, last = segment.lrs(np.array([0.0, segment.final_time]))
    peak = float(np.max(segment.lrs(np.linspace(0.0, segment.final_time, 257))))
    middle = f" → {fmt_lr(peak)}" if peak > 1.01 * max(first, last) else ""
    return f"{fmt_lr(first)}{middle} → {fmt_lr(last)}"


def describe_segment(segment: Shape) -> str:
    """One line: kind, LRs (start, peak, end), length."""
    return f"{segment.kind} {lr_span(segment)} over {counted(segment.steps, 'step')}"


def describe_schedule(schedule: Schedule) -> str:
    """The segments in order, joined by 'then'."""
    return ", then ".join(describe_segment(s) for s in schedule.segments)
