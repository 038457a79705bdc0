"""Reaching the schedule editor and every tab from the keyboard (helper-83 finding 4): no key focused the editor, Set LR
now or Scale the rest, or switched a tab, and the journey "edit the schedule, Apply from now" was not possible."""

import pytest
from gui_fixtures import LONG, paused_at
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractButton, QApplication, QDockWidget

from gui.driving import press, trigger

pytest.importorskip("pytestqt")


def typed(qtbot, text: str) -> None:
    """Type ``text`` and Enter where the focus is."""
    focused = QApplication.focusWidget()
    qtbot.keyClicks(focused, text)
    qtbot.keyClick(focused, Qt.Key.Key_Return)


def test_number_keys_show_the_tabs_and_put_the_focus_on_their_bar(qtbot, window):
    for number, title in enumerate(("Training", "Health", "Range test", "Runs", "Tune"), start=1):
        press(window, f"Ctrl+{number}")
        assert window.tabs.tabText(window.tabs.currentIndex()) == title
        assert QApplication.focusWidget() is window.tabs.tabBar()
    trigger(window.view_actions["Dataset and configuration"])  # hidden from the View menu: Alt+2 shows it again
    assert window.findChild(QDockWidget, "Dataset and configuration").isHidden()
    for number, title in enumerate(("Dataset", "Configuration", "Groups"), start=1):
        press(window, f"Alt+{number}")
        assert window.side_tabs.tabText(window.side_tabs.currentIndex()) == title and window.side_tabs.isVisible()
        assert QApplication.focusWidget() is window.side_tabs.tabBar()


def test_the_editor_from_the_keyboard_alone(qtbot, window, dialogs):
    """Peak LR typed, the preset used, a segment chosen, then in a run Set LR now and Scale the rest, by keys only."""
    trigger(window.view_actions["Schedule"])  # hidden from the View menu: the key shows it again
    press(window, "Ctrl+Shift+P")
    assert window.findChild(QDockWidget, "Schedule").isVisible() and QApplication.focusWidget() is window.editor.peak and window.editor.peak.hasSelectedText()  # typed over
    typed(qtbot, "0.3")
    assert window.editor.segments[0].max_lr == 0.3
    press(window, "Ctrl+Shift+S")
    assert QApplication.focusWidget() is window.editor.table
    assert not window.go_actions["Set LR now field"].isEnabled()  # no run: its field is disabled too
    paused_at(qtbot, window, 2)
    press(window, "Ctrl+Shift+N")
    assert QApplication.focusWidget() is window.editor.set_lr
    typed(qtbot, "0.05")
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)
    press(window, "Ctrl+Shift+X")
    assert QApplication.focusWidget() is window.editor.scale_by
    qtbot.keyClicks(window.editor.scale_by, "0.5")
    press(window, "Alt+S")  # the button's Alt key
    qtbot.waitUntil(lambda: window.editor.history.count() == 2, timeout=LONG)
    assert "×0.5" in window.editor.history.item(1).text()
    press(window, "F1")
    [listed] = dialogs.of("info")
    for text, key in (("Peak LR field", "Ctrl+Shift+P"), ("Segment table", "Ctrl+Shift+S"), ("Set LR now field", "Ctrl+Shift+N"),
                      ("Scale the rest field", "Ctrl+Shift+X"), ("Training tab", "Ctrl+1"), ("Groups tab", "Alt+3")):
        assert f"<tr><td>{text}</td><td>&nbsp;&nbsp;<b>{key}</b></td></tr>" in listed.text, listed.text
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.live.state == "stopped", timeout=LONG)


def test_no_two_alt_keys_clash(window):
    """An Alt key bound twice does neither thing; the menus' own (File, View, Go, Run, Help) come first."""
    keys = [QKeySequence.mnemonic(action.text()) for action in window.menuBar().actions()]
    keys += [button.shortcut() for button in window.findChildren(QAbstractButton) if not button.shortcut().isEmpty()]
    keys = [key.toString() for key in keys]
    assert len(keys) == len(set(keys)), keys
    assert {"Alt+U", "Alt+D", "Alt+M", "Alt+A", "Alt+L", "Alt+S"} <= set(keys)
