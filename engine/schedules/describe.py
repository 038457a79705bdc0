"""Short human descriptions of segments and schedules, for histories and summaries."""

from __future__ import annotations

from .schedule import Schedule
from .shapes import Shape


def fmt_lr(value: float) -> str:
    """An LR in 3 significant digits."""
    return f"{value:.3g}"


def describe_segment(segment: Shape) -> str:
    """One line: kind, LRs at its start and end, length."""
    first, last = segment.lrs([0.0, float(segment.steps)])
    return f"{segment.kind} {fmt_lr(first)}→{fmt_lr(last)} over {segment.steps} steps"


def describe_schedule(schedule: Schedule) -> str:
    """The segments in order, joined by 'then'."""
    return ", then ".join(describe_segment(s) for s in schedule.segments)
