"""Driving the window with real input events, as a person does: the GUI tests and tools/walkthrough.py use these.

Every helper goes through what a user touches: an action (as its toolbar button or menu item does),
a key press where the keyboard focus is, a mouse click on a button, a tab or a table row, typing into
a field, a pick in a combo box's list, a folder dragged from a file manager and dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeySequence, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QTableWidget,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

LEFT = Qt.MouseButton.LeftButton


def wait_for(condition: Callable[[], object], timeout_s: float = 5.0) -> None:
    """Run the event loop until ``condition()`` holds (AssertionError after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s} s: {condition}")
        QTest.qWait(10)


def trigger(action: QAction) -> None:
    """Trigger an action as its toolbar button or menu item would (only when it is enabled)."""
    assert action.isEnabled(), f"{action.text()!r} is disabled"
    action.trigger()


def press(window: QWidget, keys: str | QKeySequence.StandardKey) -> None:
    """Press a shortcut (e.g. "Ctrl+E" or QKeySequence.StandardKey.Undo) where the keyboard focus is."""
    combination = QKeySequence(keys)[0]
    QTest.keyClick(QApplication.focusWidget() or window, combination.key(), combination.keyboardModifiers())


def click(button: QAbstractButton) -> None:
    """Click a button with the mouse (it must be on screen and enabled)."""
    assert button.isVisible() and button.isEnabled(), f"{button.text()!r} cannot be clicked"
    QTest.mouseClick(button, LEFT, pos=where_it_takes_clicks(button))


def double_click_item(view, item) -> None:
    """Double-click a list's item as a mouse does: press and release, then the second press (an item view opens only
    an item the first press landed on)."""
    at = view.visualItemRect(item).center()
    QTest.mouseClick(view.viewport(), LEFT, pos=at)
    QTest.mouseDClick(view.viewport(), LEFT, pos=at)


def where_it_takes_clicks(button: QAbstractButton) -> QPoint:
    """The middle of a button; for a check box or a radio button, of its indicator: it ignores clicks on the empty
    width a form gives it (a click at its centre there toggles nothing)."""
    indicators = ((QCheckBox, QStyle.SubElement.SE_CheckBoxIndicator), (QRadioButton, QStyle.SubElement.SE_RadioButtonIndicator))
    for kind, indicator in indicators:
        if isinstance(button, kind):
            option = QStyleOptionButton()
            button.initStyleOption(option)
            return button.style().subElementRect(indicator, option, button).center()
    return button.rect().center()


def type_into(field: QWidget, text: str) -> None:
    """Click into a field, select what is there and type ``text`` over it."""
    QTest.mouseClick(field, LEFT)
    select_all = QKeySequence(QKeySequence.StandardKey.SelectAll)[0]
    QTest.keyClick(field, select_all.key(), select_all.keyboardModifiers())
    QTest.keyClicks(field, text)


def choose(combo: QComboBox, text: str) -> None:
    """Open a combo box with the mouse and pick ``text`` in its list with the keyboard."""
    index = combo.findText(text)
    assert index >= 0, f"{text!r} is not offered"
    QTest.mouseClick(combo, LEFT)
    view = combo.view()
    wait_for(view.isVisible)
    QTest.keyClick(view, Qt.Key.Key_Home)
    for _ in range(index):
        QTest.keyClick(view, Qt.Key.Key_Down)
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert combo.currentText() == text


def hover(widget: QWidget, pos: QPoint) -> None:
    """Move the mouse to ``pos`` over ``widget``.

    The event goes to the widget's own window, the one the user is looking at. QTest's widget overload moves
    the system cursor instead, and the offscreen platform hands that move to the first shown window under
    it: any other window open at that spot (a dialog, another test's window) would take it.
    """
    window = widget.window()
    QTest.mouseMove(window.windowHandle(), widget.mapTo(window, pos))


def wheel(widget: QWidget, pos: QPoint, notches: int = 1) -> None:
    """Turn the mouse wheel ``notches`` clicks (away from the user: positive) with the cursor at ``pos`` over ``widget``.

    The event goes to the innermost widget under the cursor and, while that one ignores it, to its parents, as Qt
    passes on the platform's own wheel events (QTest has no wheel, and a sent event is not passed on)."""
    window = widget.window()
    at = widget.mapTo(window, pos)
    target = window.childAt(at) or window
    while target is not None:
        local = QPointF(target.mapFrom(window, at))
        event = QWheelEvent(local, QPointF(window.mapToGlobal(at)), QPoint(), QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        event.ignore()
        QApplication.sendEvent(target, event)
        if event.isAccepted() or target.isWindow():
            return
        target = target.parentWidget()


def drag(widget: QWidget, start: QPoint, end: QPoint, steps: int = 4) -> None:
    """Press the left button at ``start`` over ``widget``, move to ``end`` in ``steps`` moves and release."""
    window = widget.window()
    handle, none = window.windowHandle(), Qt.KeyboardModifier.NoModifier
    QTest.mousePress(handle, LEFT, none, widget.mapTo(window, start))
    for step in range(1, steps + 1):
        QTest.mouseMove(handle, widget.mapTo(window, start + (end - start) * (step / steps)))
    QTest.mouseRelease(handle, LEFT, none, widget.mapTo(window, end))


def show_tab(tabs: QTabWidget, title: str) -> None:
    """Click the tab called ``title``."""
    bar = tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == title)
    QTest.mouseClick(bar, LEFT, pos=bar.tabRect(index).center())
    assert tabs.currentIndex() == index


def select_rows(view: QTableWidget | QTreeWidget, rows) -> None:
    """Click the first row, Ctrl+click the others: each a row's number (a tree's top-level row) or a tree's row
    (``QTreeWidgetItem``) in sight."""
    for index, row in enumerate(rows):
        if isinstance(row, QTreeWidgetItem):
            item = row
        else:
            item = view.topLevelItem(row) if isinstance(view, QTreeWidget) else view.item(row, 0)
        centre = view.visualItemRect(item).center()
        modifier = Qt.KeyboardModifier.ControlModifier if index else Qt.KeyboardModifier.NoModifier
        QTest.mouseClick(view.viewport(), LEFT, modifier, centre)


def drop_folder(window: QWidget, folder, at=None) -> bool:
    """Drag ``folder`` from a file manager and drop it at ``at`` (the window's centre by default).

    The events go to the widget under the point, as Qt sends them; Qt passes them on to the
    nearest ancestor that accepts drops. Returns whether the drop was accepted.
    """
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    point = at or window.rect().center()
    target = window.childAt(point) or window
    local = target.mapFrom(window, point)
    copy, none = Qt.DropAction.CopyAction, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(local, copy, mime, LEFT, none)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    QApplication.sendEvent(target, QDragMoveEvent(local, copy, mime, LEFT, none))
    drop = QDropEvent(QPointF(local), copy, mime, LEFT, none)
    QApplication.sendEvent(target, drop)
    return drop.isAccepted()
