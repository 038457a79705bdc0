"""A progress bar that hides itself while nothing is in progress."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar


class IdleHiddenProgress(QProgressBar):
    """A progress bar shown only while it has something to show: idle, the status bar's and the Tune tab's were empty boxes."""

    def __init__(self):
        super().__init__()
        self.setVisible(False)

    def setValue(self, value: int) -> None:  # noqa: N802 (Qt's name)
        super().setValue(value)
        self.setVisible(self.value() >= self.minimum())

    def reset(self) -> None:
        super().reset()
        self.setVisible(False)
