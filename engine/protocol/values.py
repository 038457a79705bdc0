"""Field values to plain JSON data and back, driven by each field's type annotation.

Decoding is strict: every value must have the annotated type (a bool is not a number, a string is not
an LR), sizes are bounded, and each error names the field at fault. Values of registered classes carry
their type name and version, so a field annotated with a base class (an ``Edit``) holds any registered
subclass, and only those.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from ..errors import ScheduleFileError
from ..plain import JsonObject
from ..schedules.codec import schedule_from_list, shape_to_dict
from ..schedules.edits import RunSchedule
from ..schedules.history_codec import run_schedule_from_dict, run_schedule_to_dict
from ..schedules.schedule import Schedule
from ..text import expected_kind, kind_of
from .registry import ProtocolError, entry_named, entry_of

MAX_ITEMS = 10_000_000
MAX_DEPTH = 32
DTYPES = ("float64", "float32", "int64", "int32", "bool")

# Values whose classes have their own strict codec (the schedule file's).
CONVERTERS: dict[type, tuple[Callable[[Any], Any], Callable[[Any, str], Any]]] = {
    RunSchedule: (run_schedule_to_dict, lambda data, path: run_schedule_from_dict(_object(data, path))),
    Schedule: (lambda schedule: [shape_to_dict(s) for s in schedule.segments], schedule_from_list),
}


@cache
def field_types(cls: type) -> dict[str, Any]:
    """The annotated type of each init field of dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def check_supported(hint: Any, where: str) -> None:
    """TypeError naming ``where`` when values of ``hint`` cannot be written (``Any``, or an unsupported type)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in (int, float, str, bool, type(None), np.ndarray, JsonObject) or hint in CONVERTERS:
        return
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        check_supported(next(a for a in args if a is not type(None)), where)
    elif origin in (tuple, list) and (len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis)):
        check_supported(args[0], where)
    elif origin is dict and args and args[0] is str:
        check_supported(args[1], where)
    elif not (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
        raise TypeError(f"{where}: the protocol cannot write values of type {hint!r}; use plain data or a registered class")


# -- writing ----------------------------------------------------------------------------


def to_plain(value: Any, hint: Any, path: str = "message") -> Any:
    """``value`` (of type ``hint``) as JSON data; TypeError (a bug in the sender) when it is not of that type."""
    try:
        if value is None or hint in (int, float, str, bool):
            return value if value is None else from_plain(value, hint, path)
        if hint is np.ndarray:
            return {"dtype": str(value.dtype), "shape": list(value.shape), "data": value.ravel().tolist()}
        if hint is JsonObject:
            check_plain(_object(value, path), path)
            return value
    except ProtocolError as error:
        raise TypeError(f"cannot send {error}") from None
    if hint in CONVERTERS:
        return CONVERTERS[hint][0](value)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return to_plain(value, next(a for a in args if a is not type(None)), path)
    if origin in (tuple, list):
        return [to_plain(v, args[0], f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        return {k: to_plain(v, args[1], f"{path}.{k}") for k, v in value.items()}
    return tagged(value, path)


def tagged(value: Any, path: str = "message") -> dict[str, Any]:
    """A registered dataclass as {"type", "v", "fields"}."""
    entry = entry_of(type(value))
    fields = {name: to_plain(getattr(value, name), hint, f"{path}.{name}") for name, hint in field_types(entry.cls).items()}
    return {"type": entry.name, "v": entry.version, "fields": fields}


# -- reading ----------------------------------------------------------------------------


def from_plain(data: Any, hint: Any, path: str) -> Any:
    """The value of type ``hint`` that ``data`` describes; ProtocolError names ``path`` when it is not one."""
    if hint in (int, str, bool):
        return _exactly(data, hint, path)
    if hint is float:
        return float(_exactly(data, (int, float), path))
    if hint is type(None):
        return _exactly(data, type(None), path)
    if hint is np.ndarray:
        return _array(data, path)
    if hint is JsonObject:
        check_plain(_object(data, path), path)
        return data
    if hint in CONVERTERS:
        try:
            return CONVERTERS[hint][1](data, path)
        except ScheduleFileError as error:
            raise ProtocolError(str(error)) from None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return None if data is None else from_plain(data, next(a for a in args if a is not type(None)), path)
    if origin in (tuple, list):
        items = _exactly(data, list, path)
        _bounded(len(items), path)
        item_hint = args[0]
        values = [from_plain(v, item_hint, f"{path}[{i}]") for i, v in enumerate(items)]
        return tuple(values) if origin is tuple else values
    if origin is dict:
        return {_exactly(k, str, path): from_plain(v, args[1], f"{path}.{k}") for k, v in _object(data, path).items()}
    return untagged(data, hint, path)


def untagged(data: Any, expected: type, path: str) -> Any:
    """The registered dataclass (``expected`` or a subclass of it) that tagged ``data`` describes."""
    data = _object(data, path)
    unknown = set(data) - {"type", "v", "fields"}
    if unknown:
        raise ProtocolError(f"{path}: unexpected key {sorted(map(str, unknown))[0][:40]!r}")
    entry = entry_named(data.get("type"), data.get("v"), path)
    if not issubclass(entry.cls, expected):
        raise ProtocolError(f"{path}: expected {expected.__name__}, got {entry.name}")
    types_ = field_types(entry.cls)
    given = _object(data.get("fields"), f"{path}.fields")
    extra = set(given) - set(types_)
    if extra:
        raise ProtocolError(f"{path}: {entry.name} has no field {sorted(map(str, extra))[0][:40]!r}")
    values = {name: from_plain(given[name], hint, f"{path}.{name}") for name, hint in types_.items() if name in given}
    try:
        return entry.cls(**values)
    except TypeError:
        missing = sorted(set(types_) - set(values))
        raise ProtocolError(f"{path}: {entry.name} needs {', '.join(missing)}") from None


def _exactly(data: Any, kind: type | tuple[type, ...], path: str) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(data, bool) and bool not in kinds:
        raise ProtocolError(f"{path}: must be {expected_kind(kinds)}, got a boolean")
    if not isinstance(data, kinds):
        raise ProtocolError(f"{path}: must be {expected_kind(kinds)}, got {kind_of(data)}")
    return data


def _object(data: Any, path: str) -> dict:
    return _exactly(data, dict, path)


def _bounded(count: int, path: str) -> None:
    if count > MAX_ITEMS:
        raise ProtocolError(f"{path}: has {count:,} items; at most {MAX_ITEMS:,} are allowed")


def _array(data: Any, path: str) -> np.ndarray:
    data = _object(data, path)
    dtype = data.get("dtype")
    if dtype not in DTYPES:
        raise ProtocolError(f"{path}.dtype: must be one of {', '.join(DTYPES)}, got {str(dtype)[:20]!r}")
    shape = _exactly(data.get("shape"), list, f"{path}.shape")
    if len(shape) > 4 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise ProtocolError(f"{path}.shape: must be up to 4 whole numbers")
    values = _exactly(data.get("data"), list, f"{path}.data")
    _bounded(len(values), path)
    if len(values) != math.prod(shape):
        raise ProtocolError(f"{path}: shape {shape} needs {math.prod(shape)} values, got {len(values)}")
    array = np.array(values) if values else np.zeros(0)
    if array.dtype.kind not in "fiub":
        raise ProtocolError(f"{path}.data: must hold only numbers")
    return array.astype(dtype).reshape(shape)


def check_plain(data: Any, path: str, depth: int = 0) -> int:
    """The number of values in JSON data ``data``; ProtocolError when it holds anything else or is too deep or large."""
    if depth > MAX_DEPTH:
        raise ProtocolError(f"{path}: nested more than {MAX_DEPTH} levels deep")
    if isinstance(data, dict):
        count = 1
        for key, value in data.items():
            _exactly(key, str, path)
            count += check_plain(value, f"{path}.{key[:40]}", depth + 1)
    elif isinstance(data, list):
        count = 1 + sum(check_plain(value, f"{path}[{i}]", depth + 1) for i, value in enumerate(data))
    else:
        _exactly(data, (str, int, float, bool, type(None)), path)
        count = 1
    _bounded(count, path)
    return count
