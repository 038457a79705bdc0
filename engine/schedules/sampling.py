"""Where to look at a timeline: a bounded number of steps that draw it exactly to the eye.

A timeline is smooth between segment and piece boundaries (and the ends of freeze spans), so an even
grid plus the steps on both sides of every boundary shows every jump where it is, however long the run.
"""

from __future__ import annotations

import numpy as np

from .timeline import Timeline

GRID = 4096
MAX_EDGES = 8192


def boundaries(timeline: Timeline) -> np.ndarray:
    """The global steps where a piece or a segment begins, or a group's freeze ends (sorted)."""
    starts = []
    for piece, following in zip(timeline.pieces, [*timeline.pieces[1:], None]):
        end = following.start if following is not None else timeline.total_steps
        inner = np.concatenate([piece.origin + piece.schedule.starts, [g.frozen_until for g in piece.groups]])
        starts.append(inner[(inner > piece.start) & (inner < end)])
        starts.append(np.array([piece.start]))
    return np.unique(np.concatenate(starts)).astype(np.int64)


def plot_steps(timeline: Timeline, grid: int = GRID, max_edges: int = MAX_EDGES) -> np.ndarray:
    """Every step of a short timeline; for a long one, an even grid plus both sides of each boundary."""
    total = timeline.total_steps
    if total <= grid + 2 * max_edges:
        return np.arange(total)
    edges = boundaries(timeline)
    if len(edges) > max_edges:
        edges = edges[np.linspace(0, len(edges) - 1, max_edges).astype(np.int64)]
    points = np.concatenate([np.linspace(0, total - 1, grid).round().astype(np.int64), edges - 1, edges, [total - 1]])
    return np.unique(np.clip(points, 0, total - 1))


def highest_from(timeline: Timeline, step: int) -> tuple[int, float]:
    """Where ``timeline`` plans its highest LR from ``step`` on, and that LR: looked for at ``step`` and at the steps
    ``plot_steps`` draws (every step of a run of a few thousand; past the end, the LR it holds). One way for the three
    questions that ask it: a planned rise past the stability bound, a scale past the highest LR, an unfreeze too late."""
    steps = steps_from(timeline, step)
    lrs = timeline.lrs(steps)
    best = int(np.argmax(lrs))
    return int(steps[best]), float(lrs[best])


def steps_from(timeline: Timeline, step: int) -> np.ndarray:
    """``step`` and the steps after it that ``plot_steps`` draws: where to look for what a timeline plans from there."""
    drawn = plot_steps(timeline)
    return np.concatenate([[step], drawn[drawn > step]]).astype(np.int64)
