"""Everything the engine has to tell: log lines, warnings, faults and their advice."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LINES = 5000


class LogPanel(QPlainTextEdit):
    """A read-only, bounded log."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        # One line at least, the newest (it scrolls): the dock's default minimum (86 px) made the window 635 px tall at
        # its smallest, past a 600 px screen, its status bar off the bottom (helper-83); two lines left no room there
        # for the stability warning's bar (helper-124).
        margins = 2 * (self.frameWidth() + round(self.document().documentMargin()))
        self.setMinimumHeight(self.fontMetrics().lineSpacing() + margins)

    def add(self, text: str, level: str = "info") -> None:
        """Append a line, marked by its level."""
        mark = {"warning": "⚠ ", "error": "✖ "}.get(level, "")
        self.appendPlainText(f"{time.strftime('%H:%M:%S')}  {mark}{text}")
