"""What the window says about a run's edits agrees with what it shows beside it."""

import re

import pytest
from gui_fixtures import LONG, SMALL, paused_with_lr_set

from gui.driving import click, trigger, type_into

pytest.importorskip("pytestqt")


def resumed_for(qtbot, window, steps: int) -> None:
    """Resume the paused run, let it train ``steps`` more, and pause it again."""
    at = window.live.step
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.step >= at + steps, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)


def test_after_a_run_with_an_undone_edit_the_log_counts_and_places_what_the_editor_shows(qtbot, launch):
    """A Set LR, another undone, then Scale the rest: the log's count and first step, and the segment table, each
    contradicted the editor beside them."""
    window = launch({**SMALL, "epochs": 10})
    editor = window.editor
    paused_with_lr_set(qtbot, window, "0.01", 3)
    resumed_for(qtbot, window, 2)
    type_into(editor.set_lr, "0.02")
    click(editor.set_now)
    qtbot.waitUntil(lambda: editor.history.count() == 2, timeout=LONG)
    resumed_for(qtbot, window, 2)
    click(editor.undo)
    qtbot.waitUntil(lambda: editor.history.count() == 3, timeout=LONG)
    resumed_for(qtbot, window, 2)
    type_into(editor.scale_by, "0.5")
    click(editor.scale_now)
    qtbot.waitUntil(lambda: editor.history.count() == 4, timeout=LONG)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: "the editor holds the run's schedule" in window.log.toPlainText(), timeout=LONG)
    said = window.log.toPlainText()
    # Counted as the history lists them: "with its 2 edits" sat beside a history of 4 (an edit and its undo among them).
    assert f"with its 2 edits in effect, of {editor.history.count()} made:" in said, said[-600:]
    # The piece shown takes over where the log says the run's steps end: "steps 0 to 18" beside "this schedule: steps 4–220".
    follows_to = re.search(r"steps 0 to (\d+) follow the run's", said).group(1)
    assert editor.length.text().endswith(f", in force from {follows_to}"), editor.length.text()
    # A constant has one LR: it read "0.005 → 0.005".
    assert [editor.table.item(0, column).text() for column in (0, 3)] == ["constant", "0.005"]


def test_a_run_that_learns_nothing_is_told_its_own_length_may_be_too_short_not_the_steps_so_far(qtbot, launch):
    """At epoch 2 of a 66-step run the warning said "44 steps may be too few": the steps so far, not the run's length."""
    window = launch({**SMALL, "epochs": 3, "seed": 3})  # a seed whose model, at this LR, answers one class throughout
    type_into(window.editor.peak, "1e-9")  # too low to learn anything
    click(window.editor.use_button)
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None and not window.controller.training, timeout=LONG)
    assert "The run's 66 steps may be too few" in window.log.toPlainText()
