"""Segment parameters a schedule file leaves out, which their defaults fill in."""

from __future__ import annotations

import json
from typing import Any

from .timeline import Timeline


def left_out(data: dict[str, Any], timeline: Timeline, path: str = "schedule") -> list[str]:
    """One warning per segment of the validated ``timeline`` whose JSON ``data`` leaves parameters out, naming each and the
    default used. A hand-edited one_cycle without div_factor began at max_lr / 25, not / 10, without a word (helper-80)."""
    warnings = []
    for i, (piece, piece_data) in enumerate(zip(timeline.pieces, data["timeline"])):
        for j, (shape, segment) in enumerate(zip(piece.schedule.segments, piece_data["segments"])):
            used = [f"{name} (using the default {json.dumps(value)})" for name, value in shape.values().items() if name not in segment]
            if used:
                warnings.append(f"{path}.timeline[{i}].segments[{j}]: {shape.kind} does not give {', '.join(used)}")
    return warnings
