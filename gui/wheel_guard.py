"""Scrolling a panel must not change the value under the cursor.

A spin box or combo box takes the mouse wheel only once it has the focus (clicked or tabbed into); until then the
wheel scrolls the panel it sits in. (Scrolling the Schedule dock changed the one-cycle's steps from 440 to 444 as the
cursor passed over the field, with no other sign.)
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QWidget


class WheelGuard(QObject):
    """Hands a wheel event to the scroll area around its widget while the widget is not focused."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or watched.hasFocus():
            return False
        area = next((w for w in ancestors(watched) if isinstance(w, QAbstractScrollArea)), None)
        if area is not None:
            QApplication.sendEvent(area.viewport(), event)  # what the panel gets where no field is under the cursor
        else:
            event.ignore()  # not in a scrolling panel: the parents may use it
        return True


def ancestors(widget: QWidget):
    """``widget``'s parent, its parent's parent, … up to its window."""
    while (widget := widget.parentWidget()) is not None:
        yield widget


def guard_wheel(widget: QWidget) -> None:
    """``widget`` and every spin box and combo box in it take the wheel only when focused."""
    found = widget.findChildren(QAbstractSpinBox) + widget.findChildren(QComboBox)
    for box in (widget, *found) if isinstance(widget, (QAbstractSpinBox, QComboBox)) else found:
        box.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not WheelFocus: the wheel alone gives no focus
        box.installEventFilter(WheelGuard(box))
