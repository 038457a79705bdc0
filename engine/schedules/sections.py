"""The informational sections of a schedule file (dataset, context, range test, edits, metrics, search), checked field by field.

A field of the wrong type is dropped with a warning naming it: nothing downstream meets a type it does
not expect, and a damaged note never makes a good schedule unusable. Fields this version does not
know are dropped silently (nothing reads them). Text is made printable on the way in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..text import kind_of, printable

MAX_ITEMS = 100_000
MAX_TEXT = 2_000
Warn = Callable[[str], None]
Check = Callable[[Any, str, Warn], Any]


class Bad(Exception):
    """A value of the wrong type or range; the message says what was expected."""


def string(value: Any, path: str, warn: Warn) -> str:
    """A string, shortened and made printable."""
    if not isinstance(value, str):
        raise Bad(f"must be text, got {kind_of(value)}")
    return printable(value[:MAX_TEXT])


def whole(value: Any, path: str, warn: Warn) -> int:
    """A whole number of sensible size (never a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Bad(f"must be a whole number, got {kind_of(value)}")
    if not -10**15 <= value <= 10**15:
        raise Bad(f"must be a whole number of sensible size, got {str(value)[:20]}")
    return value


def number(value: Any, path: str, warn: Warn) -> float:
    """A finite number (never a boolean)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Bad(f"must be a number, got {kind_of(value)}")
    if not math.isfinite(float(value)):
        raise Bad("must be finite")
    return value


def flag(value: Any, path: str, warn: Warn) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise Bad(f"must be true or false, got {kind_of(value)}")
    return value


def scalar(value: Any, path: str, warn: Warn) -> Any:
    """A number, text, boolean or null."""
    if value is None or isinstance(value, bool):
        return value
    return string(value, path, warn) if isinstance(value, str) else number(value, path, warn)


def json_data(value: Any, path: str, warn: Warn) -> Any:
    """Any JSON value (for details nothing reads but people), with its text made printable."""
    if isinstance(value, str):
        return string(value, path, warn)
    if isinstance(value, list):
        return [json_data(v, path, warn) for v in value[:MAX_ITEMS]]
    if isinstance(value, dict):
        return {printable(str(k)): json_data(v, path, warn) for k, v in value.items()}
    return value


def maybe(check: Check) -> Check:
    """``check``, or null."""
    return lambda value, path, warn: None if value is None else check(value, path, warn)


def items(check: Check, limit: int = MAX_ITEMS) -> Check:
    """A list of at most ``limit`` values that each pass ``check`` (one bad item makes the list bad)."""
    def checked(value: Any, path: str, warn: Warn) -> list:
        if not isinstance(value, list):
            raise Bad(f"must be a list, got {kind_of(value)}")
        if len(value) > limit:
            raise Bad(f"has {len(value):,} items; at most {limit:,} are allowed")
        return [check(v, f"{path}[{i}]", warn) for i, v in enumerate(value)]
    return checked


def exactly(check: Check, length: int) -> Check:
    """A list of exactly ``length`` values that each pass ``check`` (a width and height, not one of them)."""
    listed = items(check, length)

    def checked(value: Any, path: str, warn: Warn) -> list:
        if len(kept := listed(value, path, warn)) != length:
            raise Bad(f"must hold {length} values, got {len(kept)}")
        return kept
    return checked


def table(check: Check, limit: int = MAX_ITEMS) -> Check:
    """An object whose values each pass ``check`` (its keys are names)."""
    def checked(value: Any, path: str, warn: Warn) -> dict:
        if not isinstance(value, dict):
            raise Bad(f"must be an object, got {kind_of(value)}")
        if len(value) > limit:
            raise Bad(f"has {len(value):,} entries; at most {limit:,} are allowed")
        return {printable(k[:MAX_TEXT]): check(v, f"{path}.{k}", warn) for k, v in value.items()}
    return checked


def record(fields: dict[str, Check], required: tuple[str, ...] = ()) -> Check:
    """An object with known fields: each bad field is dropped with a warning, unknown ones silently;
    without a good value for every ``required`` field the whole object is bad."""
    def checked(value: Any, path: str, warn: Warn) -> dict:
        if not isinstance(value, dict):
            raise Bad(f"must be an object, got {kind_of(value)}")
        kept = {}
        for key, check in fields.items():
            if key not in value:
                continue
            try:
                kept[key] = check(value[key], f"{path}.{key}", warn)
            except Bad as error:
                warn(printable(f"{path}.{key}: {error}; ignored"))
        missing = [key for key in required if key not in kept]
        if missing:
            raise Bad(f"has no usable {', '.join(missing)}")
        return kept
    return checked


def section(data: dict, key: str, check: Check, warn: Warn) -> Any:
    """``data[key]`` checked, or None (with a warning when it was there but unusable)."""
    if data.get(key) is None:
        return None
    try:
        return check(data[key], key, warn)
    except Bad as error:
        warn(printable(f"{key}: {error}; the section is ignored"))
        return None


_count, _counts = maybe(whole), items(number, 16)
DATASET = record({
    "name": string, "root": string, "fingerprint": string, "classes": items(string), "class_counts": table(whole),
    "image_count": whole, "presplit": flag, "image_sizes": table(exactly(whole, 2), 8),
    "size_counts": items(exactly(whole, 3), 100), "sizes_read": whole, "resolution": whole,
    "channels": whole, "mean": _counts, "std": _counts, "unreadable": whole,
})
CONTEXT = record({
    "model": string, "groups": maybe(items(string, 64)), "batch_size": whole, "processes": whole, "steps_per_epoch": whole,
    "total_steps": whole, "epochs": whole,
    "augment": string, "seed": whole, "weights": string, "frozen_bn": string,
    "optimizer": record({"name": string, "lr": number, "momentum": number, "nesterov": flag, "weight_decay": number}),
})
_curve = items(maybe(number))
RANGE_TEST = record({
    "mode": string, "settings": table(scalar, 100), "stop_reason": string, "notes": items(string), "seconds": number,
    "curve": record({"lr": _curve, "loss": _curve, "smoothed": _curve}),
    "suggestions": items(record({"method": string, "lr": number, "loss": maybe(number), "explanation": string},
                                ("method", "lr")), 100),
    "recommended": maybe(record({"constant_lr": number, "constant_method": string, "one_cycle_max_lr": number,
                                 "one_cycle_method": string, "spread": maybe(number), "notes": items(string),
                                 "low_confidence": flag, "methods_spread": maybe(number)},
                                ("constant_lr", "one_cycle_max_lr"))),
})
EDIT = record({"id": whole, "step": whole, "kind": string, "reason": string, "summary": string, "details": json_data,
               "undoes": _count, "redoes": _count, "source": string})
METRICS = table(scalar, 100)  # numbers, and the run's id
_trial = record({"number": whole, "params": table(number, 16), "seed": whole, "state": string, "val_accuracy": maybe(number),
                 "val_loss": maybe(number), "steps": whole, "run_dir": string, "reports": items(items(maybe(number), 3)),
                 "smoothed_accuracy": maybe(number), "why": string})
SEARCH = record({
    "format": string, "version": whole, "folder": string, "dataset": record({"name": string, "fingerprint": string}),
    "config": json_data, "settings": json_data, "method": table(string, 16), "budget": table(number, 16),
    "interval": record({"low": number, "high": number, "source": string}), "range_test": json_data,
    "trials": items(_trial), "run_again": items(_trial), "baseline": maybe(_trial), "winner": maybe(_trial), "seconds": number, "cancelled": flag,
})
