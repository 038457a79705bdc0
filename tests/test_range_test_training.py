"""The range test on a real model: exact restore, before or during a run, cancel, probe, multipliers."""

import numpy as np
import pytest
import torch
from helpers import Events, paused_at, start_job, tiny_config

from engine.commands import CancelRangeTest, Resume, StartRangeTest
from engine.events import CurvatureMeasured, RangeTestFinished, RangeTestProgress, RangeTestStarted, StepsLogged
from engine.range_test import runner
from engine.range_test.runner import run_range_test
from engine.range_test.settings import RangeTestSettings
from engine.training.job import TrainingJob
from engine.training.session import build_session
from engine.training.state import capture

QUICK = RangeTestSettings(iterations=30, repeats=1)


def same_state(a, b):
    def equal(x, y):
        if isinstance(x, torch.Tensor):
            return torch.equal(x, y)
        if isinstance(x, dict):
            return x.keys() == y.keys() and all(equal(x[k], y[k]) for k in x)
        if isinstance(x, (list, tuple)):
            return len(x) == len(y) and all(equal(i, j) for i, j in zip(x, y))
        return x == y
    return equal(a, b)


@pytest.fixture
def trained_session(digits16):
    """A session a few steps into training (so optimizer state and BN statistics are not trivial)."""
    session = build_session(tiny_config(), digits16)
    job = TrainingJob(tiny_config(epochs=1), digits16)
    job.session = session
    job.run()
    return session


@pytest.mark.parametrize("settings", [QUICK, RangeTestSettings(mode="probe", probe_count=3, probe_steps=3, probe_eval_batches=1),
                                      RangeTestSettings(iterations=8, validation=True, val_batches=1)], ids=["sweep", "probe", "validation"])
def test_state_is_restored_bit_for_bit(trained_session, settings):
    before = capture(trained_session)
    events = Events()
    result = run_range_test(trained_session, settings, events)
    assert same_state(before, capture(trained_session))
    # Advice or the reason there is none: a probe of 3 candidates × 3 steps may find none clearly better than the start
    # (it did with one torch thread), and then it must say so.
    assert result.suggestions and (result.recommendation is not None) != bool(result.why_none)
    started = events.of(RangeTestStarted)[0]
    assert events.items.index(started) < events.items.index(events.of(RangeTestProgress)[0])
    assert started.estimated_seconds > 0 and events.of(RangeTestFinished)[0].result is result


def test_state_is_restored_when_the_test_fails(trained_session, monkeypatch):
    before = capture(trained_session)
    calls = {"n": 0}
    real = runner.train_step

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 10:
            raise RuntimeError("boom")
        return real(*args)

    monkeypatch.setattr(runner, "train_step", failing)
    events = Events()
    with pytest.raises(RuntimeError, match="boom"):
        run_range_test(trained_session, QUICK, events)
    assert same_state(before, capture(trained_session))
    assert events.of(RangeTestFinished)[0].cancelled


def test_the_sweep_keeps_the_groups_ratios_by_name_and_leaves_frozen_groups_out(trained_session, monkeypatch):
    from engine.schedules import Constant, GroupSetting, Schedule, Timeline

    seen = []
    real = runner.train_step

    def spy(session, *args):
        seen.append({g["name"]: g["lr"] for g in session.optimizer.param_groups})
        return real(session, *args)

    monkeypatch.setattr(runner, "train_step", spy)
    groups = (GroupSetting("head"), GroupSetting("block1", frozen_until=10), GroupSetting("all", 0.1))
    timeline = Timeline.of(Schedule((Constant(steps=20, lr=0.1),)), groups=groups)
    run_range_test(trained_session, RangeTestSettings(iterations=10), lambda e: None, timeline, step=3)
    ratios = [lrs[name] / lrs["head"] for lrs in seen[2:] for name in ("block2", "block3")]
    assert ratios == pytest.approx([0.1] * len(ratios)) and all(lrs["block1"] == 0 for lrs in seen)
    assert seen[-1]["head"] > seen[3]["head"]


def losses_of(job, events):
    job.bus.subscribe(events)
    return events


def test_a_run_with_a_range_test_in_the_middle_equals_one_without(digits16):
    plain = Events()
    reference = TrainingJob(tiny_config(epochs=2, explode_factor=0), digits16)
    reference.bus.subscribe(plain)
    reference.run()

    events = Events()
    job = TrainingJob(tiny_config(epochs=2, explode_factor=0), digits16)
    job.bus.subscribe(events)
    thread = start_job(job)
    events.wait_for(lambda ev: ev.of(StepsLogged))
    step = paused_at(job, events)
    job.send(StartRangeTest(QUICK))
    job.send(Resume())
    thread.join(120)
    assert events.of(RangeTestFinished)[0].step == step and 0 < step < 44
    assert events.states() == ["running", "paused", "range_test", "paused", "running", "finished"]
    assert np.array_equal(events.steps()[1], plain.steps()[1])
    assert [e.val_loss for e in events.of_epochs()] == [e.val_loss for e in plain.of_epochs()]


def test_cancel_restores_and_the_run_goes_on(digits16):
    plain = Events()
    reference = TrainingJob(tiny_config(explode_factor=0), digits16)
    reference.bus.subscribe(plain)
    reference.run()

    events = Events()
    job = TrainingJob(tiny_config(explode_factor=0), digits16)
    job.bus.subscribe(events)
    job.send(StartRangeTest(RangeTestSettings(iterations=5000, diverge_factor=1e6)))
    thread = start_job(job)
    events.wait_for(lambda ev: ev.of(RangeTestProgress))
    job.send(CancelRangeTest())
    thread.join(120)
    finished = events.of(RangeTestFinished)[0]
    assert finished.cancelled and finished.result.stop_reason == "cancelled" and len(finished.result.lrs) < 5000
    assert np.array_equal(events.steps()[1], plain.steps()[1])
    assert events.states()[-1] == "finished"


def test_a_pause_sent_during_a_range_test_in_the_run_pauses_it_before_another_step(digits16):
    """Queued behind the test, the pause waited for the next step boundary: the run trained a step more."""
    from engine.commands import Pause, Stop
    from engine.events import CommandApplied

    events = Events()
    job = TrainingJob(tiny_config(epochs=2, explode_factor=0), digits16)
    job.bus.subscribe(events)
    thread = start_job(job)
    events.wait_for(lambda ev: ev.of(StepsLogged))
    # 60 iterations: the pause comes at the first progress report, 0.1 s in, with over a second of the test still to run.
    job.send(StartRangeTest(RangeTestSettings(iterations=60, repeats=1, diverge_factor=1e6)))
    events.wait_for(lambda ev: ev.of(RangeTestProgress))
    job.send(Pause())
    events.wait_for(lambda ev: any(a.kind == "Pause" for a in ev.of(CommandApplied)))
    job.send(Stop())
    thread.join(120)
    (paused,) = [a for a in events.of(CommandApplied) if a.kind == "Pause"]
    assert paused.applied and paused.step == events.of(RangeTestFinished)[0].step


def test_a_snapshot_too_large_for_memory_goes_to_a_temporary_file(trained_session, monkeypatch, tmp_path):
    import tempfile

    from engine.training.state import preserved

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = capture(trained_session)
    with preserved(trained_session, spill_bytes=0):
        assert len(list(tmp_path.glob("lrscope-snapshot-*.pt"))) == 1
        for parameter in trained_session.model.parameters():
            parameter.data.add_(1.0)
    assert same_state(before, capture(trained_session))
    assert not list(tmp_path.glob("lrscope-snapshot-*.pt"))


def test_repeats_use_batch_orders_of_their_own_and_restore(trained_session):
    before = capture(trained_session)
    events = Events()
    result = run_range_test(trained_session, RangeTestSettings(iterations=12, repeats=2), events)
    assert same_state(before, capture(trained_session))
    first, second = result.repeats
    assert not np.array_equal(first.losses, second.losses) and len(result.lrs) == len(first.lrs) + len(second.lrs)
    progress = events.of(RangeTestProgress)
    assert {e.repeat for e in progress} == {0, 1}
    assert events.of(RangeTestStarted)[0].settings["repeats"] == 2
    # How far the whole test is (a repeat is half of it), and the time the rest takes at the pace so far.
    done = [e.done for e in progress]
    assert done == sorted(done) and all(0 < d <= 0.5 for e, d in zip(progress, done) if e.repeat == 0)
    assert all(0.5 < e.done <= 1 for e in progress if e.repeat == 1)
    # No guess from the first few points (the slow first steps' pace said "1% done, about 6 min left" for a minute's test).
    assert all(np.isfinite(e.seconds_left) == (e.done >= 0.05) and (np.isnan(e.seconds_left) or e.seconds_left >= 0) for e in progress)
    assert progress[-1].seconds_left == 0 or second.stop_reason != "completed"


@pytest.mark.parametrize("mode", ["probe", "sweep"])
def test_a_cancel_at_the_start_skips_the_measurements_before_the_first_candidate(trained_session, mode):
    """A cancel sent in a probe's first seconds waited for λmax and the held-out score before it (two minutes on a
    larger network), and its ctl timed out: nothing runs."""
    forwards = []
    trained_session.model.register_forward_hook(lambda *_: forwards.append(1))
    events = Events()
    result = run_range_test(trained_session, RangeTestSettings(mode=mode, probe_count=3, probe_steps=3, repeats=1), events,
                            cancelled=lambda: True)
    assert result.stop_reason == "cancelled" and result.curvature is None and not events.of(CurvatureMeasured)
    assert not forwards
    assert events.of(RangeTestFinished)[0].cancelled


@pytest.mark.parametrize("settings", [RangeTestSettings(mode="probe", probe_count=3, probe_steps=3, repeats=1),
                                      RangeTestSettings(iterations=30, repeats=3)], ids=["probe", "repeated sweep"])
def test_a_test_cancelled_before_its_curve_said_anything_says_so(trained_session, settings):
    """A probe cancelled before its first candidate said "every candidate LR diverged; lower start_lr": false advice."""
    result = run_range_test(trained_session, settings, lambda event: None, cancelled=lambda: True)
    assert result.stop_reason == "cancelled" and result.recommendation is None
    assert result.why_none.startswith("the test was cancelled before its curve said anything") and "diverged" not in result.why_none


def test_a_test_cancelled_in_its_second_repeat_is_read_from_the_first(trained_session):
    """Judging the cut repeat too said "only 1 of 2 repeats gave a recommendation (the loss neither fell nor rose…)" of
    a test whose finished repeat fell and rose."""
    calls = iter(range(10**6))
    settings = RangeTestSettings(start_lr=1e-4, end_lr=1e-2, iterations=30, repeats=2)  # too gentle to diverge: 30 steps
    result = run_range_test(trained_session, settings, lambda event: None, cancelled=lambda: next(calls) > 33,
                            cancel_seen=lambda: False)  # counts the steps' checks only, not λmax's
    first, cut = result.repeats
    assert first.stop_reason == "completed" and len(first.lrs) == 30 and cut.stop_reason == "cancelled"
    assert result.stop_reason == "cancelled" and result.measured["repeats"] == 1
    assert result.notes[0] == "the test was cancelled in repeat 2 of 2: this result is read from the 1 repeat that finished"
    if first.recommendation is not None:
        assert result.recommendation.one_cycle_max_lr == pytest.approx(first.recommendation.one_cycle_max_lr)
    else:  # the finished repeat's own reason, not the cut one's
        assert "(1 repeat: " + first.why_none.split(". ")[0].rstrip(".") + ")" in result.why_none


def test_the_probe_horizon_follows_the_run_and_is_reported(trained_session):
    settings = RangeTestSettings(mode="probe").resolved()
    assert [settings.for_run(n).probe_steps for n in (None, 110, 5000, 10**6)] == [20, 20, 500, 1000]
    assert RangeTestSettings(mode="probe", probe_steps=7).for_run(5000).probe_steps == 7
    probe = RangeTestSettings(mode="probe", probe_count=3, probe_fraction=0.25, probe_eval_batches=1, repeats=1)
    events = Events()
    result = run_range_test(trained_session, probe, events, run_steps=100)
    assert [e.done for e in events.of(RangeTestProgress)] == pytest.approx([1 / 3, 2 / 3, 1])  # one candidate each
    measured = result.measured
    assert measured["steps"] == 25 and np.isfinite(measured["start_score"]) and len(measured["midway"]) == 3
