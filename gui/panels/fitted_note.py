"""A note of fixed height that says as much of a list as its lines hold, and counts the rest."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel


class FittedNote(QLabel):
    """A word-wrapped note ``lines`` high whatever it says, so that what is below it never moves. A note listing more
    than its lines hold lists the first items and counts the others (``compose(shown)``); the tooltip lists them all."""

    def __init__(self, lines: int, text: str = ""):
        super().__init__(text)
        self.setWordWrap(True)
        self.setFixedHeight(lines * self.fontMetrics().lineSpacing() + 4)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.compose: Callable[[int], str] = lambda _shown: text
        self.items = 0

    def say(self, compose: Callable[[int], str], items: int) -> None:
        """Show ``compose(shown)`` for the most of the ``items`` that fit (all of them in the tooltip)."""
        self.compose, self.items = compose, items
        self.setToolTip(compose(items))
        self._fit()

    def _fit(self) -> None:
        for shown in range(self.items, -1, -1):
            self.setText(self.compose(shown))
            if self.heightForWidth(self.width()) <= self.height():
                return

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """A narrower dock holds fewer items: they are listed again for the new width."""
        super().resizeEvent(event)
        self._fit()
