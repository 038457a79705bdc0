"""Fine-tuning in the window, through its controls: the pretrained switch, the group table, Unfreeze now and undo."""

import numpy as np
import pytest
from helpers import SAMPLE

pytest.importorskip("pytestqt")
LONG = 240_000
STAGES = ("stem", "stage1", "stage2", "stage3", "stage4", "head")
FREEZE = str(1437 // 32)  # steps of the head-only epoch: the training images (80% of 1797) in batches of 32


@pytest.fixture
def window(qtbot, hub_weights):
    from gui.main_window import MainWindow
    from gui.settings import open_settings, save_config

    settings = open_settings()
    save_config(settings, {"image_size": 16, "epochs": 2, "batch_size": 32, "augment": "none"})
    main = MainWindow(settings, SAMPLE)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(lambda: main.dataset is not None, timeout=LONG)
    yield main
    main.close()


def type_into(qtbot, editor, text):
    editor.selectAll()
    qtbot.keyClicks(editor, text)


def show_tab(qtbot, window, title):
    """Click the tab called ``title``."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QTabWidget

    tabs = next(t for t in window.findChildren(QTabWidget) if title in [t.tabText(i) for i in range(t.count())])
    bar = tabs.tabBar()
    index = [tabs.tabText(i) for i in range(tabs.count())].index(title)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    qtbot.waitUntil(lambda: tabs.currentIndex() == index)


def edit_cell(qtbot, table, row, column, text):
    """Click a cell, F2, type, Enter (as a user edits a table)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit

    table.scrollToItem(table.item(row, column))
    rect = table.visualItemRect(table.item(row, column))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.keyClick(table, Qt.Key.Key_F2)
    editing = QAbstractItemView.State.EditingState
    qtbot.waitUntil(lambda: table.state() == editing and isinstance(QApplication.focusWidget(), QLineEdit))
    editor = QApplication.focusWidget()
    type_into(qtbot, editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.state() != editing)


def choose_pretrained_mobilenet(qtbot, window):
    from PySide6.QtCore import Qt

    panel = window.config_panel
    qtbot.keyClicks(panel.editors["model"], "mobilenet_v2")
    qtbot.mouseClick(panel.editors["pretrained"], Qt.MouseButton.LeftButton)
    type_into(qtbot, panel.editors["freeze_epochs"], "1")
    table = window.group_table.table
    qtbot.waitUntil(lambda: table.rowCount() == 6 and table.item(1, 2).text() == FREEZE)
    show_tab(qtbot, window, "Groups")


def test_the_pretrained_switch_shows_the_groups_and_previews_each(qtbot, window):
    choose_pretrained_mobilenet(qtbot, window)
    table = window.group_table.table
    assert [table.item(i, 0).text() for i in range(6)] == list(STAGES)
    assert table.item(5, 1).text() == "12,810" and table.item(5, 2).text() == "0"  # the new head: 1280 × 10 + 10
    assert window.lr.groups == STAGES
    steps, lrs = window.lr.plan
    assert lrs.shape[1] == 6 and np.all(lrs[steps < int(FREEZE), :5] == 0) and np.all(lrs[steps < int(FREEZE), 5] > 0)
    edit_cell(qtbot, table, 4, 3, "0.5")
    qtbot.waitUntil(lambda: window.group_table.draft.rows[4].multiplier == 0.5)
    steps, lrs = window.lr.plan
    assert np.allclose(lrs[steps >= int(FREEZE), 4] / lrs[steps >= int(FREEZE), 5], 0.5)
    edit_cell(qtbot, table, 4, 3, "-3")
    assert "multiplier must be from 0" in window.group_table.problem.text() and table.item(4, 3).text() == "0.5"


def test_unfreeze_now_mid_run_is_recorded_and_undoable(qtbot, window):
    from PySide6.QtCore import Qt

    choose_pretrained_mobilenet(qtbot, window)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: window.live.step >= 2, timeout=LONG)
    window.pause_action.trigger()
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    assert window.group_table.unfreeze.isEnabled()
    window.unfreeze_action.trigger()
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)
    table = window.group_table.table
    assert table.item(0, 2).text() == table.item(4, 2).text() == str(window.live.step)
    at = window.live.step
    window.pause_action.trigger()
    qtbot.waitUntil(lambda: window.live.step >= at + 2, timeout=LONG)
    window.pause_action.trigger()
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    qtbot.keyClick(window, Qt.Key.Key_U, modifier=Qt.KeyboardModifier.ControlModifier)  # Undo last edit
    qtbot.waitUntil(lambda: window.editor.history.count() == 2, timeout=LONG)
    assert table.item(0, 2).text() == FREEZE
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    edits = window.last_run.run_schedule.edits
    assert [e.edit.kind for e in edits] == ["unfreeze", "undo"]
    unfrozen, undone = edits[0].step, edits[1].step
    window.bridge.drain()
    steps = window.lr.points.view(0)
    lrs = np.column_stack([window.lr.points.view(i + 1) for i in range(6)])
    body = lrs[:, :5]
    assert np.all(body[steps < unfrozen] == 0) and np.all(body[(steps >= unfrozen) & (steps < undone)] > 0)
    assert np.all(body[steps >= undone] == 0) and np.all(lrs[:, 5] > 0)
