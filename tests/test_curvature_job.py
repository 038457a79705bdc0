"""The curvature probe and health metrics in a training run: invisible to training, steerable while it runs."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import Events, paused_at, start_job, tiny_config

from engine.cli import run_cli
from engine.commands import EditSchedule, MeasureCurvature, Resume, SetCurvatureCadence, Stop
from engine.events import CommandApplied, CurvatureMeasured, HealthLogged, LogLine, StabilityWarning, StepsLogged
from engine.run import InProcessRun, NewRun
from engine.schedules import SetConstant
from engine.training.job import TrainingJob


def run_job(digits16, **changes):
    events = Events()
    job = TrainingJob(tiny_config(image_size=16, **changes), digits16)
    job.bus.subscribe(events)
    return job, events


def test_a_run_with_probes_has_bit_identical_losses_to_one_without(digits16):
    # Each job is built just before it runs: building seeds the global RNG, which dropout then draws from.
    probed, probed_events = run_job(digits16, curvature_every=7)
    assert probed.run().state == "finished"
    plain, plain_events = run_job(digits16, curvature_every="off")
    assert plain.run().state == "finished"
    assert np.array_equal(probed_events.steps()[1], plain_events.steps()[1])
    assert [m.step for m in probed_events.of(CurvatureMeasured)] == [0, 7, 14, 21]
    assert not plain_events.of(CurvatureMeasured)
    health = probed_events.of(HealthLogged)
    steps = np.concatenate([h.steps for h in health])
    assert np.array_equal(steps, [9, 19]) and health[0].groups == probed.session.group_names  # every HEALTH_EVERY-th step
    ratios = np.concatenate([h.update_ratio for h in health])
    assert ratios.shape == (2, len(health[0].groups)) and np.all((ratios > 0) & (ratios < 1))
    # The probe's state (cadence accounting, last measurement) travels in the checkpoint.
    resumed = TrainingJob(tiny_config(image_size=16, curvature_every=7), digits16, resume=probed.checkpoint_payload())
    state = resumed.handler_states()["curvature"]
    assert state == probed.handler_states()["curvature"] and state["previous"]["step"] == 21


def test_measure_now_from_a_paused_run_and_change_the_cadence(digits16):
    job, events = run_job(digits16, curvature_every="off", epochs=2, shape="one_cycle")
    thread = start_job(job)
    try:
        events.wait_for(lambda ev: ev.of(StepsLogged), timeout=600)
        paused = paused_at(job, events, timeout=600)
        job.send(EditSchedule(SetConstant(0.0123)))  # a one-cycle's momentum goes back to its base: the bound moves
        job.send(MeasureCurvature(id="measure"))
        events.wait_for(lambda ev: ev.of(CurvatureMeasured), timeout=600)
        measured = events.of(CurvatureMeasured)[0]
        assert measured.step == paused and measured.trigger == "request"
        # Weighed against the LR and momentum the next step trains with, not the last step's (helper-73).
        momentum = job.run_schedule.timeline.momentum_at(paused)
        assert np.allclose(measured.lrs, 0.0123) and measured.constant == pytest.approx(2 * (1 + momentum)), (measured, momentum)
        job.send(SetCurvatureCadence("never", id="bad"))
        job.send(SetCurvatureCadence("10", id="cadence"))
        events.wait_for(lambda ev: any(a.command_id == "cadence" for a in ev.of(CommandApplied)), timeout=600)
        job.send(Resume())
        thread.join(600)
    finally:
        if thread.is_alive():
            job.send(Stop())
            thread.join(600)
    later = [m.step for m in events.of(CurvatureMeasured)[1:]]
    assert later and all(step % 10 == 0 and step >= paused for step in later)
    # The probe's commands are answered like the job's own: each once, the bad cadence refused in words.
    answers = {a.command_id: a for a in events.of(CommandApplied) if a.command_id in ("measure", "bad", "cadence")}
    assert answers["measure"].applied and answers["measure"].kind == "MeasureCurvature" and "λmax" in answers["measure"].message
    assert not answers["bad"].applied and "curvature cadence must be" in answers["bad"].message
    assert answers["cadence"].applied and answers["cadence"].step == paused
    # The run's log (and `watch`) says who changed it, as it said a refused one.
    assert f"curvature cadence 10 from step {paused}" in [line.text for line in events.of(LogLine)]
    assert len([a for a in events.of(CommandApplied) if a.command_id in answers]) == 3


def test_a_range_test_in_a_paused_run_weighs_its_bound_at_the_momentum_the_run_goes_on_with(digits16):
    """After an edit made while paused, the range test said "bound 2.57" (the momentum last trained at, 0.884) and a
    Measure now at the same step "the bound 2.65" (the momentum planned, 0.95), of the same λmax (helper-127)."""
    from engine.commands import StartRangeTest
    from engine.range_test import RangeTestSettings

    job, events = run_job(digits16, curvature_every="off", epochs=2, shape="one_cycle")
    thread = start_job(job)
    try:
        events.wait_for(lambda ev: ev.of(StepsLogged), timeout=600)
        paused = paused_at(job, events, timeout=600)
        job.send(EditSchedule(SetConstant(0.0123)))  # a one-cycle's momentum goes back to its base
        job.send(StartRangeTest(RangeTestSettings(iterations=12, repeats=1), id="test"))
        events.wait_for(lambda ev: any(a.command_id == "test" for a in ev.of(CommandApplied)), timeout=600)
    finally:
        job.send(Stop())
        thread.join(600)
    (measured,) = [m for m in events.of(CurvatureMeasured) if m.trigger == "range_test"]
    momentum = job.run_schedule.timeline.momentum_at(paused)
    assert measured.step == paused and np.allclose(measured.lrs, 0.0123)
    assert measured.constant == pytest.approx(2 * (1 + momentum)), (measured, momentum)


def test_a_high_lr_warns_in_words_with_the_scale_that_fits(digits16):
    job, events = run_job(digits16, curvature_every=10, lr=3.0, shape="constant")
    job.run()
    warnings = events.of(StabilityWarning)
    assert warnings and warnings[0].kind in ("above_bound", "near_bound")
    assert "stability bound" in warnings[0].message and 0 < warnings[0].scale < 1


def test_an_automatic_cadence_measures_early_and_warns_before_a_one_cycle_peak_above_the_bound(digits16):
    """With "auto", a run long enough to pay for a measurement at 5% gets one 10 steps in: an LR schedule planned above the
    bound is named before its peak (the first used to come after 800 steps, past a 2000-step one-cycle's peak at 600)."""
    job, events = run_job(digits16, curvature_every="auto", lr=1.0, shape="one_cycle", epochs=37)  # 814 steps
    thread = start_job(job)
    try:
        events.wait_for(lambda ev: ev.of(CurvatureMeasured), timeout=120)
    finally:
        job.send(Stop())
        thread.join(60)
    first = events.of(CurvatureMeasured)[0]
    assert first.trigger == "cadence" and first.step == 10
    warning = events.of(StabilityWarning)[0]
    assert warning.kind == "planned_above" and warning.step == 10 and "will raise" in warning.message


def test_an_edit_above_the_last_measured_bound_is_warned_about_at_once_without_measuring_again(digits16):
    """Installing an LR above the bound mid-run was silent until the next measurement (the automatic cadence may make none)."""
    job, events = run_job(digits16, curvature_every=10_000, lr=0.02, shape="constant", epochs=3)  # measures at step 0 only
    thread = start_job(job)
    events.wait_for(lambda ev: ev.of(StepsLogged))
    step = paused_at(job, events)
    assert not events.of(StabilityWarning)  # 0.02 is far below the bound
    job.send(EditSchedule(SetConstant(3.0)))
    events.wait_for(lambda ev: ev.of(StabilityWarning), timeout=30)  # while still paused: it came only once training went on
    assert job.state == "paused"
    # An edit that does not fix it is warned about again (the window withdraws the warning when the schedule changes).
    job.send(EditSchedule(SetConstant(2.5)))
    events.wait_for(lambda ev: len(ev.of(StabilityWarning)) == 2, timeout=30)
    job.send(EditSchedule(SetConstant(0.02)))  # then one that does: no warning
    job.send(Resume())
    thread.join(60)
    (measured,) = events.of(CurvatureMeasured)
    warning, again = events.of(StabilityWarning)
    assert again.kind == "above_bound" and "LR 2.5 is above" in again.message
    assert warning.step == step and warning.kind == "above_bound" and 0 < warning.scale < 1
    assert "LR 3 is above the stability bound" in warning.message and f"at step {measured.step})" in warning.message


def test_a_resumed_run_planned_above_its_last_bound_is_warned_about_at_its_start(digits16, tmp_path, capsys):
    """Resumed, a run planned above the bound it last measured trained on without a word (the cadence measured no more)."""
    run = InProcessRun(NewRun(tiny_config(image_size=16, curvature_every=10_000, lr=0.7, shape="constant", epochs=2),
                              digits16, None, tmp_path))
    run.prepare()
    run.subscribe(lambda e: run.send(Stop()) if getattr(e, "epoch", None) == 0 else None)
    assert run.run().state == "stopped"
    run_cli(["resume", str(run.run_dir)])
    err = capsys.readouterr().err
    assert "is above the stability bound" in err and "(resumed at 22" in err, err


def test_a_range_tests_lambda_max_at_the_step_a_run_stopped_is_its_last_when_resumed(digits16, tmp_path, capsys):
    """Paused, range-tested (λmax measured on the run's weights), stopped, resumed: the store dropped the test's λmax
    (the step the run resumes at was forgotten whole), and the resume warned with the λmax of step 10 (helper-124)."""
    import threading

    from engine.commands import StartRangeTest
    from engine.events import RangeTestFinished
    from engine.range_test.settings import RangeTestSettings
    from engine.store.reader import read_curvature

    run = InProcessRun(NewRun(tiny_config(image_size=16, curvature_every=10, lr=0.7, shape="constant", epochs=3),
                              digits16, None, tmp_path))
    run.prepare()
    events = Events()
    run.subscribe(events)
    thread = threading.Thread(target=run.run)
    thread.start()
    events.wait_for(lambda ev: any(m.step == 10 for m in ev.of(CurvatureMeasured)), timeout=600)
    paused_at(run, events, timeout=600)
    run.send(StartRangeTest(RangeTestSettings(iterations=20, repeats=1)))
    events.wait_for(lambda ev: ev.of(RangeTestFinished), timeout=600)
    tested = next(m for m in events.of(CurvatureMeasured) if m.trigger == "range_test")
    run.send(Stop())
    thread.join(600)
    run_cli(["resume", str(run.run_dir)])
    err = capsys.readouterr().err
    assert (tested.step, "range_test") in [(m["step"], m["trigger"]) for m in read_curvature(run.run_dir)]
    assert f"λmax {tested.lambda_max:.3g} at step {tested.step})" in err and "at step 10)" not in err, err


def test_an_edit_is_checked_against_the_bound_of_the_momentum_it_plans(digits16):
    """From a one-cycle (β 0.95 → 0.85) to a constant LR at the configured momentum 0.5, the bound of SGD falls from
    2(1.95)/λ to 2(1.5)/λ: the recheck kept the measured bound and called an LR over the new one safe. (A user's case
    went to momentum 0, which now cycles no momentum at all.)"""
    job, events = run_job(digits16, curvature_every=10_000, lr=0.01, shape="one_cycle", momentum=0.5, epochs=3)
    thread = start_job(job)
    events.wait_for(lambda ev: ev.of(StepsLogged))
    paused_at(job, events)
    (measured,) = events.of(CurvatureMeasured)
    assert measured.formula == "2(1+β)/λ" and measured.constant == pytest.approx(3.9) and not events.of(StabilityWarning)
    planned_bound = 3.0 / measured.lambda_max
    lr = 1.02 * planned_bound  # below 80% of the one-cycle's bound, above the constant's
    assert lr < 0.8 * measured.bounds[-1]
    job.send(EditSchedule(SetConstant(lr)))
    events.wait_for(lambda ev: ev.of(StabilityWarning), timeout=30)
    job.send(Stop())
    thread.join(60)
    (warning,) = events.of(StabilityWarning)
    assert warning.kind == "above_bound" and "(2(1+β)/λ, λmax" in warning.message
    assert f"bound {planned_bound:.3g}" in warning.message

