"""The Delete key and right-click "Delete…" of a list or table (the Runs tab's runs, the dataset's library)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView


def add_delete_action(view: QAbstractItemView, text: str, tip: str, slot: Callable[[], None]) -> QAction:
    """A "Delete …" action (``text``: what it deletes, as the shortcut list tells two apart) on ``view``: its Delete key
    (while it has the focus) and its right-click menu. The tooltip ends with the key, as every action's does."""
    key = QKeySequence(QKeySequence.StandardKey.Delete)
    action = QAction(text, view, shortcut=key, shortcutContext=Qt.ShortcutContext.WidgetShortcut,
                     toolTip=f"{tip} ({key.toString(QKeySequence.SequenceFormat.NativeText)})")
    action.triggered.connect(lambda _checked=False: slot())
    view.addAction(action)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    return action
