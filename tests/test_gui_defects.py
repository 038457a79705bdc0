"""What a walkthrough of the window found (issue 12 §2), each checked the way a person would meet it."""

import os
import re
import shutil

import numpy as np
import pytest
from gui_fixtures import (
    LONG,
    SMALL,
    TINY,
    drawn,
    exported_then_another_opened,
    heading_fits,
    legend,
    opened,
    paused_at,
    paused_with_lr_set,
    range_test_before_a_run,
    title_key,
)
from helpers import CAMERA2, SAMPLE, write_image
from PySide6.QtCore import Qt

from gui.driving import choose, click, hover, press, show_tab, trigger, type_into

pytest.importorskip("pytestqt")


def on_screen(widget, window) -> bool:
    """Whether ``widget`` is shown whole inside the window (not scrolled or pushed out of it)."""
    from PySide6.QtCore import QRect

    if not widget.isVisible() or widget.visibleRegion().isEmpty():
        return False
    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size()).intersects(window.rect()) and \
        widget.visibleRegion().boundingRect().size() == widget.size()


def test_a_folder_that_is_not_a_dataset_says_why_and_shows_no_dataset(qtbot, launch, dialogs, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("not an image")
    window = launch(data=tmp_path, opened=False)
    panel = window.dataset_panel
    qtbot.waitUntil(lambda: panel.problems.count() > 0, timeout=LONG)
    assert window.status.text().startswith("no dataset")
    assert "cannot be used" in panel.summary.text() and "1797" not in panel.summary.text()
    # Why, at the top of the panel (the Problems list is below the fold at 1366×768), and the dock no wider for its path.
    assert "does not look like a dataset folder" in panel.summary.text() and panel.summary.minimumSizeHint().width() < 300
    assert panel.classes.rowCount() == 0 and panel.thumbnails.count() == 0 and panel.library.count() == 0
    assert window.windowTitle() == "lrscope" and not window.start_action.isEnabled() and not window.test_action.isEnabled()
    assert not window.tune_panel.start.isEnabled()  # it was, and said only in the log that a tune needs a dataset
    press(window, "Ctrl+R")
    assert not window.controller.training
    assert str(tmp_path) in panel.problems.item(0).text() or tmp_path.name in panel.problems.item(0).text()

    dialogs.answer("open_folder", str(tmp_path / "missing"))
    trigger(window.open_action)
    qtbot.waitUntil(lambda: "no such folder" in (panel.problems.item(0).text() if panel.problems.count() else ""), timeout=LONG)


def test_a_folder_that_cannot_be_opened_leaves_the_open_dataset_as_it_was(qtbot, launch, dialogs, tmp_path):
    """It cleared the open dataset, its run's plots, range test and tune, for a folder that could not be used."""
    window = launch(TINY)
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None and "finished" in window.status.text(), timeout=LONG)
    range_test_before_a_run(qtbot, window)
    run, test, loss = window.last_run, window.last_range_test, len(window.loss.points)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("not an image")
    dialogs.answer("open_folder", str(tmp_path))
    trigger(window.open_action)
    assert window.status.text().startswith(f"opening {tmp_path.name}")  # not the sample's "next run: 22 steps"
    qtbot.waitUntil(lambda: len(dialogs.of("error")) == 1, timeout=LONG)
    shown = dialogs.of("error")[-1]
    assert shown.title == "Cannot open the folder" and "does not look like a dataset folder" in shown.text
    assert shown.text.endswith("(digits is still open)") and "digits is still open" in window.log.toPlainText()
    assert window.dataset.summary.name == "digits" and "1797" in window.dataset_panel.summary.text()
    assert window.windowTitle().startswith("lrscope — digits") and window.start_action.isEnabled()
    assert window.last_run is run and window.last_range_test is test and len(window.loss.points) == loss
    assert "next run: 22 steps" in window.status.text()
    dismissed = len(dialogs.of("dismissed"))
    dialogs.answer("open_folder", str(CAMERA2))
    trigger(window.open_action)  # the box's "(digits is still open)" stayed over the dataset opened next (helper-66)
    opened(qtbot, window, "digits-camera2")
    assert "Cannot open the folder" in [shown.title for shown in dialogs.of("dismissed")[dismissed:]]


def test_opening_another_dataset_after_a_run_clears_the_old_run(qtbot, launch, dialogs):
    window = launch(TINY)
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    qtbot.waitUntil(lambda: window.editor.history.count() == 0 and "finished" in window.status.text(), timeout=LONG)
    dialogs.answer("open_folder", str(CAMERA2))
    trigger(window.open_action)
    opened(qtbot, window, "digits-camera2")
    assert len(window.loss.points) == 0 and len(window.lr.points) == 0 and len(window.accuracy.points) == 0
    assert title_key(window.loss) == "Loss" and window.last_run is None
    assert "finished" not in window.status.text() and "next run" in window.status.text()
    assert "previous dataset are cleared" in window.log.toPlainText()


def test_after_a_run_with_an_edit_start_trains_the_runs_schedule_with_it_not_its_last_piece_stretched(qtbot, launch):
    window = launch({**TINY, "epochs": 10})
    editor = window.editor
    paused_with_lr_set(qtbot, window, "0.01", 3)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.last_run is not None and not window.controller.training, timeout=LONG)
    first = window.last_run.run_schedule.timeline
    edited_at = first.pieces[-1].origin
    assert editor.length.text() == f"run: 220 steps; this schedule: steps {edited_at}–220"
    assert "the editor holds the run's schedule with its 1 edit" in window.log.toPlainText()
    # It trained the next run at 0.01 from step 0: the last piece, stretched over the run.
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.run_schedule is not None and window.live.run_dir not in (None, window.last_run.run_dir), timeout=LONG)
    again, second = window.live.run_schedule.timeline, window.live.run_dir
    steps = np.arange(220)
    assert np.allclose(again.lrs(steps), first.lrs(steps))
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run.run_dir == second, timeout=LONG)  # the window has taken in its end
    # A longer run stretches it whole, the edit at the same place in proportion.
    type_into(window.config_panel.editors["epochs"], "20")
    qtbot.waitUntil(lambda: editor.length.text().startswith("run: 440 steps"), timeout=LONG)
    assert editor.length.text() == f"run: 440 steps; this schedule: steps {2 * edited_at}–440"


def test_after_a_run_in_which_the_plateau_rule_cut_the_lr_start_trains_each_cut_once(qtbot, launch):
    # Epochs to spare: in 6 epochs the rule found no plateau twice while other tests ran beside it (the pause came at
    # step 4 to 8, so each epoch end after it improved the val loss past the rule's 0.01% as batch norm settled).
    window = launch({**TINY, "epochs": 12})
    editor = window.editor
    click(editor.plateau)
    type_into(editor.plateau_patience, "0")
    # The validation loss stops improving once batch norm's running statistics settle: the rule cuts.
    paused_with_lr_set(qtbot, window, "1e-7", 3)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: "the editor holds the run's schedule" in window.log.toPlainText(), timeout=LONG)
    first, first_dir = window.last_run.run_schedule, window.last_run.run_dir
    assert first.plateau_cuts >= 1
    assert "with its 1 edit:" in window.log.toPlainText() and "cuts are in the schedule now, so the rule is off" in window.log.toPlainText()
    assert not editor.plateau.isChecked()
    # Left on, the rule cut again where it had: the next run trained below the run it was to repeat.
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run.run_dir != first_dir and not window.controller.training, timeout=LONG)
    again, steps = window.last_run.run_schedule, np.arange(first.timeline.total_steps)
    assert again.plateau_cuts == 0 and np.allclose(again.timeline.lrs(steps), first.timeline.lrs(steps))


def test_no_run_tune_or_other_dataset_starts_while_a_range_test_runs_before_a_run(qtbot, window):
    """Start stayed enabled during a range test before a run: the run trained beside the test, and the status bar still
    said "range test running before a run: 91% done" after the run had ended."""
    assert window.progress.isHidden()  # idle: no empty box beside "idle"
    show_tab(window.tabs, "Range test")
    type_into(window.range_panel.iterations, "2000")
    click(window.range_panel.start)
    assert window.controller.testing
    assert not window.start_action.isEnabled() and not window.open_action.isEnabled() and not window.tune_panel.start.isEnabled()
    assert not window.dataset_panel.open_button.isEnabled() and not window.dataset_panel.recent.isEnabled()
    press(window, "Ctrl+R")
    assert not window.controller.training
    qtbot.waitUntil(lambda: window.progress.value() > 0, timeout=LONG)  # the status bar's bar follows the test
    assert not window.progress.isHidden()
    click(window.range_panel.cancel)
    qtbot.waitUntil(lambda: not window.controller.testing, timeout=LONG)
    qtbot.waitUntil(window.start_action.isEnabled, timeout=LONG)
    assert window.open_action.isEnabled() and window.tune_panel.start.isEnabled() and window.dataset_panel.open_button.isEnabled()
    assert window.progress.value() == window.progress.minimum() - 1  # reset: the cancelled test's 43% stayed beside "idle"
    assert window.progress.isHidden()  # and no empty box is left there either


def test_a_schedule_longer_than_the_run_is_said_to_shrink_and_epochs_typed_mid_run_plan_the_next(qtbot, launch):
    window = launch({**SMALL, "epochs": 4})
    choose(window.editor.kind, "constant")
    click(window.editor.add_button)  # a segment past the run's end: Start shrank every segment without a word
    assert not window.editor.length.text().endswith("steps 0–88")
    trigger(window.start_action)
    assert "it is stretched to the run's 88, every segment in proportion" in window.log.toPlainText()
    qtbot.waitUntil(lambda: window.live.step >= 3, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    type_into(window.editor.set_lr, "0.01")  # an edit: after the run the editor holds the run's schedule, at its 88 steps
    click(window.editor.set_now)
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)
    type_into(window.config_panel.editors["epochs"], "2")  # for the next run: the editor said 88 steps after this one
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None and not window.controller.training, timeout=LONG)
    qtbot.waitUntil(lambda: window.editor.length.text().startswith("run: 44 steps"), timeout=LONG)
    assert not window.progress.isHidden()  # the stopped run's share of its steps
    # The log names the steps the editor shows, the next run's: "steps 0 to 3" beside "this schedule: steps 2–44".
    shown_from = re.search(r"this schedule: steps (\d+)–44", window.editor.length.text()).group(1)
    assert f"steps 0 to {shown_from} follow the run's, then the piece shown" in window.log.toPlainText(), window.log.toPlainText()[-600:]
    type_into(window.config_panel.editors["epochs"], "3")
    qtbot.waitUntil(lambda: "stopped · next run: 66 steps" in window.status.text(), timeout=LONG)
    assert window.progress.isHidden()  # the stopped run's share beside the next run's plan read as that plan's progress


def test_an_image_size_typed_during_a_run_is_the_next_runs_and_its_images_are_decoded_at_it(qtbot, launch):
    """Typed mid-run, the field said 16 and the log "stop it before opening another dataset"; the next Start trained on the
    8 px images and recorded 16, so a resume trained at another size than the run had (helper-72)."""
    window = launch({"image_size": 8, "epochs": 40})
    paused_at(qtbot, window, 2)
    type_into(window.config_panel.editors["image_size"], "16")
    assert "image size is for the next run: the images are decoded again once this one ends" in window.log.toPlainText()
    assert "before opening another dataset" not in window.log.toPlainText() and window.dataset.summary.resolution == 8
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.dataset is not None and window.dataset.summary.resolution == 16, timeout=LONG)
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.config.get("image_size") == 16, timeout=LONG)
    assert window.live.dataset["resolution"] == 16  # the images the run records are the ones it trains on
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: not window.controller.training, timeout=LONG)


def test_a_batch_bigger_than_the_training_images_is_said_when_the_run_starts(qtbot, launch, dialogs):
    from gui.driving import select_rows

    window = launch(TINY)
    type_into(window.config_panel.editors["batch_size"], "5000")  # a 1-step epoch trained without a word
    # not "1 steps (1 epoch × 1 steps)"; and said before the run, which the one-cycle then refused
    assert window.status.text().endswith("next run: 1 step (1 epoch × 1 step) · the batch size 5000 is more than the 1438 "
                                         "training images, so each epoch is 1 step of all of them (batch size 1438): lower the "
                                         "batch size (Configuration tab) for more steps")
    # A one-cycle of one step cannot be: it said "pct_start leaves a phase with no steps: lengthen the segment".
    trigger(window.start_action)
    assert "-step one-cycle with no steps; it needs at least 4 steps: lengthen the run (more epochs, a smaller batch)" \
        in dialogs.of("error")[-1].text
    choose(window.editor.preset, "constant")
    click(window.editor.use_button)
    for count in (1, 2):  # two runs of one step each, then compared
        trigger(window.start_action)
        if count == 1:
            assert "the batch size 5000 is more than the 1438 training images, so each epoch is 1 step" in window.log.toPlainText()
        qtbot.waitUntil(lambda count=count: window.runs_panel.table.topLevelItemCount() == count and window.start_action.isEnabled(),
                        timeout=LONG)
    show_tab(window.tabs, "Runs")
    select_rows(window.runs_panel.table, [0, 1])
    click(window.runs_panel.buttons["Compare"])
    # Each run of one step is a dot: a line through one point drew nothing, as if the run had stored no step.
    for plot in (window.compare.loss, window.compare.lr):
        assert [len(x) for x, _y in plot.series.values()] == [1, 1]
        assert [item.opts["symbol"] for item in plot.plot.listDataItems()] == ["o", "o"]
    # Two batches of 500 leave 438 images out of each epoch: nothing said so (1438 = 2 × 500 + 438).
    type_into(window.config_panel.editors["batch_size"], "500")
    trigger(window.start_action)
    assert ("each epoch trains on 1000 of the 1438 training images (2 batches of 500): the 438 left over are others each "
            "epoch, as the order is shuffled") in window.log.toPlainText()
    qtbot.waitUntil(lambda: window.start_action.isEnabled(), timeout=LONG)


def test_a_refused_peak_lr_is_outlined_until_it_is_typed_again(qtbot, window):
    editor = window.editor
    for refused in ("-1", "1000"):  # above the highest LR a run takes (100): Use preset let it through to the run
        type_into(editor.peak, refused)
        click(editor.use_button)
        assert editor.peak.styleSheet() and "expected a number above 0 and at most 100" in editor.problem.text()
    type_into(editor.peak, "0.3")  # it stayed red around a valid 0.3 until Use preset was pressed again
    assert not editor.peak.styleSheet() and not editor.problem.text()
    type_into(editor.peak, "-1")
    qtbot.keyClick(editor.peak, Qt.Key.Key_Return)  # Enter did nothing, not even refuse it
    assert editor.peak.styleSheet() and editor.problem.text().startswith("peak LR: expected")


def test_an_imported_schedule_with_edits_is_planned_whole_and_said_to_be_stretched(qtbot, launch, dialogs, tmp_path):
    """Imported into a shorter run, the plot drew only the editor's piece (steps before it blank, the momentum a full
    one-cycle), and the log said "110 steps, 3 edits" of a file tuned over 2200."""
    from engine.schedules import load_schedule

    window = launch({**SMALL, "epochs": 4})
    paused_with_lr_set(qtbot, window, "0.01", 30)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None and not window.controller.training, timeout=LONG)
    path = tmp_path / "edited.lrschedule.json"
    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    type_into(window.config_panel.editors["epochs"], "2")
    dialogs.answer("open_file", str(path))
    trigger(window.import_action)
    assert "44 steps (tuned over 88 steps, stretched to this run), 1 edit" in window.log.toPlainText()
    expected = load_schedule(path).for_run(44)
    steps = np.arange(45)
    qtbot.waitUntil(lambda: len(window.lr.plan[0]) == 45 and np.allclose(window.lr.plan[1][:, 0], expected.lrs(steps)), timeout=LONG)
    assert np.allclose(window.momentum.plan[1], expected.momenta(steps))
    # The editor's piece starts where the run will train it (its own rounding showed 7 where the run trained from 8).
    assert window.editor.length.text() == f"run: 44 steps; this schedule: steps {expected.pieces[-1].origin}–44"


def test_the_next_runs_length_is_said_from_the_configuration_after_a_run(qtbot, launch):
    window = launch({**TINY, "epochs": 5})
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None and not window.controller.training, timeout=LONG)
    type_into(window.config_panel.editors["batch_size"], "16")  # it said "445 steps (21 epochs × 22 steps)"
    qtbot.waitUntil(lambda: "next run: 445 steps (5 epochs × 89 steps)" in window.status.text(), timeout=LONG)


def test_the_saved_x_unit_is_applied_at_startup(qtbot, launch):
    from gui.settings import open_settings

    settings = open_settings()
    settings.setValue("view/x_unit", 1)
    settings.sync()
    window = launch(SMALL)
    assert window.x_unit.currentText() == "x: epochs"
    for plot in window.live.plots:
        assert plot.steps_per_epoch == 22 and plot.plot.getAxis("bottom").labelText == "epoch"


def test_the_lr_axis_keeps_a_labelled_tick_near_the_data_and_never_crowds(qtbot, window):
    from gui.plots.log_axis import labelled_ticks, padded_log_range

    low, high = padded_log_range(0.01, 0.01)
    assert low < -2 - 0.1 and high > -2 + 0.1 and low <= -3 and high >= -1  # 0.01 sits inside, a decade labelled
    # Less than two decades on a short axis: minor labels only where they keep apart.
    values = [v + np.log10(m) for v in (-3, -2) for m in range(1, 10)]
    chosen = sorted(labelled_ticks(values, -2.7, -1.3, pixels=120))
    assert -2.0 in chosen and all(b - a >= 22 / (120 / 1.4) - 1e-9 for a, b in zip(chosen, chosen[1:]))
    # The window's LR plots before anything is drawn (live, and comparing no runs): decades labelled, not bare 2..9.
    for panel in (window.lr, window.compare.lr):
        plot, where = panel.plot, f"{panel.title} ({type(panel).__name__})"
        axis = plot.getAxis("left")
        (y_low, y_high) = plot.getViewBox().viewRange()[1]
        assert y_high - y_low >= 1 and any(float(v).is_integer() for v in np.arange(np.ceil(y_low), np.floor(y_high) + 1))
        levels = axis.tickValues(y_low, y_high, 200)
        ticks = [v for _spacing, level in levels for v in level]
        labels = [text for text in axis.tickStrings(ticks, 1, 1) if text]
        assert labels and not set(labels) <= {str(d) for d in range(2, 10)}, where
        assert len([v for v in ticks if float(v).is_integer() and y_low < v < y_high]) >= 2, where  # decades inside


def test_set_lr_now_draws_the_applied_line_inside_the_frame(qtbot, launch):
    window = launch({**SMALL, "epochs": 40})
    paused_at(qtbot, window, 1)
    type_into(window.editor.set_lr, "0.01")
    click(window.editor.set_now)
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)
    trigger(window.pause_action)
    at = window.live.run_schedule.edits[0].step
    qtbot.waitUntil(lambda: window.live.step >= at + 2, timeout=LONG)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: not window.controller.training, timeout=LONG)
    qtbot.waitUntil(lambda: not window.lr.dirty, timeout=LONG)
    y_low, y_high = window.lr.plot.getViewBox().viewRange()[1]
    applied = np.log10(window.lr.points.view(1))
    margin = 0.05 * (y_high - y_low)
    assert y_low + margin < applied.min() and applied.max() < y_high - margin


def test_the_editor_does_not_jump_while_typing_and_the_run_controls_stay_on_screen(qtbot, window):
    from gui.panels.schedule_editor import ScheduleEditor

    assert (window.width(), window.height()) == (1366, 768)  # the laptop screen the tests run on (conftest.py)
    editor: ScheduleEditor = window.editor
    field = editor.form.editors["pct_start"]
    table_height, run_box_at = editor.table.height(), editor.run_edits.mapTo(window, editor.run_edits.rect().topLeft())
    field_at = field.mapTo(window, field.rect().topLeft())
    for text in ("abc", "0.3", "2", "0.", "-1e9 is far too low for a fraction of the cycle", "0.25"):
        type_into(field, text)
        qtbot.waitUntil(lambda: not editor._preview_timer.isActive(), timeout=LONG)
        assert editor.table.height() == table_height
        assert editor.run_edits.mapTo(window, editor.run_edits.rect().topLeft()) == run_box_at
        assert field.mapTo(window, field.rect().topLeft()) == field_at
    for control in (editor.apply, editor.set_lr, editor.set_now, editor.undo, editor.history):
        assert on_screen(control, window), control


def test_at_1366_by_768_every_plot_is_readable(qtbot, launch):
    window = launch(SMALL)
    assert (window.width(), window.height()) == (1366, 768)  # the laptop screen the tests run on (conftest.py)
    trigger(window.start_action)  # momentum appears only when scheduled; the default one-cycle cycles it
    qtbot.waitUntil(lambda: window.momentum.isVisible(), timeout=LONG)
    for plot in (window.loss, window.lr, window.accuracy, window.momentum):
        assert plot.widget.height() >= 115, (plot.title, plot.widget.height())
    for control in (window.editor.apply, window.editor.undo):
        assert on_screen(control, window)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    # The selected segment's peak, its first field after the length, without scrolling (only "steps" showed).
    assert on_screen(window.editor.form.editors["max_lr"], window)


def test_at_1366_by_768_the_tune_plot_shows_its_whole_key(qtbot, window):
    window.resize(1366, 768)
    show_tab(window.tabs, "Tune")
    key = title_key(window.tune_plot)
    for entry in ("● complete", "× stopped early", "▼ diverged", "■ cancelled", "★ winner", "┆ yours (first trial)", "▮ searched"):
        assert entry in key  # every mark the plot can draw (the cancelled square had no entry)
    # A key on two lines had one line's 30 px. (The plot is built when its tab is first shown, and laid out just after.)
    qtbot.waitUntil(lambda: heading_fits(window.tune_plot))


def test_use_as_constant_lr_before_a_run_installs_a_constant(qtbot, window):
    from engine.schedules.shapes import Constant

    range_test_before_a_run(qtbot, window, iterations=40, repeats=2)  # 5 points a decade: 12 were too sparse to read
    assert "median of 2 repeats" in window.range_panel.status.text()
    assert np.isnan(window.range_plot.points.view(0)).sum() == 1  # two lines, one per repeat
    assert legend(window.range_plot) == ["loss", "smoothed"]  # no "half way" in a sweep
    # Its smoothed line is the fit the suggestions were read from, kept in the result too: the moving average drawn
    # live lagged far behind the loss, its low off the marked minimum (helper-74).
    from engine.range_test.suggestions import bandwidth, local_fit

    drawn = window.range_plot.points.view(2)  # what the smoothed line is given
    curve = window.last_range_test["curve"]
    assert np.allclose(drawn[np.isfinite(drawn)], np.array(curve["smoothed"], dtype=float))
    first = window.last_range_test["repeats"][0]["curve"] if window.last_range_test.get("repeats") else curve
    lrs, losses = np.array(first["lr"]), np.array(first["loss"], dtype=float)
    assert np.allclose(first["smoothed"], local_fit(lrs, losses, bandwidth(lrs))[0])
    lr = float(f"{window.range_panel.recommendation.constant_lr:.3g}")
    click(window.range_panel.use_constant)
    assert window.editor.segments == [Constant(steps=22, lr=lr)] and window.editor.peak.text() == f"{lr:.3g}"
    scene, lines = window.range_plot.plot.scene(), window.range_plot.marker_lines

    def labels_clear() -> bool:
        """No label under another label, and each drawn over the lines that cross it: the suggestions lie a factor of 2
        apart, and the lines cut through their neighbours' text ("steepest 0.1|9")."""
        labels = [marker.label.sceneBoundingRect() for marker in window.range_plot.markers]
        on_top = all([item for item in scene.items(marker.label.sceneBoundingRect()) if item is marker.label or item in lines][0]
                      is marker.label for marker in window.range_plot.markers)
        return bool(labels) and on_top and not any(a.intersects(b) for i, a in enumerate(labels) for b in labels[i + 1:])

    qtbot.waitUntil(labels_clear, timeout=5000)  # the labels move once the plot frames the finished curve
    # No key box over the curve (it sat on the sweep's flat start): the title names the curves.
    assert not window.range_plot.plot.legend.isVisible() and title_key(window.range_plot) == "Range test ━ loss ━ smoothed"


def test_the_range_plot_leaves_the_divergence_tail_out_of_the_frame():
    from gui.plots.range_plot import useful_loss_range

    lrs = np.logspace(-7, 1, 100)
    smoothed = np.concatenate([np.linspace(2.3, 2.25, 40), np.linspace(2.25, 0.4, 40), np.geomspace(0.4, 60, 20)])
    low, high = useful_loss_range(smoothed + 0.01 * np.sin(lrs), smoothed)
    assert low < 0.4 < 2.3 < high < 4
    # From trained weights (a test mid-run) the minimum may come first: the flat curve after it is framed, not left above.
    trained = np.concatenate([[0.12, 0.1], 0.2 + 0.02 * np.sin(np.arange(88)), np.geomspace(0.25, 5, 10)])
    low, high = useful_loss_range(trained + 0.01 * np.cos(np.arange(100)), trained)
    assert low < 0.1 and 0.22 < high < 1
    # Well trained, flat at 0.012 until it rises: the rise to four times the minimum is framed, not only the noise.
    flat = np.concatenate([0.012 + 0.001 * np.sin(np.arange(90)), np.geomspace(0.013, 2.0, 10)])
    low, high = useful_loss_range(flat + 0.005 * np.cos(np.arange(100)), flat)
    assert low < 0.011 and 0.044 < high < 0.1


def test_remaining_time_is_smoothed_and_says_what_it_is():
    from engine.run.pace import RemainingTime
    from gui.remaining import remaining_text

    estimate = RemainingTime(window_s=20)
    estimates, step, now = [], 0, 0.0
    for seconds in [0.5, 4.0] * 30:  # blocks of 4 steps whose time jumps 8x from one to the next
        step, now = step + 4, now + seconds
        estimate.observe(4 * 64 / seconds, samples=4 * 64)
        estimate.reached(step, now)
        estimates.append(estimate.seconds_left(1000))
    settled = estimates[20:]
    assert max(settled) / min(settled) < 1.5 and 0.8 < settled[-1] / (1000 * 2.25 / 4) < 1.25  # 2.25 s per block of 4
    estimate.hold()  # a pause of an hour is not the run's pace
    estimate.reached(step + 2, now + 3600)
    estimate.reached(step + 6, now + 3602.25)
    assert estimate.steps_per_s > 1  # the hour away would have put the pace at 0.0006 steps/s
    # The time left is the run's pace, not the training speed: validation and the rest take time too.
    busy = RemainingTime(window_s=20)
    for second in range(30):
        busy.observe(10_000, samples=64)  # a step trains in 6 ms ...
        busy.reached(second, float(second))  # ... and one comes a second
    assert busy.rate == pytest.approx(10_000) and busy.seconds_left(100) == pytest.approx(100)  # 10,000 samples/s alone said 0.6 s
    # An attached run's history: 300 steps that trained at 100 steps/s arrive within a hundredth of a second.
    replayed = RemainingTime(window_s=20)
    for block in range(30):
        replayed.observe(100 * 64, samples=10 * 64)
        replayed.reached(10 * (block + 1), 0.0003 * block)
    assert replayed.steps_per_s == pytest.approx(100) and replayed.seconds_left(3000) == pytest.approx(30)  # it said 0.1 s
    # The machine gets 12 times busier for good: the speed and the time left follow it within a quarter of a minute (an
    # average with a 20 s half-life still said 502 samples/s, "about 3 min left", 21 s after a fall to 73, 8 min left).
    slowed = RemainingTime()
    step, now = 0, 0.0
    for seconds in [0.1] * 300 + [1.2] * 12:  # blocks of 4 steps of 64 images: 2,560 samples/s for 30 s, then 213
        step, now = step + 4, now + seconds
        slowed.observe(4 * 64 / seconds, samples=4 * 64)
        slowed.reached(step, now)
    assert slowed.rate == pytest.approx(4 * 64 / 1.2) and slowed.seconds_left(1000) == pytest.approx(1000 * 1.2 / 4)
    # One λmax measurement of 17.5 s (its time is not training time) after a minute at 40 steps/s: the time left said
    # "ETA 4:02:55" beside a speed that left 6 minutes (helper-127). The stall counts, over the last two minutes.
    stalled = RemainingTime()
    step, now = 0, 0.0
    for seconds, wall in [(0.1, 0.1)] * 600 + [(0.1, 17.6)] + [(0.1, 0.1)] * 10:
        step, now = step + 4, now + wall
        stalled.observe(4 * 64 / seconds, samples=4 * 64)
        stalled.reached(step, now)
    steady = 3680 / 40
    assert stalled.rate == pytest.approx(4 * 64 / 0.1) and steady < stalled.seconds_left(3680) < 1.5 * steady
    assert remaining_text(None) == "" and remaining_text(42) == "about 40 s left" and remaining_text(1.5) == "a few seconds left"
    assert remaining_text(7 * 60 + 10) == "about 7 min left" and remaining_text(2 * 3600 + 300) == "about 2 h 05 min left"


def test_the_draft_schedule_is_kept_per_dataset_across_launches(qtbot, launch, dialogs):
    """With the group multipliers typed into the table: head ×3 went back to the editor's ×1 on a switch or a relaunch."""
    from test_gui_fine_tuning import edit_cell, groups_tab

    from engine.schedules.shapes import Constant, Cosine

    def multipliers(window):
        return [row.multiplier for row in window.group_table.draft.rows]

    window = launch(SMALL)
    editor = window.editor
    choose(editor.preset, "cosine")
    type_into(editor.peak, "0.05")
    click(editor.use_button)
    qtbot.waitUntil(lambda: editor.segments == [Cosine(steps=22, start_lr=0.05, end_lr=0.0)], timeout=LONG)
    show_tab(groups_tab(window), "Groups")
    qtbot.waitUntil(lambda: window.group_table.table.rowCount() == 4, timeout=LONG)
    edit_cell(qtbot, window.group_table.table, 3, 3, "3")
    qtbot.waitUntil(lambda: multipliers(window) == [1, 1, 1, 3], timeout=LONG)
    dialogs.answer("open_folder", str(CAMERA2))
    trigger(window.open_action)
    opened(qtbot, window, "digits-camera2")
    assert multipliers(window) == [1, 1, 1, 1]  # camera2 has no draft: nothing of the digits' is carried over
    choose(editor.preset, "constant")
    type_into(editor.peak, "0.02")
    click(editor.use_button)
    qtbot.waitUntil(lambda: editor.segments == [Constant(steps=22, lr=0.02)], timeout=LONG)
    dialogs.answer("open_folder", str(SAMPLE))
    trigger(window.open_action)
    opened(qtbot, window, "digits")
    assert editor.segments == [Cosine(steps=22, start_lr=0.05, end_lr=0.0)] and multipliers(window) == [1, 1, 1, 3]
    press(window, "Ctrl+Q")

    again = launch(data=SAMPLE)
    assert again.editor.segments == [Cosine(steps=22, start_lr=0.05, end_lr=0.0)] and multipliers(again) == [1, 1, 1, 3]
    steps, lrs = again.lr.plan
    assert np.allclose(lrs[:, 3], 3 * lrs[:, 0])  # the plan drawn, and so the run, trains the head at ×3
    dialogs.answer("open_folder", str(CAMERA2))
    trigger(again.open_action)
    opened(qtbot, again, "digits-camera2")
    assert again.editor.segments == [Constant(steps=22, lr=0.02)] and multipliers(again) == [1, 1, 1, 1]


def test_cosmetics_peak_in_the_table_and_a_readout_only_over_the_run(qtbot, window):
    from PySide6.QtCore import QPoint, QPointF

    assert window.editor.table.item(0, 3).text() == "0.008 → 0.2 → 8e-07"  # one-cycle: start → peak → end
    assert legend(window.accuracy) == [] and not window.accuracy.plot.legend.isVisible()  # one curve, named by the title
    qtbot.waitUntil(lambda: window.lr.planned and drawn(window.lr.planned[0]) == 23 and not window.lr.dirty, timeout=LONG)  # drawn, framed
    view, widget = window.lr.plot.getViewBox(), window.lr.widget

    def over_step_5() -> bool:
        # Where step 5 is drawn now: a layout pass may still widen the axis and move the plot, as a person would re-aim.
        inside = widget.mapFromScene(view.mapViewToScene(QPointF(5, -1.5)))
        hover(widget.viewport(), inside + QPoint(0, 30))  # from nearby: a move onto where the cursor already is sends no event
        hover(widget.viewport(), inside)
        return window.lr.readout.text().startswith("step 5: LR ")

    qtbot.waitUntil(over_step_5, timeout=LONG)
    hover(window.loss.widget.viewport(), QPoint(40, 40))  # off the plot: the readout goes
    qtbot.waitUntil(lambda: window.lr.readout.text().strip() == "", timeout=LONG)
    assert window.lr.readout_at(window.editor.total_steps + 30) == ""  # nothing past the run's last step


def test_a_sweep_is_framed_over_the_lrs_it_will_try_from_its_first_points(qtbot):
    from gui.plots.range_plot import RangePlot

    plot = RangePlot()
    qtbot.addWidget(plot)
    plot.expect(1e-6, 1.0)
    plot.add_points(np.array([1e-6, 1.2e-6, 1.5e-6]), np.array([2.30, 2.29, 2.31]), np.array([2.30, 2.295, 2.30]))
    plot.refresh()
    x_low, x_high = plot.plot.getViewBox().viewRange()[0]
    assert x_low <= -6 and x_high >= 0  # the whole sweep to come, not three points filling the frame


def test_a_horizontal_log_axis_labels_minor_ticks_only_a_label_width_apart(qtbot):
    from gui.plots.log_axis import MIN_LABEL_WIDTH_PX, LogAxis

    axis = LogAxis("bottom")
    axis.setLogMode(True)
    low, high, pixels = -7.0, -5.9, 300  # a zoomed range test: about a decade across a narrow plot
    ticks = [v for _spacing, level in axis.tickValues(low, high, pixels) for v in level]
    shown = sorted(v for v, text in zip(ticks, axis.tickStrings(ticks, 1, 1)) if text)
    assert len(shown) >= 2
    per_unit = pixels / (high - low)
    assert all((b - a) * per_unit >= MIN_LABEL_WIDTH_PX - 1e-6 for a, b in zip(shown, shown[1:])), shown


def test_a_value_refused_in_the_segment_form_stops_start_and_says_so_in_sight(qtbot, window, dialogs):
    editor = window.editor
    said = []
    editor.form.problem.connect(said.append)
    type_into(editor.form.editors["max_lr"], "-1")
    assert "max lr" in editor.problem.text() and on_screen(editor.problem, window)
    assert said and all(text.startswith("max lr: ") for text in said), said  # named once, not the bare reason first
    assert said[-1].startswith("max lr: must be a learning rate between 0 and"), said  # not "max lr: max_lr must be…"
    trigger(window.start_action)
    refused = dialogs.of("error")[-1]
    assert refused.title == "Cannot start" and "max lr" in refused.text and "outlined in red" in refused.text
    assert not window.controller.training
    type_into(editor.form.editors["max_lr"], "0.1")
    qtbot.waitUntil(lambda: editor.problem.text() == "", timeout=LONG)
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    assert window.last_run.run_schedule.timeline.pieces[0].schedule.segments[0].max_lr == 0.1


def test_a_bad_peak_lr_for_a_preset_is_outlined_and_named(qtbot, window):
    editor = window.editor
    before = list(editor.segments)
    type_into(editor.peak, "abc")
    click(editor.use_button)
    assert editor.segments == before
    assert "peak LR" in editor.problem.text() and on_screen(editor.problem, window)
    assert "d62728" in editor.peak.styleSheet()


def test_another_dataset_without_a_schedule_of_its_own_starts_from_the_default_not_the_last_ones(qtbot, window, dialogs):
    from engine.config import TrainConfig

    type_into(window.editor.peak, "0.0314")
    click(window.editor.use_button)
    dialogs.answer("open_folder", str(CAMERA2))
    trigger(window.open_action)
    opened(qtbot, window, "digits-camera2")
    assert window.editor.plan().schedule.segments[0].max_lr == TrainConfig.lr
    assert "digits-camera2 has no draft of its own in the editor yet: it starts from lrscope's default" in window.log.toPlainText()
    # Back on digits, its own draft returns.
    dialogs.answer("open_folder", str(SAMPLE))
    trigger(window.open_action)
    opened(qtbot, window, "digits")
    assert window.editor.plan().schedule.segments[0].max_lr == 0.0314


def test_unreadable_images_are_not_counted_as_if_they_trained(qtbot, window, dialogs, tiny_folder):
    (tiny_folder / "cat" / "0.png").write_bytes(b"")
    (tiny_folder / "dog" / "1.png").write_bytes(b"\x89PNG garbage")
    write_image(tiny_folder / "eel" / "7.png", size=(40, 6))  # 12×12 besides: "sizes 12×6 to 40×12", a size none had
    dialogs.answer("open_folder", str(tiny_folder))
    trigger(window.open_action)
    opened(qtbot, window, "tiny")
    panel = window.dataset_panel
    assert "22 of 24 images (2 unreadable)" in panel.summary.text()
    assert "21 at 12×12, 1 at 40×6" in panel.summary.text()  # each size counted, as the decode read every image
    problems = [panel.problems.item(row).text() for row in range(panel.problems.count())]
    assert any("skipped: cat/0.png: " in line and "; dog/1.png: " in line for line in problems), problems  # both named
    assert "tiny: 22 of 24 images (2 unreadable), 3 classes" in window.log.toPlainText()  # the log counts them the same way
    assert [panel.classes.item(row, 1).text() for row in range(3)] == ["7", "7", "8"]
    assert panel.classes.item(0, 1).toolTip() == "1 of the 8 images found could not be read"


def test_a_schedule_tuned_on_the_clean_copy_compares_the_images_used_not_the_unreadable_files(qtbot, launch, dialogs,
                                                                                               sample_copy, tmp_path):
    """It warned "images: 1797 when tuned, 1799 now" and "'5': 182 → 183" where the panel said 1797 of 1799, '5' 182."""
    window = launch(SMALL, data=sample_copy)
    path = tmp_path / "clean.lrschedule.json"
    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    qtbot.waitUntil(path.exists, timeout=LONG)
    dirty = tmp_path / "dirty" / "digits"
    shutil.copytree(sample_copy, dirty)
    (dirty / "5" / "fake.png").write_text("a text file, renamed")
    first = sorted((dirty / "3").iterdir())[0]
    (dirty / "3" / "truncated.png").write_bytes(first.read_bytes()[:40])
    clean = window.dataset.summary

    dialogs.answer("open_folder", str(dirty))
    trigger(window.open_action)
    qtbot.waitUntil(lambda: window.dataset is not None and window.dataset.summary.root == str(dirty), timeout=LONG)
    assert f"{clean.image_count} of {clean.image_count + 2} images (2 unreadable)" in window.dataset_panel.summary.text()
    dialogs.answer("open_file", str(path))
    dialogs.answer("yes_no", False)
    trigger(window.import_action)
    details = dialogs.of("yes_no")[-1].details
    assert "images:" not in details and "images per class" not in details, details
    assert "unreadable files (skipped, they do not train): 0 when tuned, 2 now" in details


def test_a_run_of_a_few_steps_is_ticked_at_whole_steps(qtbot, window, dialogs, tiny_folder):
    dialogs.answer("open_folder", str(tiny_folder))
    trigger(window.open_action)
    opened(qtbot, window, "tiny")
    type_into(window.config_panel.editors["epochs"], "3")
    qtbot.waitUntil(lambda: window.run_length() == 3, timeout=LONG)
    for plot in window.live.plots:
        plot.refresh()
        axis, (low, high) = plot.plot.getAxis("bottom"), plot.plot.getViewBox().viewRange()[0]
        ticks = [v for _spacing, level in axis.tickValues(low, high, axis.width()) for v in level]
        # They were at 0.5, 1.5 and 2.5 too: steps that do not exist.
        assert ticks and all(float(v).is_integer() for v in ticks), (title_key(plot), ticks)
    choose(window.x_unit, "x: epochs")  # epochs keep ticks between whole ones (half an epoch is a place in a longer run)
    axis = window.loss.plot.getAxis("bottom")
    low, high = window.loss.plot.getViewBox().viewRange()[0]
    assert not all(float(v).is_integer() for _spacing, level in axis.tickValues(low, high, axis.width()) for v in level)


def test_at_1024_by_600_every_training_plot_keeps_a_view_to_read(qtbot, launch):
    """Each plot's title took a 30 px row above its view: at 1024 x 600 the accuracy and momentum views were 20 px high,
    two tick labels at most. The titles share the toolbars' rows now."""
    window = launch(TINY)
    window.resize(1024, 600)
    show_tab(window.tabs, "Training")
    trigger(window.start_action)  # the momentum plot shows for a one-cycle's momentum, its key under the row
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    qtbot.waitUntil(lambda: all(plot.widget.isVisible() for plot in window.live.plots), timeout=LONG)
    views = lambda: {plot.title: plot.plot.getViewBox().height() for plot in window.live.plots}
    qtbot.waitUntil(lambda: min(views().values()) >= 45, timeout=LONG)
    assert all(heading_fits(plot) for plot in window.live.plots), views()
    for plot in window.live.plots:  # each side's label whole along its axis: "accuracy (%)" showed as "accuracy (9"
        left = plot.plot.getAxis("left")
        assert left.label.boundingRect().width() <= left.height(), (plot.title, left.labelText, left.height())


def test_no_plot_of_the_training_tab_draws_a_key_box_over_its_curves_at_1366x768(qtbot, launch):
    """Each names its curves in its title: the momentum plot's "planned" fell off its bottom, and the LR plot's box in
    the lower left drew the applied LR's first steps pale under it (helper-126)."""
    window = launch(TINY)
    window.resize(1366, 768)
    show_tab(window.tabs, "Training")
    trigger(window.start_action)  # every curve named: train, validation, applied, planned
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    qtbot.waitUntil(lambda: all(plot.widget.isVisible() for plot in window.live.plots), timeout=LONG)
    for plot in window.live.plots:
        if plot is window.lr:  # its box, in the lower left, inside the plot
            frame, box = plot.plot.getViewBox().sceneBoundingRect(), plot.plot.legend.sceneBoundingRect()
            assert plot.plot.legend.isVisible() and frame.contains(box), (frame, box)
        else:
            assert not plot.plot.legend.isVisible() and heading_fits(plot), title_key(plot)


def test_at_1366x768_no_key_covers_the_applied_momentum_held_at_0_9(qtbot, launch):
    """Set LR now in the one-cycle sets the momentum back to 0.9 for the rest of the run: that line ran under the key
    box at the momentum plot's bottom right (the plot is some 80 px high at 1366×768, the box half of it)."""
    from PySide6.QtCore import QPointF

    window = launch({**SMALL, "epochs": 4})  # 88 steps: a fast machine ended a run of 22 before its Pause at step 10 came
    window.resize(1366, 768)
    show_tab(window.tabs, "Training")
    paused_with_lr_set(qtbot, window, "0.01", 10)
    trigger(window.pause_action)  # resume, to the end
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    plot = window.momentum
    qtbot.waitUntil(lambda: plot.widget.isVisible() and drawn(plot.applied) == 88 and not plot.dirty, timeout=LONG)
    steps, momenta = plot.applied.getData()
    assert momenta[-1] == pytest.approx(0.9)
    view = plot.plot.getViewBox()
    boxes = [plot.plot.legend.sceneBoundingRect()] if plot.plot.legend.isVisible() else []
    covered = [int(step) for step, momentum in zip(steps, momenta)
               if any(box.contains(view.mapViewToScene(QPointF(step, momentum))) for box in boxes)]
    assert not covered, f"the key covers the momentum applied at steps {covered}"
    assert "━ applied" in title_key(plot)  # still named: in the title, as the Health tab's plots name their groups


def test_opening_a_dataset_while_a_segment_field_is_refused_keeps_the_window_up(qtbot, window, dialogs):
    type_into(window.editor.form.editors["max_lr"], "-1")
    dialogs.answer("open_folder", str(CAMERA2))
    trigger(window.open_action)
    opened(qtbot, window, "digits-camera2")  # the groups and the preview are drawn from the plan: none while it is invalid
    assert not dialogs.of("error") and "max lr" in window.editor.problem.text()


def test_why_a_configuration_value_is_refused_stays_in_sight_at_the_bottom_of_the_form(qtbot, window):
    from PySide6.QtWidgets import QTabWidget

    left = next(tabs for tabs in window.findChildren(QTabWidget) if tabs.tabText(1) == "Configuration")
    show_tab(left, "Configuration")
    from PySide6.QtWidgets import QScrollArea

    area = next(a for a in left.currentWidget().findChildren(QScrollArea) if a.widget() is window.config_panel)
    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())  # the user scrolls down to the last field
    field = window.config_panel.editors["curvature_margin"]
    type_into(field, "7")
    assert "warn at bound" in window.config_panel.message.text()
    assert on_screen(field, window) and on_screen(window.config_panel.message, window)


def test_at_1366x768_the_note_on_the_run_going_on_shows_every_line_and_the_fields_stay_put(qtbot, launch):
    """Five settings typed mid-run made a note of five lines in a room of three, its last ones cut off. The room stays
    three lines (a note that grew as a field was typed moved the fields under the mouse: helper-72): what it cannot
    hold is counted, and listed in its tooltip."""
    from PySide6.QtWidgets import QTabWidget

    window = launch({**SMALL, "epochs": 40})
    window.resize(1366, 768)
    paused_at(qtbot, window, 3)
    show_tab(next(t for t in window.findChildren(QTabWidget) if "Configuration" in [t.tabText(i) for i in range(t.count())]),
             "Configuration")
    note, momentum = window.config_panel.followed, window.config_panel.editors["momentum"]
    qtbot.wait(100)  # the layout runs from the event loop
    at = momentum.mapTo(window, momentum.rect().topLeft())
    for name, value in (("momentum", "0"), ("weight_decay", "0.001"), ("epochs", "5"), ("image_size", "24"), ("seed", "3")):
        type_into(window.config_panel.editors[name], value)
    qtbot.wait(100)
    assert note.heightForWidth(note.width()) <= note.height(), f"cut off: {note.text()!r}"
    assert on_screen(note, window) and momentum.mapTo(window, momentum.rect().topLeft()) == at
    settings = ["momentum 0.9", "weight decay 0.0005", "epochs 40", "image size 16", "seed 0"]
    assert all(setting in note.toolTip() for setting in settings)
    listed = [setting for setting in settings if setting in note.text()]
    assert 0 < len(listed) < len(settings) and f"and {len(settings) - len(listed)} more (see the tooltip)" in note.text()
    assert note.text().endswith(": these fields are for the next run.")


def stop_then_resume_from(qtbot, window, dialogs, folder, name, before=lambda: None) -> None:
    """Start a run, stop it, (``before``), open ``folder`` (shown as ``name``), then Resume the run from the Runs tab."""
    from gui.driving import select_rows

    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 3, timeout=LONG)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    before()
    dialogs.answer("open_folder", str(folder))
    trigger(window.open_action)
    opened(qtbot, window, name)
    show_tab(window.tabs, "Runs")
    qtbot.waitUntil(lambda: window.runs_panel.table.topLevelItemCount() == 1, timeout=LONG)
    select_rows(window.runs_panel.table, [0])
    click(window.runs_panel.buttons["Resume"])


def test_resuming_a_run_of_another_dataset_opens_that_dataset_first(qtbot, launch, dialogs):
    window = launch({**TINY, "epochs": 3}, data=CAMERA2)
    stop_then_resume_from(qtbot, window, dialogs, SAMPLE, "digits")
    assert "trained on digits-camera2: opening it before the run resumes" in window.log.toPlainText()
    qtbot.waitUntil(lambda: window.controller.training, timeout=LONG)
    assert window.dataset.summary.name == "digits-camera2" and "digits-camera2" in window.windowTitle()
    qtbot.waitUntil(lambda: window.last_run is not None and window.last_run.outcome.state == "finished", timeout=LONG)
    # Its past is drawn before what it trains now: opening the other dataset had cleared the plots, and the resumed run
    # was drawn from its resume step on (helper-93).
    assert window.loss.points.view(0)[0] == 0


def test_a_run_whose_dataset_folder_moved_resumes_on_the_open_folder_of_the_same_images(qtbot, launch, dialogs, tmp_path):
    """Moved after the run, the folder could not be resumed from the window at all, even open there (helper-71)."""
    import json
    from pathlib import Path

    shutil.copytree(CAMERA2, tmp_path / "cam")
    window = launch({**TINY, "epochs": 3}, data=tmp_path / "cam")
    moved = tmp_path / "moved"
    stop_then_resume_from(qtbot, window, dialogs, moved, "moved", before=lambda: shutil.move(tmp_path / "cam", moved))
    assert f"which is gone: it resumes on {moved}, the same images" in window.log.toPlainText()
    qtbot.waitUntil(lambda: window.last_run is not None and window.last_run.outcome.state == "finished", timeout=LONG)
    assert json.loads((Path(window.last_run.outcome.run_dir) / "config.json").read_text())["config"]["data"] == str(moved)


def test_after_a_resumed_run_of_another_model_the_groups_and_editor_show_what_start_trains_next(qtbot, launch):
    """A run resumed from the Runs tab trains its own model and schedule. Once it ended, the Groups tab and the editor
    kept them, beside a Configuration set for another model: Start would have trained resnet18 with the small CNN's
    plan, its table naming groups resnet18 does not have (an attached run's are put back); then the table changed back
    without a word in the log."""
    from gui.driving import select_rows

    window = launch({**SMALL, "epochs": 2})
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 3, timeout=LONG)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None and not window.controller.training, timeout=LONG)
    run_groups = window.group_table.draft.names
    choose(window.config_panel.editors["model"], "resnet18")  # the next run's model, and plan
    type_into(window.editor.peak, "0.0314")
    click(window.editor.use_button)
    configured = window.group_table.draft.names
    assert configured != run_groups and configured[0] == "stem"
    show_tab(window.tabs, "Runs")
    qtbot.waitUntil(lambda: window.runs_panel.table.topLevelItemCount() == 1, timeout=LONG)
    select_rows(window.runs_panel.table, [0])
    click(window.runs_panel.buttons["Resume"])
    qtbot.waitUntil(lambda: window.controller.training and window.group_table.draft.names == run_groups, timeout=LONG)
    qtbot.waitUntil(lambda: window.last_run.outcome.state == "finished" and not window.controller.training, timeout=LONG)
    assert window.group_table.draft.names == configured
    # Said of the run resumed, not of one attached to: it read "Export still writes the run followed".
    assert ("the editor shows digits' own schedule again: Start trains it (Export still writes the run resumed; import that "
            "file to train its schedule here)") in window.log.toPlainText()
    assert "the run followed" not in window.log.toPlainText()
    # The table's change said too: it went from the run's groups to resnet18's without a word.
    assert "the Groups tab shows resnet18's groups again: Start trains them (the run resumed trained small_cnn's)" in window.log.toPlainText()
    assert window.editor.peak.text() == "0.0314"
    assert window.config_panel.values()["model"] == "resnet18"


def test_a_model_chosen_during_a_started_run_shows_its_groups_once_the_run_ends(qtbot, launch):
    """The model chosen in the Configuration tab while the window's own run trains is the next run's: once the run
    ended, the Groups tab kept the run's groups (the small CNN's) beside a Configuration set for resnet18, and Start
    trained resnet18 with a table naming groups it does not have."""
    window = launch({**SMALL, "epochs": 3})
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 2, timeout=LONG)
    run_groups = window.group_table.draft.names
    choose(window.config_panel.editors["model"], "resnet18")
    assert window.group_table.draft.names == run_groups  # the run's, while it trains
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None and not window.controller.training, timeout=LONG)
    assert window.group_table.draft.names[0] == "stem" and window.group_table.draft.names != run_groups
    assert "resnet18, chosen during the run, is the next run's model: the Groups tab shows its groups" in window.log.toPlainText()


def test_importing_a_schedule_tuned_with_another_optimizer_asks_first(qtbot, window, dialogs, tmp_path):
    path = tmp_path / "sgd.lrschedule.json"
    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    assert path.exists()
    choose(window.config_panel.editors["optimizer"], "adam")
    before = list(window.editor.segments)
    dialogs.answer("open_file", str(path))
    dialogs.answer("yes_no", False)
    trigger(window.import_action)
    asked = dialogs.of("yes_no")[-1]
    assert asked.title == "Schedule tuned for another model or optimizer"
    assert "optimizer: tuned with sgd, this run uses adam" in asked.details
    assert list(window.editor.segments) == before and "tuned for another model or optimizer" in window.log.toPlainText()


def test_a_schedule_tuned_on_the_same_images_at_another_size_says_so_not_another_dataset(qtbot, window, dialogs, tmp_path):
    """Found at 1366x768: a file exported at 16 px, imported on the same digits at 32 px, asked "tuned for another
    dataset" above a list that said only "resolution"."""
    path = tmp_path / "16px.lrschedule.json"
    type_into(window.config_panel.editors["image_size"], "16")
    qtbot.waitUntil(lambda: window.export_action.isEnabled(), timeout=LONG)  # the images are decoded again at 16 px
    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    type_into(window.config_panel.editors["image_size"], "32")
    qtbot.waitUntil(lambda: window.dataset is not None and window.dataset.summary.resolution == 32, timeout=LONG)
    dialogs.answer("open_file", str(path))
    dialogs.answer("yes_no", False)
    trigger(window.import_action)
    asked = dialogs.of("yes_no")[-1]
    assert asked.title == "Schedule tuned at another image size" and asked.details.startswith("resolution: tuned at 16 px")


def test_a_group_multiplier_typed_in_the_table_survives_a_change_of_epochs(qtbot, window):
    """head ×3 went back to ×1 when the epochs changed, without a word, and the next run trained at ×1."""
    from test_gui_fine_tuning import edit_cell, groups_tab

    show_tab(groups_tab(window), "Groups")
    table = window.group_table.table
    qtbot.waitUntil(lambda: table.rowCount() == 4, timeout=LONG)
    edit_cell(qtbot, table, 3, 3, "3")
    qtbot.waitUntil(lambda: window.group_table.draft.rows[3].multiplier == 3.0, timeout=LONG)
    # "Every layer group but the head trains at the head's LR times this": the field says so of what the table holds,
    # and typing into it sets the others relative to the head (0.5 set them to ×0.5 beside a head at ×3).
    others = window.editor.others
    assert others.text() == "0.333333"
    type_into(others, "0.5")
    qtbot.keyClick(others, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: [row.multiplier for row in window.group_table.draft.rows] == [1.5, 1.5, 1.5, 3], timeout=LONG)
    show_tab(groups_tab(window), "Configuration")
    epochs = window.config_panel.editors["epochs"]
    type_into(epochs, "2")
    qtbot.keyClick(epochs, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: window.editor.total_steps == 44, timeout=LONG)
    assert window.group_table.draft.rows[3].multiplier == 3.0 and table.item(3, 3).text() == "3"
    steps, lrs = window.lr.plan
    assert np.allclose(lrs[:, 3], 2 * lrs[:, 0])  # head ×3, the others ×1.5


def test_an_imported_schedule_brings_its_group_multipliers_to_the_table_and_the_run(qtbot, window, dialogs, tmp_path):
    """A file with head ×3, imported on another dataset: the table stayed at ×1 and the run trained every group alike."""
    from test_gui_fine_tuning import edit_cell, groups_tab

    show_tab(groups_tab(window), "Groups")
    qtbot.waitUntil(lambda: window.group_table.table.rowCount() == 4, timeout=LONG)
    edit_cell(qtbot, window.group_table.table, 3, 3, "3")
    qtbot.waitUntil(lambda: window.group_table.draft.rows[3].multiplier == 3.0, timeout=LONG)
    path = tmp_path / "digits.lrschedule.json"
    exported_then_another_opened(qtbot, window, dialogs, path)
    assert [row.multiplier for row in window.group_table.draft.rows] == [1, 1, 1, 1]
    dialogs.answer("open_file", str(path))
    dialogs.answer("yes_no", True)  # tuned for another dataset: use it anyway
    trigger(window.import_action)
    qtbot.waitUntil(lambda: [row.multiplier for row in window.group_table.draft.rows] == [1, 1, 1, 3], timeout=LONG)
    assert window.editor.others.text() == "0.333333"
    steps, lrs = window.lr.plan
    assert np.allclose(lrs[:, 3], 3 * lrs[:, 0])


def test_the_wheel_scrolls_the_schedule_panel_instead_of_changing_the_field_under_the_cursor(qtbot, window):
    """Scrolling the Schedule dock changed the one-cycle's steps from 440 to 444 as the cursor passed over the field."""
    from PySide6.QtWidgets import QScrollArea, QSpinBox

    from gui.driving import wheel

    steps = next(box for box in window.editor.form.findChildren(QSpinBox) if box.isVisible())
    area = next(a for a in window.findChildren(QScrollArea) if a.isAncestorOf(steps))
    before, scrolled = steps.value(), area.verticalScrollBar().value()
    wheel(steps, steps.rect().center(), -1)
    assert steps.value() == before and area.verticalScrollBar().value() > scrolled  # the panel scrolled instead
    click_at = steps.rect().center()
    qtbot.mouseClick(steps, Qt.MouseButton.LeftButton, pos=click_at)  # focused: now the wheel is the field's
    qtbot.waitUntil(steps.hasFocus, timeout=LONG)
    wheel(steps, click_at, 1)
    assert steps.value() == before + 1


def test_the_range_tests_bound_names_the_group_that_meets_it_at_its_own_lr(qtbot, window):
    """With the head at ×3 the line said "bound 2(1+β)/λ = 0.1" where the Health tab said 0.31 for the same λmax."""
    from test_gui_fine_tuning import edit_cell, groups_tab

    show_tab(groups_tab(window), "Groups")
    qtbot.waitUntil(lambda: window.group_table.table.rowCount() == 4, timeout=LONG)
    edit_cell(qtbot, window.group_table.table, 3, 3, "3")
    qtbot.waitUntil(lambda: window.group_table.draft.rows[3].multiplier == 3.0, timeout=LONG)
    range_test_before_a_run(qtbot, window)
    curvature = window.last_range_test["curvature"]
    label = window.range_plot.markers[-1].label.toPlainText()
    head = curvature["bounds"][curvature["groups"].index("head")]
    assert f"bound 2(1+β)/λ: head ×3 meets its {head:.3g} here at the test's start (theory)" == label.replace("\n", " ")
    # Each label inside the plot at 1366×768: the bound's, one long line, ran off its left edge.
    window.resize(1366, 768)
    show_tab(window.tabs, "Range test")
    frame = window.range_plot.plot.getViewBox().sceneBoundingRect
    inside = lambda: all(frame().contains(m.label.sceneBoundingRect()) for m in window.range_plot.markers)
    qtbot.waitUntil(inside, timeout=5000)
    assert curvature["lr_bound"] == pytest.approx(head / 3)
    window.resize(1024, 600)  # the view about 170 px wide: the bound's label, on 24-character lines, ran off its left edge
    qtbot.waitUntil(inside, timeout=5000)


def test_saving_a_plot_or_the_schedule_where_it_cannot_be_written_says_why_and_what_to_do(qtbot, window, dialogs, tmp_path):
    """A folder that cannot be written: a plot's PNG was not saved without a word (pyqtgraph returns False), its CSV was
    "Something went wrong … please report it with the traceback", and Export said "[Errno 20] Not a directory: '…'"."""
    gone = tmp_path / "a-file"  # no folder can be made there, even by root (a read-only folder is writable for root)
    gone.write_text("")
    for button, name in ((window.loss.png_button, "loss.png"), (window.loss.csv_button, "loss.csv")):
        dialogs.answer("save_path", str(gone / name))
        click(button)
    dialogs.answer("save_path", str(gone / "s.lrschedule.json"))
    trigger(window.export_action)
    said = [(error.title, error.text) for error in dialogs.of("error")]
    assert said == [("Cannot save Loss", f"{gone / 'loss.png'}: cannot be written (the image could not be saved there); "
                                         "choose another folder or file"),
                    ("Cannot save Loss", f"{gone / 'loss.csv'}: cannot be written (Not a directory); choose another folder or file"),
                    ("Cannot export", f"{gone / 's.lrschedule.json'}: cannot be written (File exists); choose another folder "
                                      "or file")]  # its folder cannot be made: a file has that name
    device = tmp_path / "to-null.lrschedule.json"
    device.symlink_to(os.devnull)  # run as root, an export to /dev/full replaced the device with the file
    dialogs.answer("save_path", str(device))
    trigger(window.export_action)
    assert dialogs.of("error")[-1].text == (f"{device}: cannot be written (is a character device, not a regular file); "
                                            "choose another folder or file")
    assert device.is_symlink() and os.readlink(device) == os.devnull


def test_reset_layout_brings_back_the_panels_a_small_window_squeezed_or_hid(qtbot, window):
    """A window made 640×480 and back left both side panels at their narrowest ("peak LR", Use preset and Remove cut
    off, the Groups tab hidden), saved so for every later launch, with only the splitters to drag."""
    from PySide6.QtWidgets import QDockWidget

    docks = {dock.objectName(): dock for dock in window.findChildren(QDockWidget)}
    first = {name: dock.width() for name, dock in docks.items()}
    sides = ("Dataset and configuration", "Schedule")
    window.resize(640, 480)  # as small as its minimum lets it be
    qtbot.waitUntil(lambda: all(docks[name].width() < first[name] for name in sides))  # squeezed
    window.resize(1366, 768)
    qtbot.waitUntil(lambda: window.width() == 1366)
    # As the window grows they take their width back: they stayed squeezed, and nothing said Reset layout (helper-83).
    qtbot.waitUntil(lambda: all(docks[name].width() == first[name] for name in sides))
    trigger(window.view_actions["Log"])  # hidden from the View menu
    docks["Schedule"].setFloating(True)  # torn off by its title bar
    trigger(window.reset_layout_action)
    qtbot.wait(300)
    assert {name: dock.width() for name, dock in docks.items()} == first
    assert all(dock.isVisible() and not dock.isFloating() for dock in docks.values())
    assert "Reset layout" in [action.text() for action in window.view_menu.actions()]


def test_a_revised_constant_lr_is_said_as_the_lr_it_replaced_and_the_new_one(qtbot, launch):
    """Apply from now on a constant lowered from 0.05 to 0.03 was recorded as "constant 0.03 → 0.03 over 305 steps",
    which read like an edit that changed nothing."""
    window = launch({**SMALL, "epochs": 10})
    paused_with_lr_set(qtbot, window, "0.05", 3)
    type_into(window.editor.form.editors["lr"], "0.03")
    press(window, "Ctrl+Return")  # Apply from now
    qtbot.waitUntil(lambda: window.editor.history.count() == 2, timeout=LONG)
    assert window.editor.history.item(1).text().endswith("revised the schedule: segment 1 (constant): LR 0.05 → 0.03")
    assert window.live.run_schedule.timeline.lrs(np.array([window.live.step]))[0] == pytest.approx(0.03)
