"""A widget built the first time it is shown or asked for.

The Range test, Runs and Tune tabs hold four pyqtgraph plots (~100 ms of CPU to build) that a window pays for at every
launch, though a user may never open those tabs; each is built when its tab is first shown, or when something first
draws on it (a range test, a tune, a comparison started from another tab).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtWidgets import QVBoxLayout, QWidget

W = TypeVar("W", bound=QWidget)


class Deferred(QWidget, Generic[W]):
    """Holds the place of the widget ``build`` makes, and makes it when first shown or first asked for (``get``)."""

    def __init__(self, build: Callable[[], W], parent: QWidget | None = None):
        super().__init__(parent)
        self._build, self._widget = build, None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    def get(self) -> W:
        """The widget, built now if it was not yet."""
        if self._widget is None:
            self._widget = self._build()
            self.layout().addWidget(self._widget)
        return self._widget

    def existing(self) -> W | None:
        """The widget if it was built; None if not (nothing on it to clear or redraw)."""
        return self._widget

    def showEvent(self, event) -> None:
        self.get()
        super().showEvent(event)
