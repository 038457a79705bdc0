"""Export writes a schedule file from every route a person takes: the toolbar, the File menu and Ctrl+E."""

import json
from pathlib import Path

import numpy as np
import pytest
from gui_fixtures import LONG, SMALL, TINY, paused_with_lr_set, range_test_before_a_run, run_and_export
from helpers import SAMPLE, cli, plain_loop_lrs

from engine.schedules import load_schedule
from gui.driving import click, double_click_item, press, trigger, type_into


def click_menu_item(qtbot, window, menu, action):
    """Open ``menu`` from the menu bar with the mouse and click ``action`` in it."""
    from PySide6.QtCore import Qt

    bar = window.menuBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(menu.menuAction()).center())
    qtbot.waitUntil(menu.isVisible, timeout=LONG)
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())


def test_export_from_the_toolbar_the_menu_and_ctrl_e_writes_a_schedule_file(qtbot, window, dialogs, tmp_path):
    from PySide6.QtCore import Qt

    routes = {
        "toolbar": lambda: qtbot.mouseClick(window.toolbar.widgetForAction(window.export_action), Qt.MouseButton.LeftButton),
        "menu": lambda: click_menu_item(qtbot, window, window.file_menu, window.export_action),
        "shortcut": lambda: press(window, "Ctrl+E"),
    }
    grid = np.arange(window.editor.total_steps + 1)
    planned = window.editor.plan().schedule.lrs(grid)
    for route, act in routes.items():
        path = tmp_path / f"{route}.lrschedule.json"
        dialogs.answer("save_path", str(path))
        act()
        qtbot.waitUntil(path.exists, timeout=LONG)
        loaded = load_schedule(path)
        assert loaded.dataset["fingerprint"] == window.dataset.summary.fingerprint, route
        np.testing.assert_allclose(loaded.timeline.lrs(grid), planned, rtol=1e-12, err_msg=route)
    asked = dialogs.of("save_path")
    assert [shown.title for shown in asked] == ["Export the editor's schedule"] * 3
    assert window.dataset_panel.library.count() >= 1


def test_export_opens_in_home_then_where_the_last_schedule_went_across_launches(qtbot, launch, dialogs, tmp_path, monkeypatch):
    """Export opened in the folder lrscope was launched from (/ from a desktop launcher), and after a plot was saved as
    PNG, in that plot's folder. Home the first time: always there and writable, where a file dialog is expected to
    start (the dataset's parent may be a read-only data drive, and the bundled sample's is inside the installation)."""
    home, launched_in, schedules, pictures = (tmp_path / name for name in ("home", "launched-in", "schedules", "pictures"))
    for folder in (home, launched_in, schedules, pictures):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(launched_in)
    window = launch(SMALL)
    dialogs.answer("save_path", str(schedules / "mine.lrschedule.json"))
    trigger(window.export_action)
    qtbot.waitUntil((schedules / "mine.lrschedule.json").exists, timeout=LONG)
    dialogs.answer("save_path", str(pictures / "loss.png"))  # a plot saved elsewhere meanwhile
    click(window.loss.png_button)
    qtbot.waitUntil((pictures / "loss.png").exists, timeout=LONG)
    window.close()
    again = launch(SMALL)  # the next launch
    dialogs.answer("save_path", None)
    trigger(again.export_action)
    starts = [shown.start for shown in dialogs.of("save_path") if shown.title.startswith("Export")]
    assert starts == [str(home / "digits.lrschedule.json"), str(schedules / "digits.lrschedule.json")]


def test_after_a_run_export_writes_the_runs_schedule_until_the_editor_holds_a_newer_plan(qtbot, window, dialogs, tmp_path):
    ran = tmp_path / "ran.lrschedule.json"
    run_and_export(qtbot, window, dialogs, ran)
    assert dialogs.of("save_path")[-1].title == "Export the last run's schedule (0 edits)"
    assert load_schedule(ran).metrics["best_val_accuracy"] == window.last_run.outcome.best_val_accuracy

    # A new plan in the editor (as after 'Use the winner' or a range-test suggestion) is what the user now means.
    type_into(window.editor.peak, "0.05")
    click(window.editor.use_button)
    planned = tmp_path / "planned.lrschedule.json"
    dialogs.answer("save_path", str(planned))
    trigger(window.export_action)
    assert dialogs.of("save_path")[-1].title == "Export the editor's schedule"
    assert load_schedule(planned).timeline.pieces[-1].schedule.segments[0].max_lr == 0.05
    assert "the editor's schedule written to" in window.log.toPlainText()
    assert "before its first validation" not in window.log.toPlainText()  # said only of a run that never validated


def test_a_schedule_whose_run_stopped_before_its_first_validation_is_said_to_be_untried(qtbot, window, dialogs, tmp_path):
    """Stopped at step 2 and exported, it went into the dataset's library without a word (helper-75)."""
    from gui_fixtures import paused_at

    paused_at(qtbot, window, 2)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None and not window.controller.training, timeout=LONG)
    dialogs.answer("save_path", str(tmp_path / "early.lrschedule.json"))
    press(window, "Ctrl+E")
    steps = window.last_run.outcome.step
    assert (f"note: its run ended after {steps} steps, before its first validation: nothing measured says how this schedule "
            "trains") in window.log.toPlainText()


def test_a_runs_exported_schedule_drives_plain_pytorch_with_one_unnamed_param_group(qtbot, window, dialogs, tmp_path):
    """The window named every model group even when all trained alike: the file then refused a plain optimizer."""
    path = tmp_path / "ran.lrschedule.json"
    run_and_export(qtbot, window, dialogs, path)
    run_lrs = window.lr.points.view(1)  # the LRs the run applied to its first group (all train alike)
    assert len(run_lrs) == window.last_run.outcome.step
    replayed, _ = plain_loop_lrs(path, [None], len(run_lrs))
    np.testing.assert_allclose(replayed[:, 0], run_lrs, rtol=1e-6)


def test_an_edit_undone_later_is_no_edit_of_the_next_runs_exported_schedule(qtbot, launch, dialogs, tmp_path):
    """Set LR 0.0123, undone a few steps later: the next run trained those steps at 0.0123 again, a dip the user had
    taken back. (Undone at its own step, the undo's piece, identical to the one before, read "edited once".)"""
    window = launch({"image_size": 16, "epochs": 2})
    paused_with_lr_set(qtbot, window, "0.0123", 2)
    set_at = window.live.step
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.step >= set_at + 2, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    click(window.editor.undo)
    qtbot.waitUntil(lambda: window.editor.history.count() == 2, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    edited = window.last_run
    assert [record.edit.kind for record in edited.run_schedule.edits] == ["set_constant", "undo"]  # its own record keeps both
    assert edited.run_schedule.timeline.lr_at(set_at) == pytest.approx(0.0123)  # and the steps it trained at 0.0123
    assert "the run's 2 edits left its schedule as it began" in window.log.toPlainText()

    path = tmp_path / "again.lrschedule.json"
    run_and_export(qtbot, window, dialogs, path)  # Start trains the run's schedule again
    assert len(load_schedule(path).timeline.pieces) == 1
    entries = [window.dataset_panel.library.item(row).text() for row in range(window.dataset_panel.library.count())]
    assert entries and not any("pieces" in entry for entry in entries), entries
    # The entry names its run: two runs of one schedule read alike (helper-59 saw two identical lines).
    assert entries[0].endswith(f" (run {window.last_run.outcome.run_id})") and json.loads(path.read_text())["metrics"]["run"] == window.last_run.outcome.run_id


def test_edits_a_step_apart_squeezed_into_a_shorter_run_export_a_file_that_loads(qtbot, launch, dialogs, tmp_path):
    """Two Set LRs a step apart in an 80-epoch run, then one epoch: the stretched edits all fell on step 0, the run
    trained right, and Export wrote a file (and a library entry) that lrscope refused to read: "timeline[1].start: must
    be after the previous piece's start (0), got 0"."""
    window = launch({"image_size": 16, "epochs": 80})
    paused_with_lr_set(qtbot, window, "0.03", 3)
    set_at = window.live.step
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.step > set_at, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    type_into(window.editor.set_lr, "0.02")
    click(window.editor.set_now)
    qtbot.waitUntil(lambda: window.editor.history.count() == 2, timeout=LONG)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: "the editor holds the run's schedule with its 2 edits" in window.log.toPlainText(), timeout=LONG)
    assert window.live.step < 40  # both edits fall on step 0 of a 22-step run
    type_into(window.config_panel.editors["epochs"], "1")

    path = tmp_path / "squeezed.lrschedule.json"
    run_and_export(qtbot, window, dialogs, path)
    pieces = load_schedule(path).timeline.pieces  # refused before: three pieces from step 0
    assert [piece.start for piece in pieces] == [0] and np.allclose(pieces[0].schedule.lrs(np.arange(22)), 0.02)
    assert not window.dataset_panel.problems.count()  # the library's broken file was a warning each time digits opened


def test_a_file_of_several_pieces_imported_mid_run_is_applied_whole(qtbot, launch, dialogs, tmp_path):
    """Apply from now sent the editor's piece, the file's last: a file exported after a Set LR replaced the rest of the
    run with its constant LR, and its one-cycle before it was dropped."""
    window = launch({"image_size": 16, "epochs": 40})
    path = tmp_path / "edited.lrschedule.json"
    paused_with_lr_set(qtbot, window, "0.0123", 3)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    assert len(load_schedule(path).timeline.pieces) == 2
    first = window.live.run_id
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.run_id != first and window.live.step >= 2, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    dialogs.answer("open_file", str(path))
    trigger(window.import_action)
    qtbot.waitUntil(lambda: f"imported {path}" in window.log.toPlainText(), timeout=LONG)
    click(window.editor.apply)
    qtbot.waitUntil(lambda: "replaced the rest with a plan of 2 pieces" in window.editor.history.item(window.editor.history.count() - 1).text()
                    if window.editor.history.count() else False, timeout=LONG)
    plan = window.live.run_schedule.timeline
    assert plan.lr_at(plan.total_steps - 1) == 0.0123 and plan.lr_at(window.live.step) != 0.0123  # the one-cycle first
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: not window.controller.training, timeout=LONG)


def exported(qtbot, window, dialogs, path) -> dict:
    """Export the editor's schedule to ``path`` through File → Export; the file as plain data, to edit by hand."""
    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    qtbot.waitUntil(path.exists, timeout=LONG)
    return json.loads(path.read_text())


def test_a_files_warnings_are_logged_before_the_question_they_explain(qtbot, window, dialogs, tmp_path):
    """A file whose dataset name was a number asked "tuned on '?'": the warning saying why came only after a Yes."""
    path = tmp_path / "edited.lrschedule.json"
    data = exported(qtbot, window, dialogs, path)
    data["dataset"].update(name=12345, fingerprint="0123456789abcdef")
    path.write_text(json.dumps(data))
    dialogs.answer("open_file", str(path))
    dialogs.answer("yes_no", False)
    trigger(window.import_action)
    assert dialogs.of("yes_no")[-1].title == "Schedule tuned for another dataset"
    assert f"{path}: dataset.name: must be text, got a whole number; ignored" in window.log.toPlainText()


def test_a_segment_parameter_left_out_of_an_imported_file_is_logged_with_the_default_used(qtbot, window, dialogs, tmp_path):
    """A hand-edited one_cycle without div_factor was filled with 25 without a word (helper-80)."""
    path = tmp_path / "edited.lrschedule.json"
    data = exported(qtbot, window, dialogs, path)
    segment = data["timeline"][0]["segments"][0]
    assert segment["kind"] == "one_cycle"
    del segment["div_factor"]
    path.write_text(json.dumps(data))
    dialogs.answer("open_file", str(path))
    trigger(window.import_action)
    qtbot.waitUntil(lambda: f"imported {path}" in window.log.toPlainText(), timeout=LONG)
    assert (f"{path}: schedule.timeline[0].segments[0]: one_cycle does not give div_factor (using the default 25.0)"
            in window.log.toPlainText())


def test_the_runs_tab_exports_the_selected_run_not_the_editors_schedule(qtbot, window, dialogs, tmp_path):
    """Export while a past run was shown read-only wrote the editor's draft of the dataset open; the tab had no Export."""
    from gui.driving import select_rows, show_tab

    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    run = window.last_run
    type_into(window.editor.peak, "0.0123")  # the editor now holds a newer plan: Ctrl+E would write it
    click(window.editor.use_button)
    show_tab(window.tabs, "Runs")
    qtbot.waitUntil(lambda: window.runs_panel.table.topLevelItemCount() == 1, timeout=LONG)
    select_rows(window.runs_panel.table, [0])
    path = tmp_path / "past.lrschedule.json"
    dialogs.answer("save_path", str(path))
    click(window.runs_panel.buttons["Export…"])
    name = Path(run.run_dir).name
    assert dialogs.of("save_path")[-1].title == f"Export run {name}'s schedule"
    loaded = load_schedule(path)
    assert loaded.metrics["best_val_accuracy"] == run.outcome.best_val_accuracy
    grid = np.arange(run.outcome.step)
    np.testing.assert_allclose(loaded.timeline.lrs(grid), run.run_schedule.timeline.lrs(grid), rtol=1e-12)
    assert f"run {name}'s schedule written to {path} and added to the library" in window.log.toPlainText()
    entries = window.dataset_panel.library.count()
    dialogs.answer("save_path", str(tmp_path / "again.lrschedule.json"))
    click(window.runs_panel.buttons["Export…"])  # the same run again: each Export added a twin to the library's list
    assert f"and already in the library ({run.dataset['fingerprint']})" in window.log.toPlainText()
    assert window.dataset_panel.library.count() == entries


def test_a_schedule_is_deleted_from_the_datasets_library_after_asking_and_the_exported_file_stays(qtbot, window, dialogs, tmp_path):
    """A library entry could not be deleted from the window: its list only grew (one run exported from the toolbar and
    from the Runs tab was two entries)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence
    from PySide6.QtTest import QTest

    from gui.driving import select_rows, show_tab

    path = tmp_path / "mine.lrschedule.json"
    run_and_export(qtbot, window, dialogs, path)
    library = window.dataset_panel.library
    assert library.count() == 1
    # Also under File and the toolbar Import button's arrow: the list lay at the foot of a scrolled pane (helper-71).
    assert window.toolbar.widgetForAction(window.import_action).menu() is window.library_menu
    window.library_menu.popup(window.mapToGlobal(window.rect().center()))
    qtbot.waitUntil(lambda: [a.text() for a in window.library_menu.actions()] == [library.item(0).text()], timeout=LONG)
    trigger(window.library_menu.actions()[0])
    window.library_menu.close()
    assert f"imported {library.item(0).data(Qt.ItemDataRole.UserRole)}: " in window.log.toPlainText()
    # The same run from the Runs tab: its document lacked the steps the window's export wrote, and was a second entry.
    show_tab(window.tabs, "Runs")
    qtbot.waitUntil(lambda: window.runs_panel.table.topLevelItemCount() == 1, timeout=LONG)
    select_rows(window.runs_panel.table, [0])
    dialogs.answer("save_path", str(tmp_path / "again.lrschedule.json"))
    click(window.runs_panel.buttons["Export…"])
    assert "already in the library" in window.log.toPlainText().splitlines()[-1] and library.count() == 1
    entry = library.item(0).data(Qt.ItemDataRole.UserRole)
    QTest.mouseClick(library.viewport(), Qt.MouseButton.LeftButton, pos=library.visualItemRect(library.item(0)).center())
    dialogs.answer("yes_no", False)
    press(window, QKeySequence.StandardKey.Delete)
    assert Path(entry).exists() and library.count() == 1
    dialogs.answer("yes_no", True)
    press(window, QKeySequence.StandardKey.Delete)
    assert dialogs.of("yes_no")[-1].details == entry and not Path(entry).exists() and path.exists()
    assert library.count() == 1 and library.item(0).text().startswith("none yet")
    assert f"deleted {Path(entry).name} from the library" in window.log.toPlainText()
    # Deleted by another window: a double-click said "no such file" and the dead entry stayed (helper-71).
    dialogs.answer("save_path", str(tmp_path / "third.lrschedule.json"))
    trigger(window.export_action)
    assert library.count() == 1 and not library.item(0).text().startswith("none yet")
    Path(library.item(0).data(Qt.ItemDataRole.UserRole)).unlink()
    double_click_item(library, library.item(0))
    assert dialogs.of("error")[-1].title == "Cannot import" and library.item(0).text().startswith("none yet")


def test_a_schedule_exported_from_a_paused_run_names_the_run_and_its_best_accuracy_so_far(qtbot, launch, dialogs, tmp_path, capsys):
    """Export during a run (the window's toolbar, and `show RUN --export-schedule`) was listed as "no validation", naming
    no run, after 7 validated epochs: the file's metrics were null."""
    window = launch({**TINY, "epochs": 10})
    trigger(window.start_action)
    qtbot.waitUntil(lambda: len(window.accuracy.points) >= 1, timeout=LONG)  # an epoch validated
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    path = tmp_path / "mid.lrschedule.json"
    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    qtbot.waitUntil(path.exists, timeout=LONG)
    run_id, step, best = window.live.run_id, window.live.step, max(window.accuracy.points.view(2))
    metrics = load_schedule(path).metrics
    assert (metrics["run"], metrics["steps"], metrics["in_progress"]) == (run_id, step, True)
    assert 100 * metrics["best_val_accuracy"] == pytest.approx(best)
    code, out, _ = cli(capsys, "schedule", "list")
    assert code == 0 and f"best val {best:.2f}% so far, at step {step}, run {run_id}" in out, out
    assert f"from run    {run_id} (in progress when exported)" in cli(capsys, "schedule", "show", path)[1]
    code, _, err = cli(capsys, "show", window.live.run_dir, "--export-schedule", tmp_path / "shown.lrschedule.json")
    assert code == 0, err
    metrics = load_schedule(tmp_path / "shown.lrschedule.json").metrics
    assert (metrics["run"], metrics["in_progress"]) == (run_id, True)


def test_a_schedule_saved_after_its_run_ended_in_the_open_dialog_is_the_finished_runs(qtbot, launch, dialogs, tmp_path):
    """Ctrl+E at step 50, the dialog left open while the run finished, then Save: the file and the library said "best val
    38.83% so far, at step 50" of a run that had finished at 98.04% (helper-115)."""
    window = launch({**SMALL, "epochs": 3})
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 1, timeout=LONG)
    path = tmp_path / "race.lrschedule.json"

    def save_once_the_run_ended(shown):
        assert shown.title == "Export the running schedule"  # asked while the run went on
        qtbot.waitUntil(lambda: not window.controller.training and window.last_run is not None, timeout=LONG)
        return str(path)

    dialogs.answer("save_path", save_once_the_run_ended)
    trigger(window.export_action)
    qtbot.waitUntil(path.exists, timeout=LONG)
    metrics = load_schedule(path).metrics
    assert (metrics["steps"], metrics.get("in_progress", False)) == (66, False), metrics
    assert metrics["run"] == window.last_run.outcome.run_id
    assert "the last run's schedule" in window.log.toPlainText().splitlines()[-1]


def test_the_range_test_plots_csv_has_the_columns_of_range_test_csv(qtbot, launch, dialogs, tmp_path, capsys):
    """The plot's CSV button wrote repeat, lr, loss, smoothed, where `lrscope range-test --csv` writes step, loss, each
    group's LR, repeat, swept_lr, smoothed: a user comparing the two files found other names for the same quantities."""
    import csv

    window = launch(TINY)
    range_test_before_a_run(qtbot, window, iterations=12, repeats=1)
    saved = tmp_path / "window.csv"
    dialogs.answer("save_path", str(saved))
    click(window.range_plot.csv_button)
    qtbot.waitUntil(saved.exists, timeout=LONG)
    code, _, err = cli(capsys, "range-test", "--data", SAMPLE, "--image-size", "8", "--iters", "12", "--repeats", "1",
                       "--no-curvature", "--csv", tmp_path / "cli.csv")
    assert code in (0, 1), err  # 1: twelve points may recommend nothing; the curve is written either way
    header, *rows = list(csv.reader(saved.read_text().splitlines()))
    assert header == (tmp_path / "cli.csv").read_text().splitlines()[0].split(","), header
    curve = window.last_range_test["curve"]
    assert [int(row[0]) for row in rows] == list(range(len(curve["lr"]))), rows
    assert [float(row[header.index("swept_lr")]) for row in rows] == pytest.approx(curve["lr"])
