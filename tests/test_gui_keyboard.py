"""Getting around the window with Tab, as a keyboard user does (helper-83 findings 3 and 5)."""

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QTableWidget, QTabWidget, QTreeWidget

from gui.driving import show_tab

pytest.importorskip("pytestqt")


def into_view(widget) -> None:
    """Click every tab that ``widget`` lies in, outermost first."""
    tabs = []
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QTabWidget):
            tabs.append(parent)
        parent = parent.parentWidget()
    for tab_widget in reversed(tabs):
        index = next(i for i in range(tab_widget.count()) if tab_widget.widget(i).isAncestorOf(widget))
        show_tab(tab_widget, tab_widget.tabText(index))


def tab(qtbot, window):
    """Press Tab where the focus is; return the widget that has it then."""
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Tab)
    return QApplication.focusWidget()


def test_tab_leaves_every_table_at_once(qtbot, window):
    """Tab moved one cell in the dataset's class table: 65 presses and the focus was still in it."""
    tables = window.findChildren(QTableWidget) + window.findChildren(QTreeWidget)
    assert len(tables) >= 6  # classes, segments, groups, runs (a tree of runs and tunes), tune trials, range-test suggestions
    for table in tables:
        into_view(table)
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(5, 5))  # its first cell, if any
        qtbot.waitUntil(table.hasFocus)
        after = tab(qtbot, window)
        header = table.headerItem().text(0) if isinstance(table, QTreeWidget) else table.horizontalHeaderItem(0).text()
        assert after is not table and not table.isAncestorOf(after), f"Tab stayed in the table of {header!r}"


def test_tab_passes_the_plots_by_and_reaches_the_schedule_editor(qtbot, window):
    """The four plots took a Tab stop each and showed no focus; past them and the class table lies the editor."""
    plots = (window.loss, window.lr, window.accuracy, window.momentum)
    assert window.momentum.isVisible()
    visited = [tab(qtbot, window) for _ in range(40)]
    assert not any(plot.widget in visited for plot in plots)
    for plot in plots:  # the buttons beside each plot stay reachable
        assert {plot.log_y, plot.follow, plot.png_button, plot.csv_button} <= set(visited)
    assert window.editor.peak in visited
