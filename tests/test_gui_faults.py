"""A run whose loss explodes, in the window: the "Training paused" box and what each of its buttons does,
clicked in the real box (every one of them once crashed the run: the button's clicked(bool) reached the command)."""

import pytest
from gui_fixtures import LONG, SMALL
from PySide6.QtCore import Qt

from gui.driving import choose, click, select_rows, show_tab, trigger, type_into
from gui.plots.log_axis import padded_log_range

pytest.importorskip("pytestqt")


def exploding_run(qtbot, window, dialogs) -> None:
    """Start a run at a constant LR of 50 and wait for the box that its exploding loss brings up."""
    offers = len(dialogs.of("offer"))
    choose(window.editor.preset, "constant")
    type_into(window.editor.peak, "50")
    click(window.editor.use_button)
    trigger(window.start_action)
    # The run says its fault, then that it paused: two events, which a loaded machine drains a timer tick apart.
    qtbot.waitUntil(lambda: len(dialogs.of("offer")) > offers and window.live.state == "paused", timeout=LONG)
    message = dialogs.of("offer")[-1].text
    assert "explod" in message
    assert window.log.toPlainText().count(message) == 1, window.log.toPlainText()  # once, with its advice


def test_roll_back_in_the_box_goes_back_to_the_last_good_state_at_a_tenth_of_the_lr(qtbot, window, dialogs):
    exploding_run(qtbot, window, dialogs)
    box = dialogs.of("offer")[-1].box
    assert "Roll back to step 0, the last good state, and go on at LR 5 (its schedule there ×0.1;" in window.log.toPlainText()
    dialogs.choose("Roll back")
    qtbot.waitUntil(lambda: "rolled back to step 0" in window.log.toPlainText(), timeout=LONG)
    assert not box.isVisible() and window.live.state != "failed"
    # The rollback's ×0.1 is an edit the run makes after it says it rolled back: its own event, which a loaded machine
    # drains a timer tick later (the history was read in between, and was empty).
    edits = lambda: [window.editor.history.item(i).text() for i in range(window.editor.history.count())]  # noqa: E731
    qtbot.waitUntil(lambda: any("×0.1" in text for text in edits()), timeout=LONG)


def test_an_lr_set_in_the_pause_then_rolled_back_is_not_raised_by_the_rollback(qtbot, window, dialogs):
    """Set LR now 0.05 at the fault, then Roll back: the rollback undid the 0.05 and went on at LR 5 (the schedule at step
    0 ×0.1), a hundred times the LR set, into the same blow-up (helper-64)."""
    exploding_run(qtbot, window, dialogs)
    type_into(window.editor.set_lr, "0.05")
    click(window.editor.set_now)
    qtbot.waitUntil(lambda: "set LR to 0.05 for the rest" in window.log.toPlainText(), timeout=LONG)
    # Its advice was written at the fault ("go on at LR 5"): the box says what the edit changes.
    assert dialogs.of("offer")[-1].box.informativeText().endswith(
        "set LR to 0.05 for the rest): Roll back undoes the edit and goes on at the lower of the LR above and 0.05.")
    dialogs.choose("Roll back")
    qtbot.waitUntil(lambda: "rolled back to step 0" in window.log.toPlainText() and len(window.lr.points) > 1, timeout=LONG)
    applied = window.lr.points.view()[:, 1:]
    assert applied[-1].max() <= 0.05 * 1.001, applied[-3:]
    # The edit the rollback undid stays in the history, where it was made, unnumbered as `lrscope show` has it: it
    # vanished, and its number went to the rollback's own edit (helper-79).
    edits = [window.editor.history.item(i).text() for i in range(window.editor.history.count())]
    undone = [text for text in edits if text.endswith("; undone by the rollback to step 0")]
    assert len(undone) == 1 and undone[0].startswith("step ") and "(user): set LR to 0.05 for the rest" in undone[0], edits
    assert edits.index(undone[0]) < len(edits) - 1 and edits[-1].startswith("#1 step 0 (rollback"), edits


@pytest.mark.parametrize("button, state", [("Stop", "stopped"), ("Resume anyway", None)])
def test_stop_and_resume_in_the_box_do_what_they_say(qtbot, window, dialogs, button, state):
    exploding_run(qtbot, window, dialogs)
    offers = len(dialogs.of("offer"))
    dialogs.choose(button)
    if state:
        qtbot.waitUntil(lambda: window.live.state == state, timeout=LONG)
        # The Runs tab said "stopped" and nothing more, like a run the user stopped on purpose.
        table = window.runs_panel.table
        qtbot.waitUntil(lambda: table.topLevelItemCount() == 1 and table.topLevelItem(0).text(3) == "stopped", timeout=LONG)
        assert table.topLevelItem(0).text(6).startswith("fault at step "), table.topLevelItem(0).text(6)
        assert "; the run can be resumed from step 0, the last good state" in window.log.toPlainText()  # not where it stopped
        show_tab(window.tabs, "Runs")
        select_rows(table, [0])
        note = window.runs_panel.selected_note
        assert note.isVisible() and note.text() == f"{table.topLevelItem(0).text(0)}: {table.topLevelItem(0).text(6)}"  # the column is off-screen at 1366 px
        click(window.runs_panel.buttons["Resume"])  # its first line said nothing of where it went on (step 0 here)
        qtbot.waitUntil(lambda: len(dialogs.of("offer")) > offers, timeout=LONG)  # LR 50 again: it blows up again
        assert ", resumed at step 0" in window.log.toPlainText()
        dialogs.choose("Roll back")
        qtbot.waitUntil(lambda: window.live.state == "finished", timeout=LONG)
        show_tab(window.tabs, "Runs")  # Resume showed the Training tab
        click(window.runs_panel.buttons["Refresh"])
        select_rows(table, [0])
        assert table.topLevelItem(0).text(3) == "finished" and table.topLevelItem(0).text(6) == ""
        assert not window.runs_panel.buttons["Resume"].isEnabled()  # it offered Resume, then said "nothing to resume"
    else:  # resumed at LR 50, it explodes again at once: paused by the next fault, not failed
        qtbot.waitUntil(lambda: len(dialogs.of("offer")) > offers or window.live.state == "finished", timeout=LONG)
    assert window.live.state != "failed" and "Error" not in window.log.toPlainText()


def test_stopping_from_the_toolbar_takes_the_box_away(qtbot, window, dialogs):
    exploding_run(qtbot, window, dialogs)
    box = dialogs.of("offer")[-1].box
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.live.state == "stopped", timeout=LONG)
    assert not box.isVisible()  # its buttons would act on a run that has ended


def test_a_fault_answered_another_way_takes_its_box_away(qtbot, window, dialogs):
    """Answered elsewhere (the toolbar here; a served run's own rollback policy when attached), the box stayed: its
    Roll back then rolled the run back a second time, cutting its LR 100 times."""
    exploding_run(qtbot, window, dialogs)
    box = dialogs.of("offer")[-1].box
    offers = len(dialogs.of("offer"))
    trigger(window.pause_action)  # paused by the fault: the action resumes
    qtbot.waitUntil(lambda: len(dialogs.of("offer")) > offers or window.live.state in ("running", "finished"), timeout=LONG)
    assert not box.isVisible()


def test_a_run_whose_folder_is_deleted_while_it_trains_in_the_window_finishes_with_its_record_written_back(qtbot, window,
                                                                                                          monkeypatch):
    """`rm -rf` of the run's folder: the window said "finished" of a run whose record was gone (helper-127)."""
    from helpers import delete_the_run_folder_mid_run

    from engine.store import read_meta, read_steps

    deleted = delete_the_run_folder_mid_run(monkeypatch)
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    run_dir = deleted[0]
    assert f"the run folder {run_dir} was deleted while the run trained: its record was written back" in window.log.toPlainText()
    assert window.live.state == "finished" and read_meta(run_dir)["state"] == "finished"
    assert read_steps(run_dir)["step"].tolist() == list(range(int(read_meta(run_dir)["total_steps"])))  # every step kept


def test_resume_while_the_runs_folder_is_still_moved_away_is_refused_and_goes_on_once_it_is_back(qtbot, launch, monkeypatch,
                                                                                                  tmp_path):
    """The folder moved away paused the run; Resume before it was back trained to "finished", nothing written after the
    pause (helper-128)."""
    from pathlib import Path

    from engine.store import read_meta, read_steps, writer

    real, moved, away = writer.write_checkpoint, [], tmp_path / "bin"

    def moving(run_dir, payload, step):
        if step > 0 and not moved:
            moved.append(Path(run_dir))
            Path(run_dir).rename(away)
        return real(run_dir, payload, step)

    monkeypatch.setattr(writer, "write_checkpoint", moving)
    window = launch({**SMALL, "epochs": 4})
    trigger(window.start_action)
    said = "its store cannot be written (the log says why and what to do): Resume once it can"
    qtbot.waitUntil(lambda: window.live.state == "paused" and window.status.text().endswith(said), timeout=LONG)
    assert f"put it back at {moved[0]}" in window.log.toPlainText()
    trigger(window.pause_action)  # Resume, the folder still away
    qtbot.waitUntil(lambda: "not resumed: the run store at" in window.log.toPlainText(), timeout=LONG)
    assert window.live.state == "paused" and window.status.text().endswith(said)
    away.rename(moved[0])
    trigger(window.pause_action)  # Resume
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    assert window.live.state == "finished" and read_meta(moved[0])["state"] == "finished"
    assert read_steps(moved[0])["step"].tolist() == list(range(88))  # nothing lost


def test_a_run_paused_by_a_store_that_cannot_be_written_says_so_on_the_status_line(qtbot, window, monkeypatch):
    """A full disk paused the run, and the status bar said only "paused · epoch 7/30 · 137/660 steps": why, and what
    to do, were in the log alone (helper-81)."""
    import errno

    from engine.store import writer

    real = writer.write_checkpoint

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer, "RETRY_SECONDS", 0.0)
    monkeypatch.setattr(writer, "write_checkpoint", full)
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    said = "its store cannot be written (the log says why and what to do): Resume once it can"
    qtbot.waitUntil(lambda: window.status.text().startswith("paused · ") and window.status.text().endswith(said), timeout=LONG)
    assert "cannot be written (" in window.log.toPlainText() and "free space on the disk that holds" in window.log.toPlainText()
    monkeypatch.setattr(writer, "write_checkpoint", real)  # space freed
    trigger(window.pause_action)  # Resume
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    assert said not in window.status.text() and "writes again; nothing was lost" in window.log.toPlainText()


def test_a_file_where_the_runs_checkpoints_folder_belongs_is_named_and_moving_it_away_lets_the_run_go_on(qtbot, window, monkeypatch,
                                                                                                        tmp_path):
    """A sync tool made the run's `checkpoints` a file: the log said "check the disk that holds …", of a disk that was
    fine, and the status line sent the user to the log for "what to free"."""
    import shutil
    from pathlib import Path

    from engine.store import writer

    real, blocking = writer.write_checkpoint, []

    def synced(run_dir, payload, step):
        if not blocking:
            folder = Path(run_dir) / "checkpoints"
            shutil.rmtree(folder, ignore_errors=True)
            folder.write_text("")
            blocking.append(folder)
        return real(run_dir, payload, step)

    monkeypatch.setattr(writer, "RETRY_SECONDS", 0.0)
    monkeypatch.setattr(writer, "write_checkpoint", synced)
    trigger(window.start_action)
    said = "its store cannot be written (the log says why and what to do): Resume once it can"
    qtbot.waitUntil(lambda: window.live.state == "paused" and window.status.text().endswith(said), timeout=LONG)
    log = window.log.toPlainText()
    assert f"(checkpoints is a file, not a folder): move or rename the file {blocking[0]} (the run keeps a folder there)" in log
    assert "check the disk" not in log, log
    blocking[0].rename(tmp_path / "checkpoints-moved")
    trigger(window.pause_action)  # Resume
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    assert "writes again; nothing was lost" in window.log.toPlainText()


def test_a_run_cut_off_by_a_killed_app_is_named_at_the_next_launch(qtbot, launch):
    """After a SIGKILL the window opened idle, saying nothing of the run it lost: the Runs tab alone listed it
    interrupted (helper-81)."""
    import sqlite3

    from gui_fixtures import SMALL

    from engine.store.database import DB_NAME

    first = launch({**SMALL, "epochs": 40})
    trigger(first.start_action)
    qtbot.waitUntil(lambda: first.live.step >= 3, timeout=LONG)
    trigger(first.stop_action)
    qtbot.waitUntil(lambda: first.last_run is not None, timeout=LONG)
    run_dir, run_id = first.live.run_dir, first.live.run_id
    with sqlite3.connect(f"{run_dir}/{DB_NAME}") as db:  # as a killed process leaves it: "running", its pid gone
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?,?)", [("state", "running"), ("pid", "999999999")])
    again = launch({**SMALL, "epochs": 40})
    said = again.log.toPlainText()
    assert f"the last run, {run_id} (digits), was cut off at step " in said and "press Resume to go on" in said
    first_launch = first.log.toPlainText()
    assert "was cut off" not in first_launch


def set_lr_while_paused(qtbot, window, lr: str, step: int) -> None:
    """Pause the run at ``step`` or later, Set LR now to ``lr`` (typed, Enter) and resume."""
    edits = window.editor.history.count()
    qtbot.waitUntil(lambda: window.live.step >= step, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    type_into(window.editor.set_lr, lr)
    qtbot.keyClick(window.editor.set_lr, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.editor.history.count() > edits, timeout=LONG)
    trigger(window.pause_action)


def test_after_a_rollback_the_lr_axis_fits_the_lrs_left(qtbot, launch, dialogs):
    """LR 50 set mid-run blew up; rolled back, its steps were gone but the log axis kept 10², squeezing the LRs left
    (0.003 to 0.2) into its lower half although Follow was on (helper-79)."""
    window = launch({"image_size": 16, "epochs": 3})
    choose(window.editor.preset, "constant")
    type_into(window.editor.peak, "0.0001")
    click(window.editor.use_button)
    trigger(window.start_action)
    set_lr_while_paused(qtbot, window, "0.1", 2)  # the LRs kept span 10⁻⁴ to 0.1: the old axis held them
    set_lr_while_paused(qtbot, window, "50", 24)  # after the first epoch's end, the last good state
    qtbot.waitUntil(lambda: len(dialogs.of("offer")) == 1, timeout=LONG)
    dialogs.choose("Roll back")
    qtbot.waitUntil(lambda: "rolled back to step 22" in window.log.toPlainText(), timeout=LONG)
    lr = window.lr
    qtbot.waitUntil(lambda: len(lr.points) and not lr.dirty, timeout=LONG)  # redrawn since
    assert lr.follow.isChecked() and lr.y_bounds()[1] < 1
    assert lr.plot.getViewBox().viewRange()[1] == pytest.approx(padded_log_range(*lr.y_bounds()))
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.live.state == "stopped", timeout=LONG)


def test_a_run_that_fails_after_it_started_gives_the_window_back_as_a_run_that_ended_does(qtbot, launch, dialogs, monkeypatch):
    """A run whose task failed once it trained (here its store failed to close: the disk went away) was let go of without
    what ends a run: the Groups tab kept the run's groups beside resnet18, chosen during the run for the next one, and
    Export wrote the editor's schedule, not the run's."""
    from engine.store.writer import RunStore

    real = RunStore.close

    def lost_disk(store, *args, **kwargs):
        real(store, *args, **kwargs)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(RunStore, "close", lost_disk)
    window = launch({"image_size": 16, "epochs": 3})
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 2, timeout=LONG)
    run_groups = window.group_table.draft.names
    choose(window.config_panel.editors["model"], "resnet18")
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: not window.controller.training, timeout=LONG)
    assert "Input/output error" in window.status.text() and window.start_action.isEnabled()
    assert window.group_table.draft.names[0] == "stem" and window.group_table.draft.names != run_groups
    assert "resnet18, chosen during the run, is the next run's model: the Groups tab shows its groups" in window.log.toPlainText()
    dialogs.answer("save_path", "")
    trigger(window.export_action)
    assert dialogs.of("save_path")[-1].title == "Export the last run's schedule (0 edits)"
