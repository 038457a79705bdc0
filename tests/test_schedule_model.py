"""Shapes, schedules and timelines: pure evaluation, validation, stretching, group multipliers."""

import numpy as np
import pytest

from engine.schedules import (
    SHAPES,
    Constant,
    Cosine,
    CosineRestarts,
    Cyclic,
    Exponential,
    GroupMismatch,
    GroupSetting,
    Keypoints,
    Linear,
    MultiStep,
    OneCycle,
    Piece,
    Polynomial,
    Schedule,
    StepDecay,
    Timeline,
)
from engine.schedules.presets import PRESETS, peak_lr, preset, with_peak_lr

EXAMPLES = [
    Constant(steps=10, lr=0.1), Linear(steps=10, start_lr=0.0, end_lr=0.1), Exponential(steps=10, start_lr=0.1, gamma=0.9),
    StepDecay(steps=30, start_lr=0.1, step_size=7), MultiStep(steps=30, start_lr=0.1, milestones=(5, 20)),
    Cosine(steps=20, start_lr=0.1), CosineRestarts(steps=40, start_lr=0.1, period=7, period_mult=2),
    Polynomial(steps=20, start_lr=0.1, power=2.0), OneCycle(steps=50, max_lr=0.5), OneCycle(steps=50, max_lr=0.5, three_phase=True),
    Cyclic(steps=40, base_lr=0.01, max_lr=0.1, step_size_up=5, step_size_down=5, mode="triangular2"),
    Keypoints(steps=30, points=((0, 0.01), (10, 0.1), (30, 0.001)), interpolation="log"),
]


def test_every_kind_has_an_example_and_help_for_every_parameter():
    assert {s.kind for s in EXAMPLES} == set(SHAPES)
    for cls in SHAPES.values():
        for f in cls.params():
            assert f.metadata["help"].endswith("."), (cls.kind, f.name)


@pytest.mark.parametrize("shape", EXAMPLES, ids=lambda s: s.kind)
def test_lr_at_is_pure_and_matches_the_vector_form(shape):
    schedule = Schedule((shape,))
    shape.validate()
    curve = schedule.lrs(np.arange(shape.steps))
    again = [schedule.lr_at(t) for t in range(shape.steps)]
    assert np.allclose(curve, again, rtol=0, atol=0) and np.array_equal(curve, schedule.lrs(np.arange(shape.steps)))
    assert np.all(np.isfinite(curve)) and np.all(curve >= 0)


@pytest.mark.parametrize("shape", EXAMPLES, ids=lambda s: s.kind)
def test_scaling_and_starting_at(shape):
    schedule = Schedule((shape,))
    grid = np.arange(shape.steps)
    assert np.allclose(schedule.scaled(3.0).lrs(grid), 3.0 * schedule.lrs(grid))
    assert schedule.starting_at(0.0123).lr_at(0) == pytest.approx(0.0123)


@pytest.mark.parametrize("shape", EXAMPLES, ids=lambda s: s.kind)
def test_stretching_keeps_the_shape(shape):
    schedule = Schedule((shape, Constant(steps=10, lr=0.05)))
    long = schedule.stretched(3.0)
    assert long.total_steps == 3 * schedule.total_steps
    fractions = np.linspace(0, 0.99, 25)
    short_values = schedule.lrs(np.floor(fractions * schedule.total_steps))
    long_values = long.lrs(np.floor(fractions * long.total_steps))
    assert np.corrcoef(short_values, long_values)[0, 1] > 0.9 or np.allclose(short_values, long_values)


def test_past_the_end_the_final_value_holds():
    schedule = Schedule((Cosine(steps=10, start_lr=0.1, end_lr=0.01),))
    assert schedule.lr_at(10) == pytest.approx(0.01) and schedule.lr_at(1000) == pytest.approx(0.01)


@pytest.mark.parametrize("shape, message", [
    (Constant(steps=0, lr=0.1), "steps must be between 1"),
    (Constant(steps=5, lr=float("nan")), "lr must be finite"),
    (Constant(steps=5, lr=-1.0), "lr must be a learning rate between 0"),
    (Exponential(steps=5, start_lr=0.1, gamma=0.0), "gamma must be greater than 0"),
    (MultiStep(steps=5, start_lr=0.1, milestones=(4, 2)), "increasing order"),
    (OneCycle(steps=5, max_lr=1.0, pct_start=0.1), "pct_start 0.1 leaves a phase of this 5-step one-cycle with no steps; it needs at least 11 steps"),
    (Keypoints(steps=10, points=((5, 0.1), (2, 0.2))), "strictly increasing step order"),
    (Keypoints(steps=10, points=((0, 0.0), (5, 0.2)), interpolation="log"), "above 0 for log"),
    (Cyclic(steps=5, base_lr=0.1, max_lr=1.0, step_size_up=2, step_size_down=2, mode="sideways"), "mode must be one of"),
])
def test_invalid_parameters_are_named(shape, message):
    with pytest.raises(ValueError, match=message):
        shape.validate()


def test_timeline_pieces_and_their_group_settings():
    first = Schedule((Constant(steps=100, lr=0.1),))
    second = Schedule((Linear(steps=50, start_lr=0.2, end_lr=0.0),))
    groups = (GroupSetting("all", 0.1), GroupSetting("head", 1.0, frozen_until=31))
    timeline = Timeline((Piece(0, 0, first), Piece(30, 30, second, groups)))
    assert timeline.total_steps == 80
    assert timeline.lr_at(29) == 0.1 and timeline.lr_at(30) == 0.2
    lrs = timeline.group_lrs(np.array([29, 30, 31]), ("stem", "head"))
    assert lrs.tolist() == [[0.1, 0.1], [pytest.approx(0.02), 0.0], [pytest.approx(0.2 * 49 / 50 * 0.1), pytest.approx(0.2 * 49 / 50)]]
    assert timeline.group_names == ("all", "head") and timeline.multipliers_at(30, ("head", "stem")) == [0.0, pytest.approx(0.1)]
    with pytest.raises(GroupMismatch, match="does not say how to train parameter group.s. stem"):
        Timeline((Piece(0, 0, first, (GroupSetting("head"),)),)).check_groups(("stem", "head"))
    with pytest.raises(GroupMismatch, match="drives parameter group.s. head that are not among the parameter groups .block1, classifier."):
        timeline.check_groups(("block1", "classifier"))
    assert timeline.stretched(160).pieces[1].groups[1].frozen_until == 62
    grid = np.arange(80)
    assert np.array_equal(timeline.lrs(grid), [timeline.lr_at(int(s)) for s in grid])


def test_momentum_falls_back_to_the_base_outside_cycling_segments():
    timeline = Timeline.of(Schedule((OneCycle(steps=20, max_lr=1.0), Constant(steps=5, lr=0.01))), base_momentum=0.9)
    momenta = timeline.momenta(np.arange(25))
    assert momenta[0] == pytest.approx(0.95) and np.all(momenta[20:] == 0.9)


def test_timeline_stretch_hits_the_exact_length():
    timeline = Timeline((Piece(0, 0, preset("warmup_cosine", 0.1, 97)), Piece(40, 40, preset("cosine", 0.05, 57))))
    for total in (13, 97, 250, 1001):
        assert timeline.stretched(total).total_steps == total


def test_one_million_steps_evaluate_vectorized():
    timeline = Timeline.of(preset("warmup_cosine", 0.1, 1_000_000))
    curve = timeline.lrs(np.arange(1_000_000))
    assert curve.shape == (1_000_000,) and curve.max() == pytest.approx(0.1, rel=1e-6)


@pytest.mark.parametrize("kind", PRESETS)
def test_presets_peak_at_the_lr(kind):
    schedule = preset(kind, 0.3, 200)
    assert schedule.total_steps == 200 and peak_lr(schedule) == pytest.approx(0.3, rel=1e-3)
    assert peak_lr(with_peak_lr(schedule, 0.07)) == pytest.approx(0.07)


def test_a_peak_between_two_steps_is_the_peak_the_user_set():
    """A 14-step one-cycle tops out at step 4.2: its peak 0.2 was reported as 0.198, and `tune` said "peak LR 0.198"."""
    assert peak_lr(Schedule((OneCycle(steps=14, max_lr=0.2),))) == 0.2
    assert peak_lr(Schedule((Keypoints(steps=10, points=((0.0, 0.01), (4.5, 0.3), (10.0, 0.01))),))) == 0.3
    assert peak_lr(Schedule((Constant(steps=5, lr=0.1), Linear(steps=5, start_lr=0.4, end_lr=0.0)))) == 0.4


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_default_segments_are_valid_and_start_at_the_lr(kind):
    from engine.schedules.presets import default_segment

    segment = default_segment(kind, 200, 0.05)
    segment.validate()
    assert segment.kind == kind and segment.steps == 200
    assert segment.lrs(np.zeros(1))[0] == pytest.approx(0.05 / 10 if kind == "cyclic" else (0.05 / 25 if kind == "one_cycle" else 0.05))


def test_a_segment_is_described_by_its_start_peak_and_natural_end():
    from engine.schedules.describe import describe_segment
    from engine.schedules.shapes import Constant, OneCycle

    # A one-cycle ends at step steps - 1: its LR at ``steps`` (0.000521 here) was once shown as its end.
    assert describe_segment(OneCycle(steps=44, max_lr=0.2)) == "one_cycle 0.008 → 0.2 → 8e-07 over 44 steps"
    assert describe_segment(Constant(steps=10, lr=0.1)) == "constant 0.1 over 10 steps"


def test_a_library_line_names_a_group_at_x1_beside_an_all_that_scales_the_others():
    """"all ×0.1" read as every group at 0.1, the head at ×1 left out (helper-76)."""
    from engine.schedules.describe import describe_timeline

    groups = (GroupSetting("all", 0.1), GroupSetting("head", 1.0))
    timeline = Timeline((Piece(0, 0, Schedule((Constant(steps=10, lr=0.01),)), groups),))
    assert describe_timeline(timeline).endswith("; all ×0.1, head ×1")
    plain = Timeline((Piece(0, 0, Schedule((Constant(steps=10, lr=0.01),)), (GroupSetting("head", 3.0), GroupSetting("stem", 1.0))),))
    assert describe_timeline(plain).endswith("; head ×3")  # ×1 needs no word without an "all" beside it
