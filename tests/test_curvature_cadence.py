"""When the probe measures, and the warnings it gives: pure functions, no network."""

from __future__ import annotations

import numpy as np
import pytest

from engine.curvature.alerts import climbing, near_bound, scale_to_fit
from engine.curvature.cadence import FIRST_AFTER, FIRST_GUESS_STEPS, Cadence, parse_every
from engine.events import CurvatureMeasured


def measured(step=100, lam=10.0, lrs=(0.2, 0.2), constant=3.8):
    bounds = np.array([constant / lam] * len(lrs))
    return CurvatureMeasured(step, lam, 5, True, 0.1, "batch", "sgd_momentum", "2(1+β)/λ", constant, False,
                             ("backbone", "head"), np.array(lrs), bounds, np.array([0.0, np.nan]), 64)


def test_cadence_accepts_auto_off_and_whole_steps_only():
    assert parse_every("auto") == "auto" and parse_every("OFF") == "off" and parse_every("25") == 25 and parse_every(7) == 7
    for bad in (0, -3, "often", 2.5, True, None):
        with pytest.raises(ValueError, match="auto, off or a whole number"):
            parse_every(bad)


def test_fixed_cadence_measures_every_n_steps_and_off_never():
    every = Cadence(10)
    assert [s for s in range(35) if every.due(s, 0.01, 35)] == [0, 10, 20, 30]
    assert not any(Cadence("off").due(s, 0.01, 100) for s in range(100))


def test_automatic_cadence_keeps_measurements_within_the_budget():
    cadence, step_time, spent, trained = Cadence("auto", budget=0.05), 0.01, 0.0, 0
    due_at = []
    for step in range(20_000):
        if cadence.due(step, step_time, 20_000):
            cost = (FIRST_GUESS_STEPS if not due_at else 6) * step_time  # cold, then warm-started
            cadence.measured(cost)
            spent += cost
            due_at.append(step)
        cadence.stepped()
        trained += 1
    assert due_at[0] == FIRST_AFTER  # the run's budget pays for the first at once: the bound is known before any peak
    assert spent <= 0.05 * trained * step_time
    assert spent >= 0.045 * trained * step_time  # and uses it: warm measurements come about every 120 steps
    assert 110 <= np.median(np.diff(due_at)) <= 130


def test_no_warning_far_from_the_bound():
    assert near_bound(measured(lrs=(0.1, 0.1)), 1.0, 0.8) is None  # 26% of the bound 0.38


def test_warning_near_and_above_the_bound_offers_the_scale_that_fits():
    near = near_bound(measured(lrs=(0.34, 0.34)), 1.0, 0.8)
    assert near.kind == "near_bound" and "89% of the stability bound 0.38" in near.message
    assert near.scale == pytest.approx(0.8 / (0.34 / 0.38))
    above = near_bound(measured(lrs=(0.5, 0.5)), 1.0, 0.8)
    assert above.kind == "above_bound" and "above the stability bound" in above.message


def test_warning_when_the_schedule_will_climb_over_the_bound():
    warning = near_bound(measured(lrs=(0.1, 0.1)), 4.0, 0.8)  # a warmup still to reach 4× today's LR
    assert warning.kind == "planned_above" and "will raise the LR 0.1 to 105% of the stability bound" in warning.message
    assert warning.scale == pytest.approx(scale_to_fit(0.1 / 0.38, 4.0, 0.8))


def test_warning_when_lambda_max_climbs_fast():
    before, after = measured(step=100, lam=10.0, lrs=(0.1, 0.1)), measured(step=300, lam=21.0, lrs=(0.1, 0.1))
    warning = climbing(after, before, 1.0, 0.8)
    assert warning.kind == "climbing" and "×2.1 in 200 steps" in warning.message and warning.scale == 1.0
    assert climbing(measured(lam=12.0), before, 1.0, 0.8) is None
    # Far under the bound (a run resumed at LR 0.005: "now 0% of the bound is used") a climb is no news …
    tiny = measured(step=300, lam=21.0, lrs=(0.005, 0.005))
    assert climbing(tiny, measured(step=100, lam=10.0, lrs=(0.005, 0.005)), 1.0, 0.8) is None
    # … unless the schedule will raise the LR towards it.
    assert climbing(tiny, measured(step=100, lam=10.0, lrs=(0.005, 0.005)), 20.0, 0.8).kind == "climbing"


def test_budget_saved_while_the_first_measurement_waited_is_not_spent_in_a_burst():
    """The first measurement, guessed at 40 steps, cost 10: the old cadence then measured at 801, 802, 803… on nearly the
    same weights (a warm start learns nothing new there) and a burst near a run's end overshot its 5%."""
    cadence, step_time, due_at, spent = Cadence("auto", budget=0.05), 0.01, [], 0.0
    for step in range(3000):
        if cadence.due(step, step_time, 3000):
            cost = (10 if not due_at else 6) * step_time
            cadence.measured(cost)
            spent += cost
            due_at.append(step)
        cadence.stepped()
    gaps = np.diff(due_at)
    assert due_at[0] == FIRST_AFTER and gaps.min() >= 60  # half the steady spacing of 6 steps at 5%: 60
    assert spent <= 0.05 * 3000 * step_time


def test_the_first_measurement_comes_early_when_the_run_affords_it_and_never_breaks_the_budget():
    """Paid as training went, the first measurement came at step 800: a 2000-step one-cycle run reached its peak LR
    (step 600) with no bound known and no warning. A run too short to pay for one at 5% still gets none."""

    def first(total: int, cost_steps: float = FIRST_GUESS_STEPS) -> tuple[int | None, float]:
        cadence, step_time, at, spent = Cadence("auto", budget=0.05), 0.01, None, 0.0
        for step in range(total):
            if cadence.due(step, step_time, total):
                at = step if at is None else at
                cadence.measured(cost_steps * step_time)
                spent += cost_steps * step_time
            cadence.stepped()
        return at, spent / (total * step_time)

    assert first(2000)[0] == FIRST_AFTER < 0.3 * 2000
    assert first(int(FIRST_GUESS_STEPS / 0.05)) == (FIRST_AFTER, 0.05)  # the shortest run that affords one, exactly at budget
    assert first(int(FIRST_GUESS_STEPS / 0.05) - 1) == (None, 0.0)
    for total in (800, 1500, 5000):
        assert first(total)[1] <= 0.05


def test_a_one_cycles_falling_momentum_counts_in_how_near_its_peak_comes_to_the_bound():
    """A one-cycle lowers the momentum (0.95 to 0.85) as the LR peaks, and with it the bound 2(1+β)/λ: Scale the rest,
    sized for the LR alone, left the peak at 84% of the bound and the warning came straight back (helper-77)."""
    from engine.curvature.alerts import peak_ratio_after
    from engine.schedules import OneCycle, Schedule, Timeline

    timeline = Timeline.of(Schedule((OneCycle(steps=100, max_lr=0.1),)))
    lr_rise = 25.0  # from max_lr / div_factor to max_lr
    assert peak_ratio_after(timeline, 0) == pytest.approx(lr_rise)  # no rule: the LR alone
    assert peak_ratio_after(timeline, 0, "sgd_momentum") == pytest.approx(lr_rise * 3.9 / 3.7, rel=1e-3)
    assert peak_ratio_after(timeline, 0, "adam") == pytest.approx(lr_rise * (3.9 / 0.05) / (3.7 / 0.15), rel=1e-3)
    # The scale it offers brings the peak to the margin, at the peak's momentum.
    now = measured(step=0, lrs=(0.1 / 25, 0.1 / 25), constant=3.9, lam=100.0)
    warning = near_bound(now, peak_ratio_after(timeline, 0, "sgd_momentum"), 0.8)
    assert 0.1 * warning.scale == pytest.approx(0.8 * 3.7 / 100.0, rel=1e-3)


def test_the_fix_a_warning_offers_does_not_warn_again_and_a_stricter_measurement_does(tmp_path):
    """The banner's own "Scale the rest ×0.086" landed exactly on the margin and was answered by "Scale the rest ×1";
    a later λmax of the same kind but stricter was kept quiet, and the first fix left the LR above the new bound."""
    from engine.config import TrainConfig
    from engine.curvature.probe_handler import CurvatureHandler

    above = measured(lrs=(0.5, 0.5))
    fixed = measured(lrs=tuple(np.array(above.lrs) * near_bound(above, 1.0, 0.8).scale))
    assert near_bound(fixed, 1.0, 0.8) is None
    handler, emitted = CurvatureHandler(TrainConfig()), []
    for m in (measured(lrs=(0.5, 0.5)), measured(step=200, lrs=(0.5, 0.5), lam=10.5), measured(step=300, lrs=(0.5, 0.5), lam=14)):
        handler._warn(emitted.append, m, 1.0)
        handler.previous = m
    assert [w.step for w in emitted] == [100, 300]  # not again for a λmax 5% higher; again for one 40% higher
    assert emitted[1].scale < 0.9 * emitted[0].scale


def test_a_warning_is_given_again_when_a_later_lambda_max_asks_for_a_much_smaller_cut():
    """After λmax fell, the bar kept the older, stricter "Scale the rest ×0.123" while the Health tab's λmax asked for
    about half that cut: nothing said the new advice (helper-126). A small fall, or small steps down that add up to
    less than the band, keep the advice given."""
    from engine.config import TrainConfig
    from engine.curvature.probe_handler import CurvatureHandler

    handler, emitted = CurvatureHandler(TrainConfig()), []
    for step, lam in ((100, 14.0), (200, 13.0), (300, 12.5), (400, 9.0), (500, 8.5)):
        handler._warn(emitted.append, measured(step=step, lrs=(0.5, 0.5), lam=lam), 1.0)
        handler.previous = measured(step=step, lrs=(0.5, 0.5), lam=lam)
    assert [w.step for w in emitted] == [100, 400]  # 7% and 11% less of a cut: quiet; 36%: said again
    assert emitted[1].kind == emitted[0].kind == "above_bound"
    assert emitted[1].scale == pytest.approx(emitted[0].scale * 14 / 9)

def test_a_measurement_names_the_group_nearest_its_bound_when_the_groups_bounds_differ():
    """`watch`, `train` and the Health readout printed the head's bound beside the largest percentage of any group."""
    def event(lrs, bounds):
        return CurvatureMeasured(7, 10.0, 5, True, 0.1, "batch", "sgd_momentum", "2(1+β)/λ", 3.8, False, ("backbone", "head"),
                                 np.array(lrs), np.array(bounds), np.array([0.0, np.nan]), 64)

    assert measured(lrs=(0.19, 0.19)).edge_words() == "LR at 50% of the bound 0.38"
    assert measured(lrs=(0.001, 0.001)).edge_words() == "LR at 0.3% of the bound 0.38"  # not "0%": an LR of 0.005 read as none
    assert event((0.3, 0.2), (0.4, 0.38)).edge_words() == "backbone's LR at 75% of its bound 0.4"
    assert event((0.0, 0.2), (np.nan, 0.38)).edge_words() == "LR at 53% of the bound 0.38"  # a frozen group has no bound
    assert event((0.0, 0.0), (np.nan, np.nan)).edge_words() == "no bound yet"
    # A warning names the group only when the groups' LRs (and so their bounds) differ.
    assert "The LR 0.3 of group backbone is at 75% of the stability bound 0.4" in near_bound(event((0.3, 0.2), (0.4, 0.38)), 1.0, 0.7).message
    assert near_bound(measured(lrs=(0.35, 0.35)), 1.0, 0.8).message.startswith("The LR 0.35 is at 92% of the stability bound")
