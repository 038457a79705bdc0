"""The status bar's line: cut with "…" to the width it has, whole in its tooltip."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel


class StatusLine(QLabel):
    """A one-line label that never widens the window: a long line (a killed run's resume command) was cut at the
    window's edge with nothing to say so. It shows what fits with "…", and the whole line as its tooltip;
    ``text()`` is the whole line."""

    def __init__(self, text: str = ""):
        super().__init__()
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.whole = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self.whole = text
        self.setToolTip(text)
        self._fit()

    def text(self) -> str:
        return self.whole

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        super().setText(self.fontMetrics().elidedText(self.whole, Qt.TextElideMode.ElideRight, max(0, self.contentsRect().width())))
