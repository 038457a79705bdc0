"""Curvature in the window, driven through its controls: the bound on the LR plot, the Health tab,
the warning bar and its one-click fix, measuring from a paused run."""

import re

import numpy as np
import pyqtgraph as pg
import pytest
from gui_fixtures import LONG, SMALL, TINY, drawn, heading_fits, legend, range_test_before_a_run
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QScrollArea

from gui.driving import click, show_tab, trigger, type_into
from gui.plots.stability_overlay import BOUND_RED

pytest.importorskip("pytestqt")


def configure(window, **fields):
    for name, value in fields.items():
        type_into(window.config_panel.editors[name], str(value))


def test_a_run_with_the_probe_draws_the_bound_and_the_health_pane(qtbot, window):
    configure(window, curvature_every=10)
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    qtbot.waitUntil(lambda: len(window.lr.stability.measurements) == 3, timeout=LONG)
    window.lr.refresh()
    x, bound = window.lr.stability.bound.getData()
    assert x is not None and len(x) > 0 and np.all(np.isfinite(bound))
    assert legend(window.lr)[-1] == "stability bound (theory)"
    readout = window.lr.describe_at(15)
    assert "LR·λmax" in readout and "in theory; bound" in readout
    show_tab(window.tabs, "Health")
    health = window.curvature.health
    qtbot.waitUntil(lambda: drawn(health.grad_norm.curves[-1]) == 2, timeout=LONG)  # steps 9 and 19 of 22 are sampled
    assert len(health.grad_norm.points) == 2 and health.grad_norm.groups[-1] == "head"
    assert len(health.sharpness.points) == 3 and "λmax" in window.curvature.last.text()
    # At 1366×768 the long readout wraps instead of pushing the plots' right edge behind a scrollbar, and all three
    # plots are in sight (the wrapped readout sized the scrolled tab for its text: one plot of three showed).
    scroll = window.tabs.currentWidget().findChild(QScrollArea)
    qtbot.waitUntil(lambda: scroll.widget().width() <= scroll.viewport().width(), timeout=LONG)
    assert not scroll.horizontalScrollBar().isVisible() and not scroll.verticalScrollBar().isVisible()
    viewport = scroll.viewport()
    # Each group is named in the title: the legend box covered the curves, and the head's row fell off its bottom.
    for plot in (health.grad_norm, health.update_ratio):
        assert not plot.plot.legend.isVisible() and all(f"━ {group}</span>" in plot.heading.text() for group in plot.groups)
        assert heading_fits(plot)
        # Each group in its LR plot's colour (the head was orange there and pink here), none in the bound's red.
        colours = [pg.mkPen(curve.opts["pen"]).color().getRgb()[:3] for curve in plot.curves]
        assert colours == [pg.mkPen(curve.opts["pen"]).color().getRgb()[:3] for curve in window.lr.applied]
        assert BOUND_RED not in colours
    for plot in health.plots:
        where = QRect(plot.mapTo(viewport, QPoint(0, 0)), plot.size())
        assert viewport.rect().contains(where) and plot.widget.height() >= 115, (plot.title, where, viewport.rect())


def test_a_new_run_starts_without_the_last_runs_shading_above_the_bound(qtbot, window):
    # pyqtgraph's FillBetweenItem keeps its old area when both its edges are emptied: the last run's red shading stayed
    # up over the new run's first steps (a user test saw it), though the bound itself was cleared.
    configure(window, curvature_every=10)  # three measurements draw the shading (each costs as much as dozens of steps)
    type_into(window.editor.peak, "3")
    click(window.editor.use_button)
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    window.lr.refresh()
    fill = window.lr.stability.fill
    assert fill.isVisible() and not fill.path().isEmpty()  # LR 3 lies far above the small CNN's bound
    first = window.live.run_id
    configure(window, curvature_every="off")
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.run_id != first and len(window.lr.points) > 0, timeout=LONG)
    window.lr.refresh()
    assert not fill.isVisible() or fill.path().isEmpty()
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.live.state != "running", timeout=LONG)


def warned_then_paused(qtbot, launch):
    """A run whose warning bar is up (a margin of 5% of the bound), paused."""
    # A long run, so that its LR is still high when the pause comes: the bar then offers a factor below 1.
    window = launch({**SMALL, "epochs": 20})
    configure(window, curvature_every=10, curvature_margin=0.05)
    tabs_at = window.tabs.tabBar().mapTo(window, window.tabs.tabBar().rect().topLeft())
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=LONG)
    # The bar, over the tabs, pushed them 70 px down as it came: a click aimed at a tab landed in the plot.
    assert window.tabs.tabBar().mapTo(window, window.tabs.tabBar().rect().topLeft()) == tabs_at
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    return window


def test_the_warning_bar_scales_the_rest_of_the_schedule_in_one_click(qtbot, launch):
    window = warned_then_paused(qtbot, launch)
    assert window.curvature.cadence.isEnabled()  # the paused run's cadence can be changed
    # The bar shows the latest warning (events arrive in blocks: it may be a later one than the first).
    assert "bound" in window.banner.text.text() and "Scale the rest ×" in window.banner.scale.text()
    factor = window.banner.scale.text().split("×")[1]  # the button and the advice beside it said ×0.68 and ×0.677
    assert f"by ×{factor} to stay under" in window.banner.text.text() and window.banner.text.text().startswith("⚠ The ")
    click(window.banner.scale)
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)
    assert "curvature" in window.editor.history.item(0).text()
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    reasons = [record.edit.reason for record in window.last_run.run_schedule.edits]
    assert reasons.count("curvature") == 1 and not window.banner.isVisible()
    assert not window.curvature.cadence.isEnabled()  # the run's cadence: no run, nothing to set


def test_the_warning_bar_keeps_the_window_within_a_small_screen_and_its_words_can_be_read(qtbot, launch):
    """At 1024 x 600 the bar's words took six lines beside its buttons: the window grew to 609 px, past the screen's
    foot, its status bar cut off (helper-124)."""
    window = warned_then_paused(qtbot, launch)
    window.resize(1024, 600)
    qtbot.wait(200)  # laid out at that size
    assert window.minimumSizeHint().height() <= 570 and window.height() <= 600, (window.minimumSizeHint(), window.size())
    words = next(area for area in window.banner.findChildren(QScrollArea) if area.widget() is window.banner.text)
    # What does not fit is scrolled to, not cut off: the area holds the whole text.
    assert words.widget().height() >= window.banner.text.heightForWidth(words.viewport().width())
    assert words.verticalScrollBar().maximum() == max(0, words.widget().height() - words.viewport().height())
    # The Runs tab, squeezed by the bar to its least, still shows a run (its header and scroll bar left no row; helper-126).
    show_tab(window.tabs, "Runs")
    runs = window.runs_panel.table
    qtbot.waitUntil(lambda: runs.topLevelItemCount() > 0, timeout=LONG)
    qtbot.wait(100)
    row, view = runs.visualItemRect(runs.topLevelItem(0)), runs.viewport().rect()
    assert view.top() <= row.top() and row.bottom() <= view.bottom(), (row, view)  # the row's whole height
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)


def test_an_edit_withdraws_the_warning_bar_and_the_run_warns_again_only_if_it_still_holds(qtbot, launch):
    """The bar said "the schedule will raise the LR to 204% of the bound" for the rest of a run whose peak the user had
    lowered far below it."""
    window = warned_then_paused(qtbot, launch)
    type_into(window.editor.set_lr, "1e-7")
    click(window.editor.set_now)
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)
    qtbot.waitUntil(lambda: "stability warning of step" in window.log.toPlainText(), timeout=LONG)
    assert not window.banner.isVisible()
    type_into(window.editor.set_lr, "5")
    click(window.editor.set_now)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=LONG)
    assert "LR 5 is above the stability bound" in window.banner.text.text()
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)


def test_an_edit_withdraws_a_climbs_advice_to_scale_the_schedule(qtbot, launch):
    """After a climb's warning offered "Scale the rest ×0.933", a Set LR of 0.005 (2% of the bound) left it up: its
    advice was about the schedule the edit had replaced."""
    from engine.events import StabilityWarning

    window = warned_then_paused(qtbot, launch)
    step = window.live.step
    window.bridge.put(StabilityWarning(step, "climbing", f"Step {step}: λmax rose ×14.", "Scale the rest of the schedule by ×0.933.", 0.933))
    qtbot.waitUntil(lambda: window.banner.isVisible() and window.banner.kind == "climbing", timeout=LONG)
    type_into(window.editor.set_lr, "1e-7")
    click(window.editor.set_now)
    qtbot.waitUntil(lambda: f"the stability warning of step {step} is withdrawn" in window.log.toPlainText(), timeout=LONG)
    assert not window.banner.isVisible()
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)


def test_a_measurement_asked_for_mid_run_is_named_while_training_waits_for_it(qtbot, launch, monkeypatch):
    """A measurement of 115 s read "waiting 70 s for the next step", then "about 78 min left" of two minutes' work: the
    measurement was counted in the run's pace (helper-77)."""
    import time

    from engine.curvature.probe import CurvatureProbe
    from gui.live_run import STALL_SECONDS

    measure = CurvatureProbe.measure

    def slow(self, *args, **kwargs):  # a big network's measurement on a CPU
        if kwargs.get("trigger", args[2] if len(args) > 2 else "") == "request":
            time.sleep(STALL_SECONDS + 2)
        return measure(self, *args, **kwargs)

    monkeypatch.setattr(CurvatureProbe, "measure", slow)
    window = launch({**SMALL, "epochs": 40})
    configure(window, curvature_every="off")
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 3, timeout=LONG)
    trigger(window.measure_action)
    qtbot.waitUntil(lambda: "measuring λmax as asked, " in window.status.text(), timeout=LONG)
    assert "(training waits for it)" in window.status.text() and "for the next step" not in window.status.text()
    qtbot.waitUntil(lambda: window.curvature.last.text().startswith("λmax "), timeout=LONG)
    assert not window.live.measuring


def test_measure_now_from_a_paused_run(qtbot, launch):
    # Long enough that the pause comes before the end: without probes 16 px steps take milliseconds, and the
    # window learns of step 3 only with the next block of steps.
    window = launch({**SMALL, "epochs": 40})
    configure(window, curvature_every="off")
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 3, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    show_tab(window.tabs, "Health")
    assert window.curvature.measure.toolTip() == window.measure_action.toolTip() and "(Ctrl+K)" in window.measure_action.toolTip()
    trigger(window.measure_action)
    assert window.curvature.last.text().startswith("measuring λmax")  # at once: the measurement takes seconds
    # Not asked for twice (two clicks and Ctrl+K measured the same paused weights three times), and answered in the log.
    assert not window.measure_action.isEnabled() and not window.curvature.measure.isEnabled()
    qtbot.waitUntil(lambda: window.curvature.last.text().startswith("λmax "), timeout=LONG)
    assert window.measure_action.isEnabled() and re.search(r"step \d+: λmax [\d.]+, LR at \d+% of the bound", window.log.toPlainText())
    assert len(window.lr.stability.measurements) == 1 and window.live.state == "paused"
    sharpness = window.curvature.health.sharpness
    qtbot.waitUntil(lambda: drawn(sharpness.curves[0]) == 1, timeout=LONG)
    assert sharpness.curves[0].opts["symbol"] == "o"  # one measurement is a point: a bare line drew nothing
    click(window.curvature.measure)
    qtbot.waitUntil(lambda: len(window.lr.stability.measurements) == 2, timeout=LONG)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)


def measured(step, lambda_max, lr):
    """A measurement of the small CNN under SGD with momentum 0.9 (bound 2(1+0.9)/λmax)."""
    from engine.events import CurvatureMeasured

    bound = 3.8 / lambda_max
    return CurvatureMeasured(step, lambda_max, 20, True, 0.1, "batch", "sgd", "2(1+μ)/λ", 3.8, False, ("all",), np.array([lr]),
                             np.array([bound]), np.array([0.0]), 64)


@pytest.mark.parametrize("kind, later, stale", [("climbing", measured(300, 2.0, 0.1), True),  # back under where it climbed from
                                                 ("climbing", measured(300, 6.0, 0.1), False),
                                                 ("near_bound", measured(300, 4.0, 0.1), True),  # the LR at 11% of the bound
                                                 ("near_bound", measured(300, 36.0, 0.1), False)])
def test_the_warning_bar_withdraws_a_warning_a_later_measurement_made_stale(qtbot, window, kind, later, stale):
    """The bar still offered 'Scale the rest ×0.95' for a climb to 16.1 long after λmax fell back to 2.2."""
    from engine.events import StabilityWarning

    for event in (measured(100, 4.0, 0.1), measured(200, 16.0, 0.1), StabilityWarning(200, kind, "λmax rose.", "Scale.", 0.95)):
        window.bridge.put(event)  # as the engine's events arrive, from the training thread
    qtbot.waitUntil(window.banner.isVisible, timeout=LONG)
    window.bridge.put(later)
    qtbot.waitUntil(lambda: "λmax" in window.curvature.last.text() and "step 300" in window.curvature.last.text(), timeout=LONG)
    assert window.banner.isVisible() != stale
    assert ("the stability warning of step 200 no longer holds" in window.log.toPlainText()) == stale


def test_a_range_test_suggestion_past_the_bound_it_measured_says_so_where_it_is_shown_and_used(qtbot, launch):
    """The one-cycle max 0.351 was installed above the bound 0.21 the same test showed, with no word: a run that short
    (under 800 steps) measures no λmax of its own to warn from. Without momentum the bound is 2/λ, well below the
    sweep's lowest loss."""
    # 8 px: 300 steps cost a third less than at 16, and the suggestions stay far apart (0.46 > 0.17 > 0.064).
    window = launch({**SMALL, "image_size": 8, "momentum": 0.0})
    show_tab(window.tabs, "Range test")
    panel = window.range_panel
    type_into(panel.iterations, "300")
    type_into(panel.repeats, "1")
    click(panel.start)
    qtbot.waitUntil(lambda: window.last_range_test is not None and not window.controller.testing, timeout=LONG)
    r, bound = panel.recommendation, window.last_range_test["curvature"]["lr_bound"]
    assert r.one_cycle_max_lr > bound > r.constant_lr
    assert "one-cycle max: LR" in panel.status.text() and "the stability bound at the start" in panel.status.text()
    assert "constant: LR" not in panel.status.text()
    click(panel.use_cycle)
    assert window.status.text().startswith(f"⚠ LR {float(f'{r.one_cycle_max_lr:.3g}'):.3g} is ×")
    assert "⚠ LR" in window.log.toPlainText().splitlines()[-1]
    click(panel.use_constant)  # below the bound: nothing to add, and the warning about the other one goes
    assert "⚠" not in window.log.toPlainText().splitlines()[-1] and "⚠" not in window.status.text()



def test_a_new_run_does_not_show_the_range_tests_lambda_max_as_its_own(qtbot, launch):
    """The Health tab read "λmax 7.919 at step 0 (LR at 79% of the bound …)" ten steps into a run that had measured
    nothing: the range test's measurement, against the LR of the schedule before."""
    window = launch(SMALL)
    range_test_before_a_run(qtbot, window)
    assert window.curvature.last.text().startswith("λmax")
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 1, timeout=LONG)
    assert window.curvature.last.text().startswith("no measurement in this run yet; auto measures once 5%")
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    # Ended with nothing measured: "Measure now (Ctrl+K) measures at once" stayed beside the disabled button.
    assert window.curvature.last.text() == ("no λmax measurement in this run: it ended before auto measured one; "
                                            f"`lrscope curvature --checkpoint {window.last_run.run_dir}` measures its last weights")


def test_a_planned_peak_above_the_range_tests_bound_is_flagged_however_it_was_typed(qtbot, window):
    """Using a suggestion above the bound said so; a preset typed at 12× the bound said nothing until the run measured it."""
    type_into(window.editor.peak, "50")  # typed before the test: flagged once the test has measured the bound (it waited
    click(window.editor.use_button)  # for the next edit)
    range_test_before_a_run(qtbot, window)
    assert re.match(r"⚠ the plan's peak: LR \S+ is ×\S+ the stability bound at the start", window.status.text()), window.status.text()
    bound = window.last_range_test["curvature"]["lr_bound"]
    typed = f"{12 * bound:.3g}"
    type_into(window.editor.peak, typed)
    click(window.editor.use_button)  # the editor previews its plan a moment after the last change
    # The peak typed: the highest LR at a whole step lies a hair below a one-cycle's peak, and read 5.75 for 5.76.
    flagged = re.compile(rf"⚠ the plan's peak: LR {re.escape(typed)} is ×1[12](\.\d+)? the stability bound at the start")
    qtbot.waitUntil(lambda: flagged.match(window.status.text()) is not None, timeout=LONG)
    type_into(window.editor.peak, f"{bound / 2:.3g}")
    click(window.editor.use_button)
    qtbot.waitUntil(lambda: "⚠" not in window.status.text() and "next run" in window.status.text(), timeout=LONG)


def test_with_momentum_0_the_editors_momentum_fields_say_they_do_nothing(qtbot, window):
    """A run configured with momentum 0 cycles none; the one-cycle's form still showed "cycle momentum ✓ 0.85 … 0.95"."""
    fields = window.editor.form.editors
    assert fields["cycle_momentum"].isEnabled() and fields["base_momentum"].isEnabled()  # the default one-cycle, β 0.9
    configure(window, momentum=0)
    assert not any(fields[name].isEnabled() for name in ("cycle_momentum", "base_momentum", "max_momentum"))
    assert "momentum is 0" in fields["cycle_momentum"].toolTip()
    configure(window, momentum=0.9)
    assert fields["cycle_momentum"].isEnabled() and "momentum is 0" not in fields["cycle_momentum"].toolTip()


@pytest.mark.parametrize("lambda_max, stale", [(4.0, True), (16.0, False)])  # the planned peak at 42% / 168% of the bound
def test_the_warning_bar_withdraws_a_planned_rise_once_a_measurement_puts_the_planned_peak_under_the_margin(qtbot, window,
                                                                                                         lambda_max, stale):
    """'The schedule will raise the LR … to 143% of the bound' stayed, offering Scale the rest ×0.56, after two later
    measurements had put that peak at 62% and 37% of it (helper-70)."""
    from engine.events import ScheduleChanged, StabilityWarning
    from engine.schedules import Constant, RunSchedule, Schedule, Timeline

    rising = RunSchedule(Timeline.of(Schedule((Constant(steps=300, lr=0.1), Constant(steps=700, lr=0.4))), base_momentum=0.9))  # ×4 at 300
    for event in (ScheduleChanged(0, rising, "", "start"), measured(200, 16.0, 0.1),
                  StabilityWarning(200, "planned_above", "The schedule will raise the LR.", "Scale.", 0.5)):
        window.bridge.put(event)
    qtbot.waitUntil(window.banner.isVisible, timeout=LONG)
    window.bridge.put(measured(250, lambda_max, 0.1))
    qtbot.waitUntil(lambda: "step 250" in window.curvature.last.text(), timeout=LONG)
    assert window.banner.isVisible() != stale
    assert ("the stability warning of step 200 no longer holds" in window.log.toPlainText()) == stale


def test_a_tunes_range_test_is_not_drawn_onto_the_run_shown_and_another_dataset_shows_no_runs_health(qtbot, launch, dialogs):
    """After a tune, a finished run's LR plot drew a bound at 0.63 over all its steps (it had 0.057) and the Health tab
    said "λmax 6.028 at step 0": the tune's range test, on fresh weights, taken as the run's. It stayed there after
    another dataset was opened (helper-124)."""
    from helpers import CAMERA2

    window = launch(TINY)
    configure(window, curvature_every=10)
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None and not window.controller.training, timeout=LONG)
    measured, said = window.lr.stability.measurements.view().copy(), window.curvature.last.text()
    assert len(measured) >= 2 and said.startswith("λmax")
    show_tab(window.tabs, "Tune")
    type_into(window.tune_panel.budget, "3")
    click(window.tune_panel.start)
    qtbot.waitUntil(lambda: window.controller.tuning, timeout=LONG)
    qtbot.waitUntil(lambda: not window.controller.tuning, timeout=LONG)
    assert np.array_equal(window.lr.stability.measurements.view(), measured) and window.curvature.last.text() == said
    dialogs.answer("open_folder", str(CAMERA2))
    trigger(window.open_action)
    qtbot.waitUntil(lambda: window.dataset is not None and window.dataset.summary.name == "digits-camera2", timeout=LONG)
    assert window.curvature.last.text() == "no measurement yet"
    assert not any(drawn(curve) for plot in window.curvature.health.plots for curve in plot.plot.listDataItems())
