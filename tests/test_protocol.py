"""Every event and command crosses a process boundary intact; anything else is refused with a clear message."""

import importlib
import json
import pkgutil
import types
import typing

import numpy as np
import pytest

import engine
from engine import protocol
from engine.commands import Command, EditSchedule, Pause
from engine.events import Event, LogLine, ScheduleChanged, StepsLogged
from engine.plain import JsonObject
from engine.protocol.values import CONVERTERS, field_types
from engine.schedules import GroupSetting, RunSchedule, ScaleRest, Schedule, SetConstant, SetGroups, Timeline, Undo, Unfreeze
from engine.schedules.edits import Edit
from engine.schedules.presets import preset


def all_subclasses(base):
    """Every subclass of ``base`` defined anywhere in the engine (so a new one cannot be forgotten)."""
    for module in pkgutil.walk_packages(engine.__path__, "engine."):
        importlib.import_module(module.name)
    found, todo = set(), [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    # Only the engine's own: a class a test defines to be refused (below) must not count, whatever the order.
    return sorted((c for c in found if c.__module__.startswith("engine.")), key=lambda c: c.__name__)


def sample_run_schedule():
    groups = (GroupSetting("block1", 0.5, frozen_until=20), GroupSetting("all", 1.0))
    run = RunSchedule(Timeline.of(preset("one_cycle", 0.1, 100), groups, base_momentum=0.9))
    run = run.apply(SetConstant(0.02, source="ctl on laptop"), 30, 0.05)
    run = run.apply(ScaleRest(0.5, reason="plateau"), 40, 0.02)
    run = run.apply(SetGroups((GroupSetting("all", 0.3),)), 45, 0.01)
    return run.apply(Undo(), 50, 0.01)


EXAMPLES = {RunSchedule: sample_run_schedule(), Schedule: preset("cosine", 0.05, 80)}


def examples(hint, depth=0):
    """Values of type ``hint``: one of each registered subclass for a class, a few shapes for arrays
    (a class that holds itself, like a repeated range test, is nested once)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in EXAMPLES:
        return [EXAMPLES[hint]]
    if hint is int:
        return [7]
    if hint is float:
        return [0.25, float("nan")]
    if hint is str:
        return ["ünïcode text"]
    if hint is bool:
        return [True]
    if hint is np.ndarray:
        return [np.array([[1.5, np.nan], [2.0, np.inf]]), np.arange(4, dtype=np.int64)]
    if hint is JsonObject:
        return [{"a": [1, 2.5, None, "x", {"b": True}]}]
    if origin in (typing.Union, types.UnionType):
        return [None, *examples(args[0] if args[1] is type(None) else args[1], depth)]
    if origin is tuple:
        return [(), tuple(examples(args[0], depth + 1)[:1] * 2)] if depth < 2 else [()]
    assert hint in CONVERTERS or not hint.__dataclass_fields__ or protocol.is_registered(hint) or any(
        issubclass(c, hint) for c in protocol.registered()), f"no example for {hint}"
    concrete = [c for c in protocol.registered() if issubclass(c, hint)]
    return [instance for cls in concrete for instance in instances(cls, depth)]


def instances(cls, depth=0):
    """One instance per example of each field (the other fields at their first example)."""
    choices = {name: examples(hint, depth) for name, hint in field_types(cls).items()}
    first = {name: values[0] for name, values in choices.items()}
    made = [cls(**first)]
    for name, values in choices.items():
        made += [cls(**{**first, name: value}) for value in values[1:]]
    return made


def same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float):
        return isinstance(b, float) and (a == b or (a != a and b != b))
    if isinstance(a, (RunSchedule, Schedule)):
        return type(a) is type(b) and CONVERTERS[type(a)][0](a) == CONVERTERS[type(b)][0](b)
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(same(getattr(a, f), getattr(b, f)) for f in field_types(type(a)))
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("base", [Event, Command])
def test_every_event_and_command_is_registered_and_round_trips(base):
    for cls in all_subclasses(base):
        assert protocol.is_registered(cls), f"{cls.__module__}.{cls.__name__} is not in engine/protocol/catalog.py"
        for message in instances(cls):
            text = protocol.encode(message)
            back = protocol.decode(text, base)
            assert same(message, back), f"{cls.__name__} changed on its way: {message} -> {back}"
            assert protocol.encode(back) == text


def test_every_edit_travels_inside_an_edit_command():
    edits = {type(command.edit) for command in instances(EditSchedule)}
    assert set(all_subclasses(Edit)) <= edits and {ScaleRest, SetConstant, Undo, Unfreeze} <= edits


def test_a_remote_edit_keeps_its_source_in_the_run_schedule():
    back = protocol.decode(protocol.encode(EditSchedule(SetConstant(0.01, source="ctl on laptop"))), Command)
    assert back.edit.source == "ctl on laptop"
    changed = protocol.decode(protocol.encode(ScheduleChanged(30, sample_run_schedule(), "s", "user")), Event)
    assert changed.run_schedule.edits[0].edit.source == "ctl on laptop"


def tampered(message, change):
    data = protocol.to_data(message)
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize("change, error", [
    (lambda d: d.update(v=2), "Pause version 2 is not understood here (this lrscope speaks version 1)"),
    (lambda d: d.update(type="Evil"), "unknown message type 'Evil'"),
    (lambda d: d.update(type="StepsLogged"), "expected Command, got StepsLogged"),
    (lambda d: d["fields"].update(id=3), "message.id: must be text, got a whole number"),
    (lambda d: d["fields"].update(extra=1), "Pause has no field 'extra'"),
])
def test_unknown_versions_types_and_fields_are_refused(change, error):
    with pytest.raises(protocol.ProtocolError, match=error.replace("(", r"\(").replace(")", r"\)")):
        protocol.decode(tampered(Pause(), change), Command)


def test_an_event_is_not_accepted_where_a_command_is_expected():
    with pytest.raises(protocol.ProtocolError, match="expected Command, got LogLine"):
        protocol.decode(protocol.encode(LogLine("hi")), Command)


@pytest.mark.parametrize("fields, error", [
    ({"edit": {"type": "SetConstant", "v": 1, "fields": {"lr": "0.1"}}}, "message.edit.lr: must be a number, got text"),
    ({"edit": {"type": "SetConstant", "v": 1, "fields": {"lr": True}}}, "got a boolean"),
    ({"edit": {"type": "SetConstant", "v": 1, "fields": {}}}, "SetConstant needs lr"),
    ({"edit": {"type": "Pause", "v": 1, "fields": {}}}, "expected Edit, got Pause"),
    ({"edit": {"type": "ReplaceRest", "v": 1, "fields": {"schedule": [{"kind": "rm -rf"}]}}}, "unknown segment kind"),
    ({"edit": {"type": "ChangeSegment", "v": 1, "fields": {"index": 0, "changes": {"a": json.loads("[" * 40 + "]" * 40)}}}},
     "nested more than 32 levels"),
])
def test_malformed_commands_name_the_field_at_fault(fields, error):
    data = {"type": "EditSchedule", "v": 1, "fields": fields}
    with pytest.raises(protocol.ProtocolError, match=error):
        protocol.decode(json.dumps(data), Command)


def test_arrays_must_hold_numbers_of_the_stated_shape():
    good = protocol.to_data(StepsLogged(np.arange(2), np.ones(2), np.ones((2, 1)), np.ones(2), 1.0, 2, ("head",)))
    for bad, error in (({"dtype": "object", "shape": [2], "data": [1, 2]}, "dtype: must be one of"),
                       ({"dtype": "int64", "shape": [3], "data": [1, 2]}, "needs 3 values, got 2"),
                       ({"dtype": "float64", "shape": [2], "data": ["1", "2"]}, "must hold only numbers")):
        good["fields"]["steps"] = bad
        with pytest.raises(protocol.ProtocolError, match=error):
            protocol.from_data(good, Event)


def test_registering_a_type_with_a_live_object_fails():
    from dataclasses import dataclass
    from typing import Any

    @dataclass(frozen=True)
    class Carries(Event):
        thing: Any

    with pytest.raises(TypeError, match="cannot write values of type typing.Any"):
        protocol.register(Carries)
    with pytest.raises(TypeError, match="is not registered with the protocol; add it to engine/protocol/catalog.py"):
        protocol.encode(Carries(1))
