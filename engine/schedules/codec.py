"""Schedules to plain JSON data and back, strictly: every error names the field at fault."""

from __future__ import annotations

import math
from typing import Any

from ..errors import ScheduleFileError
from ..text import expected_kind, kind_of
from .groups import ALL, GroupSetting, validate_groups
from .plateau import PlateauRule
from .schedule import Schedule
from .shapes import SHAPES, Shape
from .shapes.base import COUNT, FLAG, POINTS, STEP_LIST, STEPS
from .timeline import Piece, Timeline

MAX_SEGMENTS = 10_000
MAX_PIECES = 100_000
MAX_GROUPS = 64
MAX_LIST = 100_000


def shape_to_dict(shape: Shape, run_steps: int | None = None) -> dict[str, Any]:
    """A segment as JSON data; with ``run_steps``, also its length as a fraction of the run."""
    data: dict[str, Any] = {"kind": shape.kind}
    for name, value in shape.values().items():
        data[name] = [list(p) for p in value] if shape.param_kind(name) == POINTS else (list(value) if isinstance(value, tuple) else value)
    if run_steps:
        data["fraction"] = shape.steps / run_steps
    return data


def timeline_to_dict(timeline: Timeline) -> dict[str, Any]:
    """The timeline's JSON sections: total_steps, momentum, plateau, timeline (each piece with its groups)."""
    total = timeline.total_steps
    return {
        "total_steps": total,
        "momentum": None if timeline.base_momentum is None else {"base": timeline.base_momentum},
        "plateau": None if timeline.plateau is None else vars(timeline.plateau).copy(),
        "timeline": [piece_to_dict(p, total) for p in timeline.pieces],
    }


# -- reading --------------------------------------------------------------------


def fail(path: str, message: str) -> ScheduleFileError:
    """An error naming the field at ``path``."""
    return ScheduleFileError(f"{path}: {message}")


def need(data: Any, key: str, kind: type | tuple[type, ...], path: str) -> Any:
    """``data[key]`` if present and of type ``kind`` (bool never passes for a number)."""
    if not isinstance(data, dict):
        raise fail(path, f"must be an object, got {kind_of(data)}")
    if key not in data:
        raise fail(f"{path}.{key}", "is missing")
    return check_type(data[key], kind, f"{path}.{key}")


def check_type(value: Any, kind: type | tuple[type, ...], path: str) -> Any:
    """``value`` if it is of type ``kind`` (bools are not numbers here)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise fail(path, f"must be {expected_kind(kinds)}, got a boolean")
    if not isinstance(value, kinds):
        raise fail(path, f"must be {expected_kind(kinds)}, got {kind_of(value)}")
    return value


def number(data: Any, key: str, path: str, minimum: float = -math.inf) -> float:
    """A finite number at ``data[key]``, at least ``minimum``."""
    value = float(need(data, key, (int, float), path))
    if not math.isfinite(value) or value < minimum:
        raise fail(f"{path}.{key}", f"must be a finite number of at least {minimum:g}, got {value}")
    return value


def whole(data: Any, key: str, path: str, minimum: int = 0, maximum: int = 10**9) -> int:
    """A whole number at ``data[key]`` within [minimum, maximum]."""
    value = need(data, key, int, path)
    if not minimum <= value <= maximum:
        raise fail(f"{path}.{key}", f"must be between {minimum} and {maximum:,}, got {value}")
    return value


def bounded_list(data: Any, key: str, path: str, limit: int) -> list:
    """A list at ``data[key]`` of at most ``limit`` items."""
    value = need(data, key, list, path)
    if len(value) > limit:
        raise fail(f"{path}.{key}", f"has {len(value):,} items; at most {limit:,} are allowed")
    return value


def shape_from_dict(data: Any, path: str) -> Shape:
    """A validated segment from JSON data."""
    kind = need(data, "kind", str, path)
    cls = SHAPES.get(kind)
    if cls is None:
        raise fail(f"{path}.kind", f"unknown segment kind {kind[:40]!r}; known kinds: {', '.join(SHAPES)}")
    fields = {f.name: f for f in cls.params()}
    unknown = set(data) - set(fields) - {"kind", "fraction"}
    if unknown:
        # Its own are named: "cosine has no parameter max_lr" left the user to guess them (helper-78).
        raise fail(path, f"{kind} has no parameter {', '.join(sorted(str(u)[:40] for u in unknown))} (its parameters: "
                         f"{', '.join(fields)})")
    values = {name: param_from_json(data[name], f.metadata["kind"], f"{path}.{name}") for name, f in fields.items() if name in data}
    try:
        shape = cls(**values)
    except TypeError:
        missing = sorted(set(fields) - set(values))
        raise fail(path, f"{kind} needs {', '.join(missing)}") from None
    try:
        shape.validate()
    except ValueError as error:
        raise fail(path, str(error)) from None
    return shape


def param_from_json(value: Any, kind: str, path: str) -> Any:
    """A parameter value of ``kind`` converted from JSON to its Python form (lists become tuples); ScheduleFileError names ``path``."""
    if kind in (STEPS, COUNT):
        return check_type(value, int, path)
    if kind == FLAG:
        return check_type(value, bool, path)
    if kind == STEP_LIST:
        items = check_type(value, list, path)
        if len(items) > MAX_LIST:
            raise fail(path, f"has {len(items):,} items; at most {MAX_LIST:,} are allowed")
        return tuple(check_type(v, int, f"{path}[{i}]") for i, v in enumerate(items))
    if kind == POINTS:
        items = check_type(value, list, path)
        if len(items) > MAX_LIST:
            raise fail(path, f"has {len(items):,} points; at most {MAX_LIST:,} are allowed")
        return tuple(_point(p, f"{path}[{i}]") for i, p in enumerate(items))
    if isinstance(value, str):
        return value[:200]
    return check_type(value, (int, float), path)


def _point(value: Any, path: str) -> tuple[float, float]:
    pair = check_type(value, list, path)
    if len(pair) != 2:
        raise fail(path, "must be a [step, LR] pair")
    return (float(check_type(pair[0], (int, float), f"{path}[0]")), float(check_type(pair[1], (int, float), f"{path}[1]")))


def schedule_from_list(items: Any, path: str) -> Schedule:
    """A schedule from a JSON list of segments."""
    items = check_type(items, list, path)
    if not items:
        raise fail(path, "must hold at least one segment")
    if len(items) > MAX_SEGMENTS:
        raise fail(path, f"has {len(items):,} segments; at most {MAX_SEGMENTS:,} are allowed")
    return Schedule(tuple(shape_from_dict(item, f"{path}[{i}]") for i, item in enumerate(items)))


def piece_to_dict(piece: Piece, run_steps: int | None = None) -> dict[str, Any]:
    """A piece as JSON data (with fractions of the run when ``run_steps`` is given)."""
    data = {"start": piece.start, "origin": piece.origin}
    if run_steps:
        data["start_fraction"] = piece.start / run_steps
    data["groups"] = [{"name": g.name, "multiplier": g.multiplier, "frozen_until": g.frozen_until} for g in piece.groups]
    data["segments"] = [shape_to_dict(s, run_steps) for s in piece.schedule.segments]
    return data


def piece_from_dict(item: Any, where: str, legacy_groups: tuple[GroupSetting, ...] | None = None) -> Piece:
    """A validated piece; ``legacy_groups`` (from a version-1 document) stand in for the piece's own groups."""
    start = whole(item, "start", where)
    origin = whole(item, "origin", where)
    if origin > start:
        raise fail(f"{where}.origin", f"must not be after start ({start}), got {origin}")
    groups = legacy_groups if legacy_groups is not None else groups_from_list(bounded_list(item, "groups", where, MAX_GROUPS), f"{where}.groups")
    return Piece(start, origin, schedule_from_list(need(item, "segments", list, where), f"{where}.segments"), groups)


def groups_from_list(items: list, where: str) -> tuple[GroupSetting, ...]:
    """Validated group settings from a JSON list (``frozen_until`` may be left out: never frozen)."""
    groups = []
    for i, data in enumerate(items):
        at = f"{where}[{i}]"
        frozen = whole(data, "frozen_until", at) if isinstance(data, dict) and "frozen_until" in data else 0
        groups.append(GroupSetting(need(data, "name", str, at), number(data, "multiplier", at, 0.0), frozen))
    try:
        validate_groups(groups)
    except ValueError as error:
        raise fail(where, str(error)) from None
    return tuple(groups)


def timeline_from_dict(data: dict[str, Any], path: str = "schedule", version: int | None = None) -> Timeline:
    """A validated timeline from the JSON sections written by ``timeline_to_dict``.

    Version 1 (or, with no version, a document with a top-level ``param_groups``) had one
    set of multipliers for the whole run, with ``backbone`` meaning every group but ``head``.
    """
    pieces_data = bounded_list(data, "timeline", path, MAX_PIECES)
    if not pieces_data:
        raise fail(f"{path}.timeline", "must hold at least one piece")
    legacy = version == 1 if version is not None else "param_groups" in data
    if not legacy and "param_groups" in data:
        raise fail(f"{path}.param_groups", "belongs to version 1 files; from version 2 on each piece has its own groups")
    groups = legacy_groups(data, path) if legacy else None
    pieces = []
    for i, item in enumerate(pieces_data):
        piece = piece_from_dict(item, f"{path}.timeline[{i}]", groups)
        if pieces and piece.start <= pieces[-1].start:
            raise fail(f"{path}.timeline[{i}].start", f"must be after the previous piece's start ({pieces[-1].start}), got {piece.start}")
        pieces.append(piece)
    if pieces[0].start != 0:
        raise fail(f"{path}.timeline[0].start", f"must be 0, got {pieces[0].start}")
    return Timeline(tuple(pieces), _plateau(data.get("plateau"), f"{path}.plateau"), _momentum(data.get("momentum"), f"{path}.momentum"))


def legacy_groups(data: dict, path: str) -> tuple[GroupSetting, ...]:
    """Version 1's run-wide ``param_groups`` as group settings: ``backbone`` (every group but the head) becomes ``all``."""
    groups = groups_from_list(bounded_list(data, "param_groups", path, MAX_GROUPS), f"{path}.param_groups")
    names = {g.name for g in groups}
    if "backbone" in names and ALL not in names:
        groups = tuple(GroupSetting(ALL, g.multiplier) if g.name == "backbone" else g for g in groups)
    return groups


def _plateau(data: Any, path: str) -> PlateauRule | None:
    if data is None:
        return None
    check_type(data, dict, path)
    known = set(PlateauRule.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise fail(path, f"unknown field {sorted(str(u)[:40] for u in unknown)[0]}")
    values = {k: float(v) if k in ("factor", "threshold", "min_lr") and isinstance(v, int) and not isinstance(v, bool) else v for k, v in data.items()}
    rule = PlateauRule(**values)
    try:
        rule.validate()
    except ValueError as error:
        raise fail(path, str(error)) from None
    return rule


def _momentum(data: Any, path: str) -> float | None:
    if data is None:
        return None
    base = number(data, "base", path, 0.0)
    if base >= 1:
        raise fail(f"{path}.base", f"must be below 1, got {base:g}")
    return base
