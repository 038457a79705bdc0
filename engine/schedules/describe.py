"""Short human descriptions of segments and schedules, for histories and summaries."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..text import counted
from .groups import ALL
from .schedule import Schedule
from .shapes import Shape
from .shapes.base import LR
from .timeline import Timeline


def fmt_lr(value: float) -> str:
    """An LR in 3 significant digits."""
    return f"{value:.3g}"


def lr_span(segment: Shape) -> str:
    """"0.008 → 0.2 → 8e-07": the LR at the segment's start and natural end, with the peak between when
    it rises above both; "0.05" for one that holds a single LR. (The LR at ``steps`` is past a one-cycle's end: it once
    read 0.000521 for 8e-07.)"""
    first, last = segment.lrs(np.array([0.0, segment.final_time]))
    lrs = segment.lrs(np.linspace(0.0, segment.final_time, 257))
    if fmt_lr(float(np.min(lrs))) == fmt_lr(float(np.max(lrs))):  # a constant read "0.05 → 0.05", as if it moved
        return fmt_lr(first)
    peak = float(np.max(lrs))
    middle = f" → {fmt_lr(peak)}" if peak > 1.01 * max(first, last) else ""
    return f"{fmt_lr(first)}{middle} → {fmt_lr(last)}"


def describe_segment(segment: Shape) -> str:
    """One line: kind, LRs (start, peak, end), length."""
    return f"{segment.kind} {lr_span(segment)} over {counted(segment.steps, 'step')}"


def describe_changes(segment: Shape, changes: dict[str, Any]) -> str:
    """"final LR 0 → 0.02, steps 100 → 200": the parameters of ``segment`` that ``changes`` gives new values, in the
    user's words (the log, `lrscope show` and `watch` said "end_lr 0.0→0.02")."""
    return ", ".join(f"{segment.param_label(name)} {_shown(segment, name, getattr(segment, name))} → {_shown(segment, name, value)}"
                     for name, value in changes.items())


def describe_segment_change(index: int, old: Shape, changes: dict[str, Any]) -> str:
    """"segment 2 (cosine): final LR 0 → 0.02": what an edit changed in segment ``index`` of a schedule."""
    return f"segment {index + 1} ({old.kind}): {describe_changes(old, changes)}"


def describe_revision(old: Schedule, new: Schedule) -> str:
    """What ``new`` changed from the schedule it replaces: each changed parameter of a segment that keeps its kind, or
    both schedules whole when segments were added, removed or changed kind. The new schedule alone read like a no-op
    ("constant 0.03 → 0.03" for an LR lowered from 0.05)."""
    if [segment.kind for segment in old.segments] != [segment.kind for segment in new.segments]:
        return f"{describe_schedule(new)} (was {describe_schedule(old)})"
    changed = [describe_segment_change(index, before, _changed_values(before, after))
               for index, (before, after) in enumerate(zip(old.segments, new.segments)) if before != after]
    return "; ".join(changed) or f"{describe_schedule(new)}, unchanged"


def _changed_values(before: Shape, after: Shape) -> dict[str, Any]:
    """The parameters of ``after`` whose values differ from those of ``before`` (a shape of the same kind)."""
    was = before.values()
    return {name: value for name, value in after.values().items() if value != was[name]}


def _shown(segment: Shape, name: str, value: Any) -> str:
    """A parameter's value as the user reads it: an LR in 3 digits, anything else as it is written."""
    return fmt_lr(value) if segment.param_kind(name) == LR else repr(value)


def describe_schedule(schedule: Schedule) -> str:
    """The segments in order, joined by 'then'."""
    return ", then ".join(describe_segment(s) for s in schedule.segments)


def describe_pieces(timeline: Timeline) -> str:
    """Every piece in order, each with its steps: a schedule file exported from an edited run starts as several."""
    pieces = timeline.pieces
    if len(pieces) == 1:
        return describe_schedule(pieces[0].schedule)
    ends = [piece.start for piece in pieces[1:]] + [timeline.total_steps]
    return "; ".join(f"steps {piece.start}–{end}: {describe_schedule(piece.schedule)}" for piece, end in zip(pieces, ends))


def describe_timeline(timeline: Timeline) -> str:
    """The schedule in force at the end, with where it began and the peak before it when edits changed the run, and
    the groups' multipliers: a library entry showed the last piece alone ("constant 0.05 over 60 steps" for a run that
    peaked at 0.2 with its head at ×3)."""
    last = timeline.pieces[-1]
    text = describe_schedule(last.schedule)
    if len(timeline.pieces) > 1:
        lrs = timeline.lrs(np.arange(timeline.total_steps))
        peak = int(np.argmax(lrs))
        # Pieces, not edits: a run that trained another run's edited schedule made none, and "edited 3 times" said it had.
        text = f"{text} from step {last.start} (the last of {len(timeline.pieces)} pieces; peak {fmt_lr(float(lrs[peak]))} at step {peak})"
    # A group at ×1 is said beside an "all" that is not: "all ×0.1" alone read as every group at 0.1 (helper-76).
    scales_all = any(group.name == ALL and group.multiplier != 1 for group in last.groups)
    scaled = [f"{group.name} ×{group.multiplier:.3g}" for group in last.groups if group.multiplier != 1 or scales_all]
    return f"{text}; {', '.join(scaled)}" if scaled else text
