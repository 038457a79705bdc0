"""The schedule file: round trip, strict validation naming the field, fuzzing, atomic writes."""

import copy
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ScheduleFileError
from engine.schedules import (
    Constant,
    GroupSetting,
    OneCycle,
    PlateauRule,
    RunSchedule,
    ScaleRest,
    Schedule,
    SetGroups,
    Timeline,
    load_schedule,
    parse_schedule,
    save_schedule,
    schedule_document,
)

NAMES = ("stem", "stage1", "head")


def run_schedule():
    """Pieces at 0, 40 and 60; the head trains alone until step 20, then the groups change at 60."""
    timeline = Timeline.of(Schedule((Constant(steps=10, lr=0.01), OneCycle(steps=90, max_lr=0.5))),
                           groups=(GroupSetting("all", 0.1, frozen_until=20), GroupSetting("head", 1.0)),
                           base_momentum=0.9, plateau=PlateauRule(patience=2))
    run = RunSchedule(timeline).apply(ScaleRest(0.5), 40, 0.3)
    return run.apply(SetGroups((GroupSetting("stem", 0.0, frozen_until=80), GroupSetting("stage1", 0.3), GroupSetting("head", 2.0))), 60, 0.3)


def document():
    return schedule_document(run_schedule(), dataset={"name": "digits", "fingerprint": "abc"},
                             context={"model": "small_cnn", "groups": list(NAMES)}, metrics={"best_val_accuracy": 0.97})


def test_round_trip_keeps_every_lr_momentum_and_group_setting(tmp_path):
    path = save_schedule(tmp_path / "s.json", document())
    loaded = load_schedule(path)
    original = run_schedule().timeline
    grid = np.arange(100)
    assert loaded.timeline == original
    assert np.array_equal(loaded.timeline.group_lrs(grid, NAMES), original.group_lrs(grid, NAMES))
    assert np.array_equal(loaded.timeline.momenta(grid), original.momenta(grid))
    assert loaded.timeline.plateau == PlateauRule(patience=2) and loaded.group_names == NAMES
    assert loaded.dataset["fingerprint"] == "abc" and loaded.edits[0]["summary"] == "scaled the rest ×0.5"
    assert loaded.edits[1]["details"]["groups"][0] == {"name": "stem", "multiplier": 0.0, "frozen_until": 80}


def test_group_settings_drive_each_group_by_name():
    lrs = run_schedule().timeline.group_lrs(np.array([5, 30, 50, 70, 90]), NAMES)
    base = run_schedule().timeline.lrs(np.array([5, 30, 50, 70, 90]))
    assert np.array_equal(lrs[0], [0.0, 0.0, base[0]])  # before step 20 every group but the head is frozen
    assert np.allclose(lrs[1], base[1] * np.array([0.1, 0.1, 1.0])) and np.allclose(lrs[2], base[2] * np.array([0.1, 0.1, 1.0]))
    assert np.allclose(lrs[3], base[3] * np.array([0.0, 0.3, 2.0])) and np.allclose(lrs[4], base[4] * np.array([0.0, 0.3, 2.0]))
    assert run_schedule().timeline.group_settings(np.array([70, 90]), NAMES)[1].tolist() == [[True, False, False], [False, False, False]]


def test_a_version_1_file_still_loads_with_backbone_driving_every_group_but_the_head(tmp_path):
    data = document()
    data["version"] = 1
    data["param_groups"] = [{"name": "backbone", "multiplier": 0.25}, {"name": "head", "multiplier": 1.0}]
    for piece in data["timeline"]:
        del piece["groups"]
    loaded = parse_schedule(json.dumps(data))
    assert all(p.groups == (GroupSetting("all", 0.25), GroupSetting("head", 1.0)) for p in loaded.timeline.pieces)
    grid = np.arange(100)
    assert np.allclose(loaded.timeline.group_lrs(grid, NAMES), loaded.timeline.lrs(grid)[:, None] * [0.25, 0.25, 1.0])


def test_segments_also_carry_fractions_of_the_run():
    segments = document()["timeline"][0]["segments"]
    assert [s["fraction"] for s in segments] == [0.1, 0.9]


def test_for_run_restretches_to_another_length(tmp_path):
    loaded = load_schedule(save_schedule(tmp_path / "s.json", document()))
    longer = loaded.for_run(300)
    assert longer.total_steps == 300
    assert longer.lr_at(0) == loaded.timeline.lr_at(0) and longer.lr_at(300) == pytest.approx(loaded.timeline.lr_at(100))


def test_written_atomically_with_no_temporary_left(tmp_path):
    save_schedule(tmp_path / "s.json", document())
    save_schedule(tmp_path / "s.json", document())
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def mutate(path, value):
    data = document()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize("path, value, message", [
    (("format",), "something", "not an lrscope schedule file"),
    (("version",), 99, "made by a newer lrscope"),
    (("version",), "1", "version: must be a whole number"),
    (("timeline", 0, "segments", 0, "lr"), -0.1, "timeline[0].segments[0]: lr must be a learning rate"),
    (("timeline", 0, "segments", 0, "lr"), "fast", "timeline[0].segments[0]: lr must be a number"),
    (("timeline", 0, "segments", 0, "steps"), 0, "steps must be between 1"),
    (("timeline", 0, "segments", 0, "steps"), 2.5, "segments[0].steps: must be a whole number, got a number"),
    (("timeline", 0, "segments", 0, "kind"), "warp", "unknown segment kind 'warp'"),
    (("timeline", 0, "segments", 0, "extra"), 1, "constant has no parameter extra"),
    (("timeline", 1, "start"), 0, "timeline[1].start: must be after the previous piece's start"),
    (("timeline", 0, "segments"), [], "must hold at least one segment"),
    (("timeline", 0, "groups", 0, "multiplier"), -1, "timeline[0].groups[0].multiplier: must be a finite number of at least 0"),
    (("timeline", 0, "groups", 0, "multiplier"), 1e7, "timeline[0].groups: group all: multiplier must be from 0 to 1e+06"),
    (("timeline", 0, "groups", 0, "frozen_until"), -5, "timeline[0].groups[0].frozen_until: must be between 0"),
    (("timeline", 0, "groups", 1, "name"), "all", "timeline[0].groups: a group is named twice: all"),
    (("timeline", 0, "groups"), [], "timeline[0].groups: a piece must set at least one group"),
    (("param_groups",), [{"name": "a", "multiplier": 1}], "param_groups: belongs to version 1 files"),
    (("total_steps",), 5, "total_steps: says 5 but the timeline lasts 100 steps"),
    (("plateau", "factor"), 3.0, "schedule.plateau: factor must be between 0 and 1"),
    (("momentum",), {"base": 1.5}, "momentum.base: must be below 1"),
])
def test_invalid_fields_are_named(path, value, message):
    with pytest.raises(ScheduleFileError) as error:
        parse_schedule(mutate(path, value))
    assert message in str(error.value)


@pytest.mark.parametrize("text, message", [
    ("{", "not valid JSON"),
    # Valid JSON, not called a syntax error; the field is named, as every other refused value's is.
    ('{"format": "lrscope.schedule", "version": 1, "lr": NaN}', r"^lr: NaN is not a number a schedule can hold"),
    ('{"schedule": {"timeline": [{"segments": [{"lr": 0.1}, {"lr": -Infinity}]}]}}',
     r"^schedule\.timeline\[0\]\.segments\[1\]\.lr: -Infinity is not a number a schedule can hold"),
    ('{"x": [1, 1e999]}', r"^x\[1\]: the number 1e999 is too large"),
    # Not JSON either, after the number that stopped the first reading: the second reading let its syntax error escape
    # as a traceback from every command and the window (helper-122).
    ('{"a": NaN1}', r"^not valid JSON \(Expecting ',' delimiter: line 1 column 10"),
    ('{"a": Infinity,}', r"^not valid JSON \(Expecting property name"),
    ("[1e999, ", r"^not valid JSON \(Expecting value"),
    ("[NaN, " + "[" * 100_000, "nested too deeply"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("9" * 10_000, r"^the number 999999999999… \(10000 digits\) is too large"),
    ("[]", "file: must be an object, got an array"),
    ('{"model": "resnet18"}', r"^not an lrscope schedule file \(no format field, expected"),  # it said "format is 'None'"
])
def test_hostile_text(text, message):
    with pytest.raises(ScheduleFileError, match=message):
        parse_schedule(text)


def test_files_that_cannot_be_read(tmp_path):
    with pytest.raises(ScheduleFileError, match="no such file"):
        load_schedule(tmp_path / "missing.json")
    with pytest.raises(ScheduleFileError, match="is a folder"):
        load_schedule(tmp_path)
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ScheduleFileError, match="not a text file"):
        load_schedule(tmp_path / "bin.json")
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"pad": "x" * (21 * 1024 * 1024)}))
    with pytest.raises(ScheduleFileError, match="too large for a schedule file"):
        load_schedule(big)


def test_absurd_sizes_are_refused():
    data = document()
    data["timeline"][0]["segments"] = data["timeline"][0]["segments"] * 6000
    with pytest.raises(ScheduleFileError, match="at most 10,000 are allowed"):
        parse_schedule(json.dumps(data))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_raises_only_schedule_file_errors(value):
    try:
        parse_schedule(json.dumps(value))
    except ScheduleFileError:
        pass


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


VALID = document()
PATHS = [p for p in _paths(VALID) if p]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(PATHS), json_values | st.sampled_from([-1, 0, 10**12, -1e308, 1e-320, "", [], {}]))
def test_mutated_valid_files_raise_only_schedule_file_errors(path, replacement):
    data = copy.deepcopy(VALID)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = replacement
    try:
        loaded = parse_schedule(json.dumps(data))
    except ScheduleFileError:
        return
    curve = loaded.timeline.lrs(np.arange(loaded.timeline.total_steps))
    assert np.all(np.isfinite(curve)) and all(math.isfinite(g.multiplier) for p in loaded.timeline.pieces for g in p.groups)


def test_a_segment_parameter_left_out_of_a_file_is_named_with_the_default_used(tmp_path):
    """A one_cycle without div_factor began at max_lr / 25 with no word, as `schedule show` and `csv` read it (helper-80)."""
    from helpers import lrscope

    path = save_schedule(tmp_path / "s.json", schedule_document(RunSchedule(Timeline.of(Schedule((OneCycle(steps=50, max_lr=0.1, div_factor=10.0),))))))
    for command in ("show", "csv"):
        assert "warning" not in lrscope("schedule", command, path).stderr
    data = json.loads(path.read_text())
    del data["timeline"][0]["segments"][0]["div_factor"]
    path.write_text(json.dumps(data))
    for command in ("show", "csv"):
        done = lrscope("schedule", command, path)
        assert done.returncode == 0 and done.stderr == (f"warning: {path}: schedule.timeline[0].segments[0]: one_cycle does not give "
                                                         "div_factor (using the default 25.0)\n"), done.stderr
