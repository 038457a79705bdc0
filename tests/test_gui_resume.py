"""Resuming a stored run from the Runs tab: what the run keeps of its own and what the window gives it."""

import pytest
from gui_fixtures import LONG, SMALL
from test_gui_fine_tuning import groups_tab

from gui.driving import click, select_rows, show_tab, trigger, type_into

pytest.importorskip("pytestqt")


def stopped_then_checkpoint_typed(qtbot, window, seconds: str) -> None:
    """Start a run, stop it, then type ``seconds`` in the Configuration tab's checkpoint (s) and select the run to resume."""
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= 2, timeout=LONG)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None and not window.controller.training, timeout=LONG)
    show_tab(groups_tab(window), "Configuration")
    type_into(window.config_panel.editors["checkpoint_seconds"], seconds)
    show_tab(window.tabs, "Runs")
    qtbot.waitUntil(lambda: window.runs_panel.table.topLevelItemCount() == 1, timeout=LONG)
    select_rows(window.runs_panel.table, [0])


def test_a_resumed_run_checkpoints_as_the_configuration_tab_says(qtbot, launch):
    """The tab showed checkpoint (s) 7 as Resume was pressed, and the run resumed checkpointing every 60 s, as it was
    started: `lrscope resume --checkpoint-seconds 7` gives 7, the window gave what its tab did not show."""
    window = launch({**SMALL, "epochs": 3})
    stopped_then_checkpoint_typed(qtbot, window, "7")
    click(window.runs_panel.buttons["Resume"])
    qtbot.waitUntil(lambda: ", resumed at step " in window.log.toPlainText(), timeout=LONG)  # its start, with its settings
    assert window.live.config["checkpoint_seconds"] == 7  # as the run itself says it trains
    assert "checkpoint (s)" not in window.config_panel.followed.toolTip() + window.config_panel.followed.text()
    assert "checkpoints every 7 s as the Configuration tab says (it was started to checkpoint every 60 s)" in window.log.toPlainText()
    qtbot.waitUntil(lambda: not window.controller.training, timeout=LONG)


def test_resume_refuses_a_checkpoint_interval_the_tab_marks_invalid(qtbot, launch, dialogs):
    window = launch({**SMALL, "epochs": 3})
    stopped_then_checkpoint_typed(qtbot, window, "-1")
    click(window.runs_panel.buttons["Resume"])
    refused = dialogs.of("error")[-1]
    assert refused.title == "Cannot resume" and refused.text.startswith("checkpoint (s): ")
    assert refused.text.endswith("; correct it in the Configuration tab, then Resume again")
    assert not window.controller.training and window.start_action.isEnabled()
