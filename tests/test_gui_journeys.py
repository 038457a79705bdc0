"""The journeys a person takes through the window, each from launch to the end of the task, through real controls.

(a) open a folder three ways, (b) range test before a run, then train, (c) edit a run as it goes,
(d) export, then import on another dataset, (e) close mid-run and resume after relaunching,
(f) compare two runs.
"""

import threading
from pathlib import Path

import numpy as np
import pytest
from gui_fixtures import LONG, SMALL, TINY, drawn, heading_fits, legend, opened, paused_with_lr_set, title_key
from helpers import CAMERA2, SAMPLE

from engine.tune.budget import OVERHEAD as TUNE_OVERHEAD
from gui.driving import choose, click, drop_folder, press, select_rows, show_tab, trigger, type_into

pytest.importorskip("pytestqt")
LONG_RUN = {**TINY, "epochs": 40}  # long enough that the run is still going when the test acts on it


def history(window):
    return [window.editor.history.item(i).text() for i in range(window.editor.history.count())]


def test_a_open_a_folder_by_the_open_action_by_drag_and_drop_and_from_recent(qtbot, launch, dialogs):
    window = launch(SMALL)
    assert window.dataset.summary.name == "digits"
    dialogs.answer("open_folder", str(CAMERA2))
    click(window.dataset_panel.open_button)
    opened(qtbot, window, "digits-camera2")
    assert window.windowTitle() == f"lrscope — digits-camera2 ({CAMERA2})"
    assert "digits-camera2" in window.dataset_panel.summary.text() and window.dataset_panel.classes.rowCount() == 10

    assert drop_folder(window, SAMPLE, at=window.loss.mapTo(window, window.loss.rect().center()))
    opened(qtbot, window, "digits")

    recent = {action.text(): action for action in window.dataset_panel.recent.menu().actions()}
    assert list(recent) == [str(SAMPLE), str(CAMERA2)]
    trigger(recent[str(CAMERA2)])
    opened(qtbot, window, "digits-camera2")
    assert window.start_action.isEnabled() and window.editor.total_steps == 22


def test_b_range_test_before_a_run_use_its_suggestion_then_start_pause_resume(qtbot, launch):
    from engine.schedules.shapes import OneCycle

    window = launch(LONG_RUN)
    show_tab(window.tabs, "Range test")
    panel = window.range_panel
    type_into(panel.iterations, "40")
    type_into(panel.repeats, "1")
    press(window, "Ctrl+T")
    # Feedback at once, before the model is even built.
    assert not panel.start.isEnabled() and panel.cancel.isEnabled() and "starting" in panel.status.text()
    assert "range test" in window.status.text() and "idle" not in window.status.text()
    qtbot.waitUntil(lambda: window.last_range_test is not None and not window.controller.testing, timeout=LONG)
    qtbot.waitUntil(lambda: "next run" in window.status.text(), timeout=LONG)
    one_cycle_lr = float(f"{panel.recommendation.one_cycle_max_lr:.3g}")
    click(panel.use_cycle)
    assert window.editor.segments == [OneCycle(steps=window.editor.total_steps, max_lr=one_cycle_lr)]

    stop_at = window.toolbar.widgetForAction(window.stop_action).geometry()
    trigger(window.start_action)
    assert window.status.text().startswith("starting the run: building the model")  # at once, not "idle" for seconds
    qtbot.waitUntil(lambda: window.live.state == "running" and window.live.step >= 2, timeout=LONG)
    qtbot.waitUntil(lambda: "left" in window.status.text(), timeout=LONG)
    qtbot.waitUntil(window.lr.now.isVisible, timeout=LONG)  # the LR plot marks the running step
    press(window, "Ctrl+P")
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    assert window.pause_action.text() == "Resume"
    assert window.toolbar.widgetForAction(window.stop_action).geometry() == stop_at  # the toolbar did not shift
    qtbot.waitUntil(lambda: window.status.text().startswith("paused"), timeout=LONG)
    assert "left" not in window.status.text() and "samples/s" not in window.status.text()
    paused_at = window.live.step
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "running" and window.live.step > paused_at + 1, timeout=LONG)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    run = window.last_run
    assert run.outcome.state == "stopped"
    assert run.run_schedule.timeline.pieces[0].schedule.segments[0].max_lr == one_cycle_lr
    steps, applied = window.lr.points.view(0), window.lr.points.view(1)
    np.testing.assert_allclose(applied, run.run_schedule.timeline.lrs(steps), rtol=1e-6)


def test_c_edit_a_run_as_it_goes_apply_from_now_set_lr_now_undo(qtbot, launch):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    window = launch(LONG_RUN)
    editor = window.editor
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 2, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)

    # Apply from now: a new peak typed into the segment's form; the preview shows the first edit already.
    assert "editor preview" not in legend(window.lr)
    type_into(editor.form.editors["max_lr"], "0.05")
    qtbot.waitUntil(lambda: drawn(window.lr.preview) > 0, timeout=LONG)
    # A revision keeps its place on the step axis, so 'start from the current LR' cannot apply and says why.
    assert not editor.from_current.isEnabled() and "revises the shape in force" in editor.from_current.toolTip()
    assert not editor.from_current.isChecked()  # a greyed tick read as "this will happen"
    assert "editor preview" in legend(window.lr)
    press(window, "Ctrl+Return")
    qtbot.waitUntil(lambda: len(history(window)) == 1, timeout=LONG)
    qtbot.waitUntil(lambda: drawn(window.lr.preview) == 0, timeout=LONG)  # applied: nothing unsent is left to preview
    assert "editor preview" not in legend(window.lr)
    assert editor.peak.text() == "0.05"  # the preset's peak is the revised one, so Use preset does not go back to the old

    # Set LR now, then let a few steps run at it.
    type_into(editor.set_lr, "0.0123")
    click(editor.set_now)
    qtbot.waitUntil(lambda: len(history(window)) == 2, timeout=LONG)
    # The preset fields offer the shape in force: they said one_cycle at 0.05 beside a constant at 0.0123.
    assert (editor.preset.currentText(), editor.peak.text()) == ("constant", "0.0123")
    set_at = window.live.run_schedule.edits[-1].step
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.step >= set_at + 3, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)

    # The Undo key in a text field undoes the typing, not the schedule...
    type_into(editor.set_lr, "0.5")
    with qtbot.assertNotEmitted(window.undo_action.triggered):
        press(window, QKeySequence.StandardKey.Undo)
    assert editor.set_lr.text() == "0.0123"
    # ...and anywhere else it undoes the last schedule edit.
    qtbot.mouseClick(editor.history.viewport(), Qt.MouseButton.LeftButton)
    press(window, QKeySequence.StandardKey.Undo)
    qtbot.waitUntil(lambda: len(history(window)) == 3, timeout=LONG)
    assert "undid edit #2" in history(window)[-1]
    undone_at = window.live.run_schedule.edits[-1].step

    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.step >= undone_at + 2, timeout=LONG)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    steps, applied = window.lr.points.view(0), window.lr.points.view(1)
    assert np.all(applied[(steps >= set_at) & (steps < undone_at)] == 0.0123)
    assert not np.any(applied[(steps < set_at) | (steps >= undone_at)] == 0.0123)
    after = steps >= undone_at
    assert np.all(applied[after] <= 0.05 + 1e-12) and np.all(applied[after] > 0)
    assert editor.set_lr.text() == ""  # the LR typed for this run is not offered to the next


def test_c_a_preset_used_mid_run_keeps_its_typed_peak_and_the_runs_length(qtbot, launch):
    """A user typed cosine at 0.1, pressed Use preset, and applied it later: the run trained 'cosine 0.449 → 0' (the
    current LR, from a box that ticked itself) and grew by the steps between the two clicks."""

    window = launch(LONG_RUN)
    editor = window.editor
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 2, timeout=LONG)
    total = window.live.total
    choose(editor.preset, "cosine")
    type_into(editor.peak, "0.1")
    click(editor.use_button)
    assert not editor.from_current.isChecked()  # a cosine begins at its peak: from the current LR it had no 0.1
    used_at = window.live.step
    qtbot.waitUntil(lambda: window.live.step >= used_at + 3, timeout=LONG)  # the run goes on before Apply
    click(editor.apply)
    qtbot.waitUntil(lambda: len(history(window)) == 1, timeout=LONG)
    applied = window.live.run_schedule
    piece = applied.timeline.pieces[-1]
    assert applied.timeline.total_steps == total == window.live.total, history(window)
    assert applied.timeline.lr_at(piece.start) == pytest.approx(0.1)
    choose(editor.preset, "one_cycle")
    click(editor.use_button)
    assert editor.from_current.isChecked()  # its warm-up rises from the LR in force to the peak typed: no jump
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)


def test_c_a_revised_schedule_of_another_length_asks_before_it_moves_the_runs_end(qtbot, launch, dialogs):
    """The one-cycle's steps typed shorter mid-run: Apply ended the run 212 steps early, said only by the editor's
    header (helper-79). Now it asks; No sends nothing, Yes applies and the edit says where the run ends."""
    window = launch(LONG_RUN)
    editor = window.editor
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 2, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.paused, timeout=LONG)
    total = window.live.total
    shorter = total - 100
    type_into(editor.form.editors["steps"], str(shorter))
    dialogs.answer("yes_no", False)
    click(editor.apply)
    asked = dialogs.of("yes_no")[-1]
    assert asked.title == "Change the run's length?" and f"ends the run at step {shorter} (epoch " in asked.text
    assert f"instead of step {total} (epoch 40)" in asked.text
    assert f"not applied: the run keeps its {total} steps" in window.log.toPlainText() and history(window) == []
    dialogs.answer("yes_no", True)
    click(editor.apply)
    qtbot.waitUntil(lambda: len(history(window)) == 1, timeout=LONG)
    assert window.live.total == shorter and f"; the run now ends at step {shorter}, not {total}" in history(window)[0]
    type_into(editor.form.editors["steps"], str(shorter))  # the length it has now: nothing to ask
    click(editor.apply)
    qtbot.waitUntil(lambda: len(history(window)) == 2, timeout=LONG)
    assert len(dialogs.of("yes_no")) == 2 and "now ends" not in history(window)[1]
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)


def test_d_export_then_import_on_another_dataset_warns_and_cancel_changes_nothing(qtbot, window, dialogs, tmp_path):
    from engine.schedules import load_schedule

    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    path = tmp_path / "tuned.lrschedule.json"
    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    loaded = load_schedule(path)
    assert loaded.dataset["fingerprint"] == window.dataset.summary.fingerprint
    assert loaded.metrics["best_val_accuracy"] == window.last_run.outcome.best_val_accuracy
    assert window.dataset_panel.library.count() == 1

    dialogs.answer("open_folder", str(CAMERA2))
    trigger(window.open_action)
    opened(qtbot, window, "digits-camera2")
    before = (list(window.editor.segments), window.editor.origin, window.editor.peak.text())
    dialogs.answer("open_file", str(path))
    dialogs.answer("yes_no", False)
    trigger(window.import_action)
    asked = dialogs.of("yes_no")[-1]
    assert asked.title == "Schedule tuned for another dataset"
    assert "tuned on 'digits'" in asked.details and "this is 'digits-camera2'" in asked.details
    assert (list(window.editor.segments), window.editor.origin, window.editor.peak.text()) == before
    assert "cancelled" in window.log.toPlainText()
    # The import dialog opened where the export went; the dataset dialog where the datasets are.
    assert dialogs.of("open_file")[-1].start == str(tmp_path)
    assert dialogs.of("open_folder")[-1].start == str(SAMPLE.parent)  # the first time: beside the open dataset
    dialogs.answer("open_folder", None)
    trigger(window.open_action)
    assert dialogs.of("open_folder")[-1].start == str(CAMERA2.parent)
    # Back on the dataset it was tuned for, the library offers it.
    trigger(next(a for a in window.dataset_panel.recent.menu().actions() if a.text() == str(SAMPLE)))
    opened(qtbot, window, "digits")
    assert window.dataset_panel.library.count() == 1
    assert "1 schedule tuned for this dataset is in the library" in window.log.toPlainText()


def test_quitting_as_a_run_finishes_does_not_ask_to_stop_it(qtbot, launch, dialogs, monkeypatch):
    """The run had trained its last step and was closing its store: Quit asked "Stop the run?" over a finished run."""
    from engine.store.writer import RunStore

    closing, release = threading.Event(), threading.Event()
    close = RunStore.close

    def slow_close(store, *args, **kwargs):
        closing.set()
        release.wait(LONG / 1000)
        close(store, *args, **kwargs)

    monkeypatch.setattr(RunStore, "close", slow_close)
    window = launch(TINY)
    trigger(window.start_action)
    qtbot.waitUntil(closing.is_set, timeout=LONG)
    assert window.controller.training  # its thread is still closing the store
    threading.Timer(0.5, release.set).start()  # closing waits for the run's thread
    press(window, "Ctrl+Q")
    assert dialogs.of("yes_no") == [] and not window.isVisible()
    assert window.last_run.outcome.state == "finished"


def test_the_run_trains_on_while_closing_asks_and_its_end_withdraws_the_question(qtbot, launch, dialogs):
    """The run ended while "Stop the run and close the window?" was open: the box stayed over a finished run, saying it
    "stays resumable", and its No (what a box closed by itself answers) kept the window open with nothing left to lose."""
    window = launch({**SMALL, "epochs": 2})
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 3, timeout=LONG)

    def while_asked(question):
        assert question.title == "Stop the run?" and "Yes stops the run and closes the window" in question.details
        assert "No keeps the window open and the run training" in question.details
        qtbot.waitUntil(lambda: window.live.state == "finished", timeout=LONG)  # asking paused nothing: it trained to the end
        assert dialogs.of("dismissed")[-1].title == "Stop the run?"  # withdrawn as the run ended
        return False

    dialogs.answer("yes_no", while_asked)
    press(window, "Ctrl+Q")
    assert len(dialogs.of("yes_no")) == 1 and not window.isVisible()  # nothing to lose now: closed, as the user asked
    assert window.last_run.outcome.state == "finished" and window.last_run.outcome.step == 44


def test_e_close_mid_run_relaunch_and_resume_from_the_runs_tab(qtbot, launch, dialogs):
    from engine.store import read_meta

    window = launch({**SMALL, "epochs": 2})
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 3, timeout=LONG)
    dialogs.answer("yes_no", True)
    press(window, "Ctrl+Q")
    assert [shown.title for shown in dialogs.of("yes_no")] == ["Stop the run?"]  # the window's own run: it asks first
    assert not window.isVisible() and not window.controller.training
    stopped = window.last_run
    assert stopped.outcome.state == "stopped" and read_meta(stopped.run_dir)["state"] == "stopped"

    again = launch()
    show_tab(again.tabs, "Runs")
    qtbot.waitUntil(lambda: again.runs_panel.table.topLevelItemCount() == 1, timeout=LONG)
    assert again.runs_panel.table.topLevelItem(0).text(3) == "stopped"
    select_rows(again.runs_panel.table, [0])
    click(again.runs_panel.buttons["Resume"])
    assert again.status.text().startswith(f"resuming {Path(stopped.run_dir).name}")
    qtbot.waitUntil(lambda: again.live.state == "running" and again.live.step > stopped.outcome.step, timeout=LONG)
    assert again.tabs.currentIndex() == 0 and len(again.loss.points) >= stopped.outcome.step  # the past is drawn too
    qtbot.waitUntil(lambda: again.last_run is not None, timeout=LONG)
    resumed = again.last_run
    assert resumed.run_dir == stopped.run_dir and resumed.outcome.state == "finished" and resumed.outcome.step == 44
    # The Tune tab's estimate times the steps this window trained: over all 44 it read a tune 2.4 times shorter.
    trained = resumed.outcome.step - resumed.outcome.start_step
    speed = TUNE_OVERHEAD * resumed.outcome.train_seconds / trained  # a trial's step costs its share of validation too
    assert resumed.outcome.start_step > 0 and again.tune_panel.run_plan == (44, pytest.approx(speed), "the last run's speed")


def test_f_compare_two_runs_and_open_one_read_only(qtbot, window):
    from PySide6.QtCore import Qt

    from engine.run.history import stored_run_schedule
    from engine.store import read_meta

    for count, peak in ((1, "0.2"), (2, "0.05")):  # two plans: the read-only view must draw its run's own
        type_into(window.editor.peak, peak)
        click(window.editor.use_button)
        if count == 1:
            trigger(window.start_action)
        else:  # and an edit, listed in the history until a run without one is opened read-only
            paused_with_lr_set(qtbot, window, "0.01", 3)
            trigger(window.pause_action)
        qtbot.waitUntil(lambda count=count: window.runs_panel.table.topLevelItemCount() == count and not window.controller.training,
                        timeout=LONG)
    show_tab(window.tabs, "Runs")
    assert title_key(window.compare.lr) == "Learning rate"  # nothing compared yet: not "(head)"
    assert "select two or more runs above, then Compare" in window.compare.loss.heading.text()  # empty: says how
    buttons = window.runs_panel.buttons
    # Nothing selected: only Refresh acts. Two selected: Compare, and no button of one run (Export wrote the first).
    assert [text for text, button in buttons.items() if button.isEnabled()] == ["Refresh"]
    select_rows(window.runs_panel.table, [0, 1])
    assert [text for text, button in buttons.items() if button.isEnabled()] == ["Refresh", "Compare"]
    click(buttons["Compare"])
    assert len(window.compare.loss.series) == 2 and len(window.compare.lr.series) == 2
    assert all(len(steps) == 22 for steps, _loss in window.compare.loss.series.values())
    assert "then Compare" not in window.compare.loss.heading.text()
    assert "Learning rate" in window.compare.lr.heading.text()  # every group alike: one LR, not "the head's"
    assert "(head)" not in window.compare.lr.heading.text()
    for plot in (window.compare.loss, window.compare.lr):  # no legend box over the curves: the title names each run
        title = plot.heading.text()
        assert not plot.plot.legend.isVisible() and all(name[9:] in title for name in plot.series), title
        # Within the plot's width and height: a third name was cut and a fourth lost. (The plots are built when the Runs
        # tab is first shown, and laid out just after.)
        qtbot.waitUntil(lambda plot=plot: heading_fits(plot))
    table = window.runs_panel.table
    first = next(row for row in range(2) if table.topLevelItem(row).data(0, Qt.ItemDataRole.UserRole) != str(window.last_run.run_dir))
    select_rows(table, [first])  # the run before the last: the plots held the last one's plan
    assert not buttons["Compare"].isEnabled() and buttons["Export…"].isEnabled()
    click(window.runs_panel.buttons["Open read-only"])
    assert window.tabs.currentIndex() == 0
    assert len(window.loss.points) == 22 and "(read-only)" in title_key(window.loss)
    qtbot.waitUntil(lambda: not window.lr.now.isVisible(), timeout=LONG)  # a stored run has no "now"
    # Its own plan and where it ended: the plots showed the last run's plan, the status bar the last run's line.
    run_dir = Path(table.topLevelItem(first).data(0, Qt.ItemDataRole.UserRole))
    name = run_dir.name
    steps, planned = window.lr.plan
    assert np.allclose(planned[:, 0], stored_run_schedule(read_meta(run_dir)).timeline.lrs(steps))
    assert window.status.text() == f"{name} (read-only): finished · 22/22 steps"
    stored = stored_run_schedule(read_meta(run_dir))
    assert window.editor.history.count() == len(stored.edits) == 0 and not window.editor.undo.isEnabled()


def test_relaunched_after_its_last_dataset_moved_it_says_so_and_opens_the_sample(qtbot, launch, tmp_path):
    """It opened the bundled sample without a word, as if the user's folder had never been opened."""
    import shutil

    mine = tmp_path / "mine"
    shutil.copytree(CAMERA2, mine)
    first = launch(data=mine)
    opened(qtbot, first, "mine")
    first.close()
    mine.rename(tmp_path / "moved")
    again = launch()
    opened(qtbot, again, "digits")
    assert (f"the dataset open last, {mine}, is no longer there (moved or on a drive not mounted): opening the bundled "
            "sample instead; Open… (Ctrl+O) finds it where it is now") in again.log.toPlainText()


def test_a_step_that_keeps_the_run_waiting_is_said_on_the_status_line(qtbot, launch, monkeypatch):
    """A λmax measurement held the run a minute: the line said "training · 362 samples/s · about 20 min left" all the
    while, and a Pause seemed to do nothing."""
    import re

    import engine.training.job as job_module

    held, release = threading.Event(), threading.Event()
    real, calls = job_module.forward_backward, []

    def slow(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            held.set()
            release.wait(LONG / 1000)
        return real(*args, **kwargs)

    monkeypatch.setattr(job_module, "forward_backward", slow)
    monkeypatch.setattr("gui.live_run.STALL_SECONDS", 0.5)
    window = launch(TINY)
    trigger(window.start_action)
    qtbot.waitUntil(held.is_set, timeout=LONG)
    qtbot.waitUntil(lambda: "waiting" in window.status.text(), timeout=LONG)
    said = window.status.text()
    release.set()
    assert re.search(r"^training · epoch 1/1 · \d+/\d+ steps · waiting \d+ s for the next step \(commands apply when it comes\)$", said), said
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
