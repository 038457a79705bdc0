"""The desktop app, driven through its controls as a person would, headless; every wait is on a condition."""

import json
import os
import re

import numpy as np
import pytest
from gui_fixtures import LONG, SMALL, TINY, drawn, legend, opened, paused_at, paused_with_lr_set, title_key
from helpers import write_one_odd_size, write_two_classes

from gui.driving import choose, click, drag, press, show_tab, trigger, type_into

pytest.importorskip("pytestqt")


def run_to_end(qtbot, window):
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    return window.last_run


def test_launch_shows_the_sample(window):
    from helpers import SAMPLE

    assert "1797 images, 10 classes" in window.dataset_panel.summary.text()
    # Every image's size, read by the decode: no longer those of a sample of 400 headers, said so (helper-105).
    assert "<br>all 32×32<br>" in window.dataset_panel.summary.text()
    assert window.windowTitle() == f"lrscope — digits ({SAMPLE})"
    assert window.dataset_panel.classes.rowCount() == 10 and window.dataset_panel.thumbnails.count() == 30
    assert window.editor.total_steps == 22 and window.start_action.isEnabled()


def test_the_dataset_tab_counts_every_images_size_once_decoded(qtbot, window, dialogs, tmp_path):
    """It gave the sizes of a sample of 400 headers ("all 4×4 (of 400 sampled)"), which missed the one 6×6 image among
    403, as it missed a 4000×4000 one among 1797; the decode that reads every image counts them all."""
    dialogs.answer("open_folder", str(write_one_odd_size(tmp_path / "odd")))
    trigger(window.open_action)
    opened(qtbot, window, "odd")
    assert "<br>402 at 4×4, 1 at 6×6<br>" in window.dataset_panel.summary.text()


def test_the_log_says_what_opening_a_dataset_said_of_its_cache(qtbot, window, dialogs, tmp_path, monkeypatch):
    """The command line printed "the cache folder … is not writable"; the window opened datasets with a log that kept
    nothing, so the next launch decoded every image again without a word."""
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("LRSCOPE_CACHE_DIR", str(blocked))
    dialogs.answer("open_folder", str(write_two_classes(tmp_path / "two")))
    trigger(window.open_action)
    opened(qtbot, window, "two")  # the task's lines reach the bridge before its result
    assert f"the cache folder {blocked} is not writable: images will be decoded again next time" in window.log.toPlainText()


def test_a_run_fills_the_plots_which_export_as_png_and_csv(qtbot, window, dialogs, tmp_path):
    import pyqtgraph as pg
    from PySide6.QtCore import Qt

    from gui.plots.lr_plot import ORANGE

    # Before a run only the plan is drawn: no key for applied LRs ("all groups" named curves that were not there).
    qtbot.waitUntil(lambda: window.lr.plan[1].shape[1] == 4 and legend(window.lr) == ["next run"], timeout=LONG)
    assert title_key(window.momentum) == "Momentum ╌ next run"  # no "applied" key beside nothing drawn
    qtbot.mouseClick(window.toolbar.widgetForAction(window.start_action), Qt.MouseButton.LeftButton)
    run = run_to_end(qtbot, window)
    qtbot.waitUntil(lambda: len(window.accuracy.points) == 1 and "finished" in window.status.text(), timeout=LONG)
    assert run.outcome.state == "finished"
    assert len(window.loss.points) == 22 and len(window.lr.points) == 22
    # one key for the groups, whose curves lie one over another at the same LRs, and one for the plan; none for what
    # is not drawn (no preview, no curvature measured)
    assert window.lr.groups == ("block1", "block2", "block3", "head")
    qtbot.waitUntil(lambda: legend(window.lr) == ["all 4 groups", "planned"], timeout=LONG)
    qtbot.waitUntil(lambda: "━ applied" in title_key(window.momentum), timeout=LONG)
    keys = {label.text: sample.item for sample, label in window.lr.plot.legend.items}
    colours = {text: pg.mkPen(item.opts["pen"]).color().getRgb()[:3] for text, item in keys.items()}
    assert colours["planned"] == colours["all 4 groups"] == ORANGE  # the key's colour is the one drawn on top
    # the plots redraw on a timer (batched): wait for the curves, as the eye would
    qtbot.waitUntil(lambda: all(drawn(curve) == 22 for curve in window.lr.applied), timeout=LONG)
    qtbot.waitUntil(lambda: drawn(window.loss.smooth) == 22, timeout=LONG)
    assert np.all(np.isfinite(window.loss.smooth.getData()[1])) and window.progress.value() == 22
    assert window.loss.describe_at(5).startswith("step 5: loss ")
    for button, name in ((window.loss.png_button, "loss.png"), (window.loss.csv_button, "loss.csv")):
        dialogs.answer("save_path", str(tmp_path / name))
        click(button)
    assert (tmp_path / "loss.png").stat().st_size > 1000
    rows = (tmp_path / "loss.csv").read_text().splitlines()
    assert rows[0] == "step,loss,smoothed,val_step,val_loss" and len(rows) == 23
    choose(window.x_unit, "x: epochs")
    x, _ = window.loss.raw.getData()
    assert x[-1] == pytest.approx(21 / 22) and window.loss.plot.getAxis("bottom").labelText == "epoch"
    # Another model configured for the next run: its plan has other groups, and the run's applied LRs were forgotten
    # while its loss stayed (helper-68, after a lost contact with a resnet18 run).
    choose(window.config_panel.editors["model"], "mobilenet_v2")
    qtbot.waitUntil(lambda: window.lr.plan_groups[-1:] == ("head",) and len(window.lr.plan_groups) == 6, timeout=LONG)
    assert window.lr.groups == ("block1", "block2", "block3", "head") and len(window.lr.points) == 22
    qtbot.waitUntil(lambda: all(drawn(curve) == 22 for curve in window.lr.applied), timeout=LONG)
    assert {"lr_block1", "planned_lr_stem"} <= set(window.lr.columns())


def test_invalid_configuration_is_refused_at_the_field(qtbot, window, dialogs):
    editor = window.config_panel.editors["batch_size"]
    type_into(editor, "0")
    assert "2px solid" in editor.styleSheet() and "batch size: must be at least 1" in window.config_panel.message.text()
    trigger(window.start_action)
    assert not window.controller.training
    assert [e.title for e in dialogs.of("error")] == ["Cannot start"] and "batch size: must be at least 1" in dialogs.of("error")[0].text
    assert "batch size: must be at least 1" in window.log.toPlainText()
    type_into(editor, "64")  # fixed: Start trains, and the refusal's box goes (it stayed over the plots all run long)
    before = len(dialogs.of("dismissed"))
    trigger(window.start_action)
    assert window.controller.training and [shown.title for shown in dialogs.of("dismissed")[before:]] == ["Cannot start"]


def test_an_error_said_again_replaces_its_box_and_a_dismissed_one_closes(qtbot, window):
    """The real, non-blocking boxes: each refusal of Start added one more over the plots."""
    from PySide6.QtWidgets import QMessageBox

    from gui.dialogs import QtDialogs

    def shown(title):
        return [box for box in window.findChildren(QMessageBox) if box.isVisible() and box.windowTitle() == title]

    real = QtDialogs()
    for reason in ("batch size: must be at least 1", "epochs: must be at least 1"):
        real.error(window, "Cannot start", reason, "")
    real.error(window, "Cannot export", "a file of that name is a folder", "")
    qtbot.waitUntil(lambda: len(shown("Cannot start")) == 1)
    assert shown("Cannot start")[0].text() == "epochs: must be at least 1" and len(shown("Cannot export")) == 1
    real.dismiss(window, "Cannot start")
    qtbot.waitUntil(lambda: not shown("Cannot start"))
    assert len(shown("Cannot export")) == 1


def test_keypoints_are_dragged_on_the_plot(qtbot, window):
    from PySide6.QtCore import QPoint

    choose(window.editor.kind, "keypoints")
    click(window.editor.add_button)
    qtbot.waitUntil(lambda: len(window.lr.handles) == 3, timeout=LONG)
    handle = window.lr.handles[1]
    view = window.lr.widget
    start = view.mapFromScene(handle.scenePos())
    end = start + QPoint(0, 25)
    drag(view.viewport(), start, end)
    segment = window.editor.segments[1]
    expected = 10 ** handle.pos().y()
    assert segment.points[1][1] == pytest.approx(expected, rel=1e-6) and segment.points[1][1] < 0.1 / 3


def test_settings_persist_between_launches(qtbot, window):
    from gui.settings import open_settings, saved_config

    type_into(window.config_panel.editors["seed"], "7")
    press(window, "Ctrl+Q")
    assert not window.isVisible()
    assert saved_config(open_settings())["seed"] == 7
    assert json.loads(open_settings().value("data/recent"))[0].endswith("digits")


def test_the_window_fits_a_laptop_screen(qtbot, window):
    """Docks scroll rather than impose their forms' sizes: the window's minimum stays well under 1366 x 768;
    at that size the left dock's forms fit its width (nothing to scroll sideways)."""
    from PySide6.QtWidgets import QDockWidget, QScrollArea, QTabWidget

    smallest = window.minimumSizeHint()
    # A 1024 x 600 screen less a title bar: at 635 px the window opened past its foot, status bar unseen (helper-83).
    assert smallest.width() <= 1024 and smallest.height() <= 570, smallest
    tabs = next(t for t in window.findChildren(QTabWidget) if t.isAncestorOf(window.config_panel))
    for title, panel in (("Configuration", window.config_panel), ("Dataset", window.dataset_panel)):
        show_tab(tabs, title)
        area = next(a for a in window.findChildren(QScrollArea) if a.widget() is panel)
        qtbot.waitUntil(lambda area=area: area.viewport().width() < 400, timeout=LONG)  # laid out in the dock
        assert area.horizontalScrollBar().maximum() == 0, (title, panel.minimumSizeHint().width(), area.viewport().width())
    # Yet the side docks cannot be squeezed to slivers: a layout saved small came back with them at about 120 px.
    window.resize(800, 600)
    qtbot.waitUntil(lambda: window.width() <= smallest.width(), timeout=LONG)  # as narrow as it goes
    for name, narrowest in (("Dataset and configuration", 200), ("Schedule", 250)):
        assert window.findChild(QDockWidget, name).width() >= narrowest, name


def test_no_tab_makes_the_window_taller_than_a_small_screen(qtbot, window):
    """Once shown at 1024 x 600, the Runs tab's list and plots asked for 573 px: the window, at least that tall, ran past
    the foot of a 600 px screen."""
    window.resize(1024, 600)
    for title in [window.tabs.tabText(index) for index in range(window.tabs.count())]:
        show_tab(window.tabs, title)
        qtbot.wait(100)  # the tab's plots are built and laid out
        assert window.minimumSizeHint().height() <= 570, (title, window.minimumSizeHint())


def test_window_layout_and_view_persist_between_launches(qtbot, launch, window):
    from PySide6.QtWidgets import QDockWidget

    window.resize(1100, 700)  # what the window manager does when the user drags the border
    trigger(window.view_actions["Log"])
    choose(window.x_unit, "x: epochs")
    type_into(window.smoothing, "55")
    press(window, "Ctrl+Q")
    again = launch()
    assert (again.width(), again.height()) == (1100, 700)
    assert again.findChild(QDockWidget, "Log").isHidden() and not again.findChild(QDockWidget, "Schedule").isHidden()
    assert again.x_unit.currentIndex() == 1 and again.smoothing.value() == 55


def test_range_test_mid_run_then_use_its_suggestion(qtbot, launch):
    window = launch({**TINY, "epochs": 40})
    type_into(window.range_panel.iterations, "300")
    type_into(window.range_panel.repeats, "1")
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 2, timeout=LONG)
    stop_x = window.toolbar.widgetForAction(window.stop_action).x()
    # Then it says that it measures λmax, which "starting…" hid for 40 s; both read as the window hears each event (the
    # measurement of so small a model may take less than one drain of the bridge, and the next line would hide it).
    said = []
    heard = lambda event: said.append((window.range_panel.status.text(), window.status.text())) or True
    with qtbot.waitSignals([window.bridge.stateChanged, window.bridge.curvatureMeasured], timeout=LONG,
                           check_params_cbs=[lambda event: event.state == "range_test" and heard(event),
                                             lambda event: event.trigger == "range_test" and heard(event)]):
        press(window, "Ctrl+T")
        # From the run's weights: "building the model" misled (helper-74). Read before the window hears the test start.
        assert window.range_panel.status.text() == "starting at the run's next step, from its weights…"
        # One test at a time: a second Ctrl+T queued a whole second test, whose start wiped the first's suggestions (helper-91).
        assert not window.test_action.isEnabled()
        press(window, "Ctrl+T")
    (measuring, line), (measured, _) = said
    assert measuring == "measuring λmax at the run's weights before the sweep…"
    # Whichever step the run reached: on a fast machine it trained into epoch 2 before the window heard step 2.
    assert re.fullmatch(rf"range test \(training paused\) · {re.escape(measuring)} · epoch \d+/40 · \d+/880 steps", line), line
    assert measured.startswith("λmax ") and measured.endswith(" measured; timing the first steps…")
    qtbot.waitUntil(lambda: "range test" in window.status.text(), timeout=LONG)
    assert "range_test" not in window.status.text()
    # The status line says how far the test is, as it does before a run (it showed the paused run's epoch and step only).
    qtbot.waitUntil(lambda: "range test (training paused) · " in window.status.text() and "% done" in window.status.text(),
                    timeout=LONG)
    trigger(window.pause_action)  # it sent Resume: the run went on training after the test
    assert "the run pauses when the range test ends" in window.log.toPlainText()
    trigger(window.measure_action)  # the test holds it: said so, not "at the next step" with nothing for minutes
    assert "measuring λmax when the range test ends" in window.log.toPlainText()
    assert window.pause_action.text() == "Pausing after the test" and not window.pause_action.isEnabled()  # it said "Pause"
    qtbot.wait(100)  # the toolbar lays its buttons out again on the event loop
    assert window.toolbar.widgetForAction(window.stop_action).x() == stop_x  # it moved 80 px right, under the pointer (helper-91)
    qtbot.waitUntil(lambda: window.last_range_test is not None, timeout=LONG)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    assert window.pause_action.text() == "Resume"
    # four suggestions and the stability bound measured at the test's start
    assert window.range_panel.table.rowCount() == 4 and len(window.range_plot.markers) == 5
    assert window.test_action.isEnabled() and window.log.toPlainText().count("range test (sweep) started at step") == 1
    assert "bound 2(1+β)/λ" in window.range_plot.markers[-1].label.toPlainText()
    colours = [line.pen.color().name() for line in window.range_plot.marker_lines]
    assert colours[-1] not in colours[:-1]  # "steepest" was the bound's red: two lines read as one
    bound, *suggestions = reversed(window.range_plot.marker_lines)
    assert all(bound.zValue() < line.zValue() for line in suggestions)  # a suggestion near the bound is drawn over it
    click(window.range_panel.use_cycle)
    qtbot.waitUntil(lambda: any("range_test" in window.editor.history.item(i).text() for i in range(window.editor.history.count())),
                    timeout=LONG)
    assert "the loss may have moved since" not in window.log.toPlainText()  # used where it was measured
    tested_at = window.live.step
    trigger(window.pause_action)  # resume, and train more than an epoch past the test
    qtbot.waitUntil(lambda: window.live.step > tested_at + 25, timeout=LONG)
    click(window.range_panel.use_constant)  # a suggestion of step 11 went in at step 1344 without a word
    qtbot.waitUntil(lambda: "the loss may have moved since" in window.log.toPlainText(), timeout=LONG)
    assert f"the range test measured this run's weights at step {tested_at}; the run is at step" in window.log.toPlainText()
    trigger(window.pause_action)  # a test in a paused run: its button offered Pause, though the run stays paused after it
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    type_into(window.range_panel.iterations, "100")  # this test is only waited out: the first's 300 kept it going above
    press(window, "Ctrl+T")
    qtbot.waitUntil(lambda: window.live.state == "range_test", timeout=LONG)
    assert window.pause_action.text() == "Resume"
    trigger(window.pause_action)
    assert "the run resumes when the range test ends" in window.log.toPlainText()
    assert window.pause_action.text() == "Resuming after the test" and not window.pause_action.isEnabled()
    qtbot.waitUntil(lambda: window.live.state == "running", timeout=LONG)
    trigger(window.stop_action)
    run = run_to_end(qtbot, window)
    assert [r.edit.reason for r in run.run_schedule.edits] == ["range_test", "range_test"] and run.outcome.state == "stopped"
    # The next run's plan is not checked against a bound measured on this run's trained weights: "the stability bound at
    # the start (1.62)" was said of a fresh run whose own λmax gave 0.346.
    peak = float(f"{12 * window.last_range_test['curvature']['lr_bound']:.3g}")
    type_into(window.editor.peak, str(peak))
    click(window.editor.use_button)
    qtbot.waitUntil(lambda: window.lr.plan[1].max() > 0.9 * peak, timeout=LONG)  # the plan is previewed, and checked
    assert "⚠" not in window.status.text(), window.status.text()


def test_cancelling_then_closing_during_a_range_test_before_a_run(qtbot, window):
    panel = window.range_panel
    show_tab(window.tabs, "Range test")
    type_into(panel.iterations, "2000")  # 5% (the first time-left guess) in about 2 s; far from done when cancelled
    type_into(panel.repeats, "1")
    # Before a run too λmax is measured first: "starting: building the model…" hid it. Read as the window hears the
    # measurement (so small a model's first steps may be timed within the same drain of the bridge, and hide the line).
    said = []
    with qtbot.waitSignal(window.bridge.curvatureMeasured, timeout=LONG,
                          check_params_cb=lambda event: said.append((panel.status.text(), window.status.text())) or True):
        click(panel.start)
        assert panel.status.text() == "starting: building the model and the first batches, then measuring λmax before the sweep…"
        assert window.status.text() == "range test: starting (building the model)…"
    [(measured, line)] = said
    assert measured.startswith("λmax ") and measured.endswith(" measured; timing the first steps…"), measured
    assert line == f"range test: {measured}"
    qtbot.waitUntil(lambda: window.controller.testing and window.range_plot.points.size > 0, timeout=LONG)
    # How far it is and its time left at the pace kept, not only the first estimate (timed on one step).
    qtbot.waitUntil(lambda: "% done, about" in panel.status.text() and " left" in panel.status.text(), timeout=LONG)
    assert "% done, about" in window.status.text()
    click(panel.cancel)
    assert "cancelling" in panel.status.text() and not panel.cancel.isEnabled()  # at once: the batch under way finishes first
    qtbot.waitUntil(lambda: not window.controller.testing and panel.start.isEnabled(), timeout=LONG)
    assert "cancelled before its curve said anything" in panel.status.text() and "raise the end LR" not in panel.status.text()
    click(panel.start)
    qtbot.waitUntil(lambda: window.controller.testing and window.range_plot.points.size > 0, timeout=LONG)
    press(window, "Ctrl+Q")
    assert not window.controller.testing


def test_every_tooltip_names_the_key_its_action_is_bound_to(window):
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QWidget

    bound = {}
    for action in window.findChildren(QAction):
        if not action.shortcut().isEmpty():
            key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            assert action.toolTip().endswith(f"({key})"), action.toolTip()
            bound[key] = action
    assert window.undo_action.shortcuts() == QKeySequence.keyBindings(QKeySequence.StandardKey.Undo)
    mentions = re.compile(r"(?:(?:Ctrl|Alt|Shift|Meta)\+)+[\w.]+")  # Ctrl+Shift+U too
    checked = 0
    for widget in window.findChildren(QWidget):
        for key in mentions.findall(widget.toolTip()):
            assert key in bound, f"{widget.toolTip()!r} names {key}, which nothing is bound to"
            assert widget.toolTip() == bound[key].toolTip(), widget.toolTip()
            checked += 1
    assert checked >= 4  # the Open, range-test Start, Apply and Undo buttons say their keys


def test_an_error_in_a_slot_is_shown_in_a_dialog_and_the_log(qtbot, window, dialogs, slot_exceptions, monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr("gui.schedule_io.export_schedule", broken)
    dialogs.answer("save_path", str(tmp_path / "tuned.json"))
    trigger(window.export_action)
    [shown] = dialogs.of("error")
    assert shown.title == "Something went wrong" and "RuntimeError: the disk is on fire" in shown.text
    assert "Nothing was lost" in shown.details and "RuntimeError: the disk is on fire" in window.log.toPlainText()
    assert [kind for kind, _value, _trace in slot_exceptions] == [RuntimeError]
    slot_exceptions.clear()


def test_the_help_menu_lists_the_shortcuts_and_says_the_version(qtbot, window, dialogs):
    """No Help menu: the shortcuts were only in the menus, one menu at a time, and the tooltips."""
    from engine import __version__

    assert [action.text() for action in window.help_menu.actions()] == ["Keyboard shortcuts", "About lrscope"]
    press(window, "F1")  # the platform's help key
    [listed] = dialogs.of("info")
    assert listed.title == "Keyboard shortcuts"
    # The two Delete keys (the Runs tab's table, the library's list) are told apart: both read "Delete…".
    for text, key in (("Start", "Ctrl+R"), ("Export tuned schedule…", "Ctrl+E"), ("Reset layout", "Ctrl+Shift+L"),
                      ("Delete runs…", "Del"), ("Delete library schedule…", "Del")):
        assert f"<tr><td>{text}</td><td>&nbsp;&nbsp;<b>{key}</b></td></tr>" in listed.text, listed.text
    trigger(window.about_action)
    about = dialogs.of("info")[-1]
    assert about.title == "About lrscope" and f"lrscope {__version__}" in about.text and "README.md" in about.details


def test_the_windows_keys_work_while_a_text_field_has_the_focus(qtbot, window, dialogs, tmp_path):
    """In the peak LR field Ctrl+K deleted to the end of the line (the field's key on Linux) instead of measuring λmax,
    and Ctrl+E moved the cursor instead of exporting."""
    from gui_fixtures import paused_with_lr_set
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence
    from PySide6.QtWidgets import QApplication

    if QKeySequence("Ctrl+K") not in QKeySequence.keyBindings(QKeySequence.StandardKey.DeleteEndOfLine):
        pytest.skip("this platform's text fields do not claim Ctrl+K; test_gui_launch.py runs this test under X11")
    type_into(window.editor.peak, "0.3")
    qtbot.keyClick(window.editor.peak, Qt.Key.Key_Home)
    assert not window.measure_action.isEnabled()
    press(window, "Ctrl+K")  # no run to measure: the key does nothing, as outside a field (the field was emptied)
    assert window.editor.peak.text() == "0.3"
    paused_with_lr_set(qtbot, window, "0.05", 2)
    type_into(window.editor.peak, "0.3")
    qtbot.keyClick(window.editor.peak, Qt.Key.Key_Home)
    assert QApplication.focusWidget() is window.editor.peak
    press(window, "Ctrl+K")
    qtbot.waitUntil(lambda: "measuring λmax now (the run stays paused)" in window.log.toPlainText(), timeout=LONG)
    assert window.editor.peak.text() == "0.3"
    path = tmp_path / "from-the-field.lrschedule.json"
    dialogs.answer("save_path", str(path))
    press(window, "Ctrl+E")
    qtbot.waitUntil(path.exists, timeout=LONG)
    assert window.editor.peak.text() == "0.3"


def test_runs_are_deleted_from_the_runs_tab_after_asking_but_never_the_one_the_window_trains(qtbot, launch, dialogs):
    """A run could not be deleted from the window: the Runs tab filled with trials and tries."""
    from pathlib import Path

    from PySide6.QtGui import QKeySequence

    from gui.driving import select_rows

    window = launch({**SMALL, "epochs": 40})
    table = window.runs_panel.table
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 2, timeout=LONG)
    show_tab(window.tabs, "Runs")
    assert table.topLevelItemCount() == 1  # at once: the run started while the tab was hidden came after the timer's first tick
    assert table.topLevelItem(0).toolTip(1).startswith(f"fingerprint {window.dataset.summary.fingerprint} (the same fingerprint")
    select_rows(table, [0])
    press(window, QKeySequence.StandardKey.Delete)
    assert dialogs.of("error")[-1].text.endswith(": this window is training it; stop it first, then delete it")
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    run_dir = Path(window.last_run.run_dir)
    trigger(window.start_action)  # a second run, stopped at once: none of its steps stored (Compare raised on it)
    qtbot.waitUntil(lambda: window.stop_action.isEnabled(), timeout=LONG)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run.run_dir != str(run_dir) and not window.controller.training, timeout=LONG)
    kept = Path(window.last_run.run_dir)
    show_tab(window.tabs, "Runs")
    qtbot.waitUntil(lambda: table.topLevelItemCount() == 2, timeout=LONG)
    select_rows(table, [0, 1])
    click(window.runs_panel.buttons["Compare"])
    assert len(window.compare.loss.series) == 2
    # In use by another process: refused before asking (it asked "This cannot be undone?", then refused; helper-71).
    from engine.store.lock import RunLock

    held = RunLock(kept).acquire()
    select_rows(table, [next(row for row in range(2) if table.topLevelItem(row).text(0) == kept.name)])
    press(window, QKeySequence.StandardKey.Delete)  # no answer scripted: a question would fail the test
    assert f"{kept.name}: is in use by process {os.getpid()}" in dialogs.of("error")[-1].text and kept.is_dir()
    held.release()
    first = next(row for row in range(2) if table.topLevelItem(row).text(0) == run_dir.name)
    select_rows(table, [first])
    dialogs.answer("yes_no", False)
    press(window, QKeySequence.StandardKey.Delete)
    assert dialogs.of("yes_no")[-1].details == run_dir.name and run_dir.is_dir()
    dialogs.answer("yes_no", True)
    press(window, QKeySequence.StandardKey.Delete)
    assert not run_dir.exists() and table.topLevelItemCount() == 1
    assert f"deleted run {run_dir.name}" in window.log.toPlainText()
    # The overlay let the deleted run go: it drew it on, its name in the key.
    assert list(window.compare.loss.series) == [kept.name] and run_dir.name[9:] not in window.compare.loss.heading.text()


def test_redo_makes_the_undone_set_lr_again_from_the_key_and_the_run_trains_at_it(qtbot, launch):
    """There was no Redo: an edit undone by mistake had to be made again by hand."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    from engine.store import read_steps

    window = launch({**SMALL, "epochs": 40})
    paused_with_lr_set(qtbot, window, "0.0123", 3)
    assert not window.editor.redo.isEnabled()
    type_into(window.editor.set_lr, "0")  # refused by the run ...
    qtbot.keyClick(window.editor.set_lr, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.editor.run_edits.problem.text().startswith("the LR to hold must be above 0"), timeout=LONG)
    trigger(window.undo_action)
    qtbot.waitUntil(lambda: window.editor.history.count() == 2 and window.editor.redo.isEnabled(), timeout=LONG)
    assert window.editor.run_edits.problem.isHidden()  # ... and the refusal goes once an edit is made: it stayed under the preset
    undone_at = window.live.step
    trigger(window.pause_action)  # on for a few steps: the redo comes later than the Set LR it makes again
    qtbot.waitUntil(lambda: window.live.step > undone_at + 2, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    window.log.setFocus()  # the key, from where the focus is, as a person presses it
    press(window, QKeySequence.StandardKey.Redo)
    qtbot.waitUntil(lambda: window.editor.history.count() == 3, timeout=LONG)
    assert "redid edit #1 (set LR to 0.0123 for the rest" in window.editor.history.item(2).text()
    # The edit's own line says what became of it (it read as in force, its undo and redo further down).
    assert window.editor.history.item(0).text().endswith(f"; undone at step {undone_at}, redone at step {window.live.step}")
    # The Set LR made earlier is in force from the redo's step: "steps 16–880" read as if it ran from the Set LR's.
    piece = window.live.run_schedule.timeline.pieces[-1]
    assert piece.start > piece.origin and window.editor.length.text().endswith(f", in force from {piece.start}")
    # It wraps: at 4-digit steps its one line widened the Schedule panel past the window (a scrollbar, a cut field).
    assert window.editor.length.minimumSizeHint().width() < window.editor.length.fontMetrics().horizontalAdvance(window.editor.length.text())
    assert not window.editor.redo.isEnabled() and window.editor.undo.isEnabled()
    step = window.live.step
    assert window.live.run_schedule.timeline.lr_at(step) == pytest.approx(0.0123)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.step > step + 2, timeout=LONG)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    trained = read_steps(window.last_run.run_dir)  # what the run trained at after the redo
    assert trained["lrs"][trained["step"] == step + 1].max() == pytest.approx(0.0123)


def test_the_configuration_fields_stay_where_they_are_as_a_run_starts_and_ends(qtbot, window):
    """The note on the run going on appeared above the fields as a run started: every field moved 50 px down, and a
    click aimed at epochs landed on another field (helper-79). It is there with no run too, saying what the fields are."""
    from PySide6.QtWidgets import QTabWidget

    from gui.panels.config_panel import IDLE_NOTE

    show_tab(next(t for t in window.findChildren(QTabWidget) if "Configuration" in [t.tabText(i) for i in range(t.count())]),
             "Configuration")
    epochs, note = window.config_panel.editors["epochs"], window.config_panel.followed
    qtbot.wait(100)  # the layout runs from the event loop
    at = epochs.mapTo(window, epochs.rect().topLeft())
    assert note.isVisible() and note.text() == IDLE_NOTE
    trigger(window.start_action)
    qtbot.waitUntil(lambda: note.text().startswith("The run going on trains with these settings"), timeout=LONG)
    qtbot.wait(100)
    assert epochs.mapTo(window, epochs.rect().topLeft()) == at
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    qtbot.wait(100)
    assert note.text() == IDLE_NOTE and epochs.mapTo(window, epochs.rect().topLeft()) == at


def test_scale_the_rest_halves_every_lr_still_to_come_from_the_run_panel(qtbot, launch):
    """Halving what is left was in the window only on the stability warning's bar, shown near the bound (helper-69)."""
    from PySide6.QtCore import Qt

    window = launch({**SMALL, "epochs": 40})
    assert not window.editor.scale_now.isEnabled()  # no run: nothing to scale
    paused_at(qtbot, window, 3)
    assert window.editor.run_edits.problem.isHidden()
    at = window.editor.scale_by.mapTo(window, window.editor.scale_by.rect().topLeft())
    type_into(window.editor.scale_by, "half")
    click(window.editor.scale_now)
    assert window.editor.run_edits.problem.text().startswith("Scale the rest: expected a factor")
    qtbot.wait(100)  # the layout runs from the event loop; the reason shows without moving the fields (helper-75)
    assert window.editor.scale_by.mapTo(window, window.editor.scale_by.rect().topLeft()) == at
    type_into(window.editor.scale_by, "0")
    qtbot.keyClick(window.editor.scale_by, Qt.Key.Key_Return)  # refused by the run, which says why
    qtbot.waitUntil(lambda: window.editor.run_edits.problem.text().startswith("the factor to scale the rest by must be above 0"), timeout=LONG)
    assert window.editor.run_edits.problem.isVisible()  # beside the fields, where it was typed (helper-72)
    qtbot.wait(100)  # ... without moving them under the mouse: the next click landed on another control (helper-75)
    assert window.editor.scale_by.mapTo(window, window.editor.scale_by.rect().topLeft()) == at
    type_into(window.editor.scale_by, "0.5")
    qtbot.keyClick(window.editor.scale_by, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)
    assert window.editor.history.item(0).text().startswith("#1 step ") and window.editor.history.item(0).text().endswith("(user): scaled the rest ×0.5")
    timeline, step = window.live.run_schedule.timeline, window.live.step
    later = np.arange(step, timeline.total_steps)
    assert np.allclose(timeline.lrs(later), 0.5 * timeline.pieces[0].schedule.lrs(later))
    # A setting typed mid-run is the next run's, and now the tab says so (momentum 0 changed nothing, silently), without
    # moving the fields under the mouse as its text grows (a click aimed at image size changed epochs: helper-72).
    from PySide6.QtWidgets import QTabWidget

    show_tab(next(t for t in window.findChildren(QTabWidget) if "Configuration" in [t.tabText(i) for i in range(t.count())]),
             "Configuration")
    momentum = window.config_panel.editors["momentum"]
    assert window.config_panel.followed.text().startswith("The run going on trains with these settings")
    at = momentum.mapTo(window, momentum.rect().topLeft())
    type_into(momentum, "0")
    assert window.config_panel.followed.text() == "The run going on trains with momentum 0.9: these fields are for the next run."
    assert not window.config_panel.followed.isHidden() and momentum.mapTo(window, momentum.rect().topLeft()) == at
    type_into(window.config_panel.editors["weight_decay"], "0.001")  # a note of two lines, the fields where they were
    type_into(window.config_panel.editors["batch_size"], "32")
    assert "weight decay 0.0005, batch size 64: these" in window.config_panel.followed.text()
    qtbot.wait(100)  # the layout runs from the event loop: compared before it, the fields had not moved yet either way
    assert momentum.mapTo(window, momentum.rect().topLeft()) == at
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: not window.controller.training, timeout=LONG)
    assert not window.editor.scale_now.isEnabled() and window.editor.scale_by.text() == ""
    assert window.config_panel.followed.text() == "These settings are for the next run."


def test_once_the_devices_are_listed_the_window_sets_the_objects_alive_aside_from_the_collector(qtbot, launch):
    """A full collection on the GUI thread traversed the ~390,000 objects alive once torch is imported: 194 ms, about
    every two minutes of training (pyqtgraph's collector). The window sets them aside once it has listed the devices."""
    import gc

    gc.unfreeze()  # the test session set its own aside; this window must do it for the app
    window = launch(SMALL)
    qtbot.waitUntil(lambda: window.config_panel.editors["device"].count() > 0, timeout=LONG)
    qtbot.waitUntil(lambda: gc.get_freeze_count() > 100_000, timeout=LONG)
