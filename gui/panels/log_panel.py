"""Everything the engine has to tell: log lines, warnings, faults and their advice."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LINES = 5000
# Two lines: the dock's default minimum (86 px) with the plots' made the window 635 px tall at its smallest, past a
# 600 px screen, its status bar off the bottom (helper-83).
MIN_HEIGHT = 44


class LogPanel(QPlainTextEdit):
    """A read-only, bounded log."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setMinimumHeight(MIN_HEIGHT)

    def add(self, text: str, level: str = "info") -> None:
        """Append a line, marked by its level."""
        mark = {"warning": "⚠ ", "error": "✖ "}.get(level, "")
        self.appendPlainText(f"{time.strftime('%H:%M:%S')}  {mark}{text}")
