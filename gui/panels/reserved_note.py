"""A note as tall as the longest thing it may say, so that what is below it stays put as it changes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel


class ReservedNote(QLabel):
    """A word-wrapped note that keeps the height of the longest text it was told it may say, at its width, and keeps
    it while hidden: a note that grew a line or two, or came and went, moved the buttons under it as the user aimed."""

    def __init__(self):
        super().__init__()
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        kept = self.sizePolicy()
        kept.setRetainSizeWhenHidden(True)
        self.setSizePolicy(kept)
        self.longest = ""

    def say(self, text: str, longest: str) -> None:
        """Show ``text``, with room kept for ``longest``."""
        self.longest = longest
        self.setText(text)
        self._reserve()

    def _reserve(self) -> None:
        shown = self.text()
        self.setText(self.longest)
        room = self.heightForWidth(self.width())
        self.setText(shown)
        # heightForWidth gives -1 before the note has a width or a text, which Qt refuses as a minimum (a warning each time).
        self.setMinimumHeight(max(0, room, self.heightForWidth(self.width())))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """A narrower panel wraps the longest text into more lines: the room is measured again."""
        super().resizeEvent(event)
        self._reserve()
