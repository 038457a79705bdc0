"""The window's tables: named columns, no row numbers, one Tab stop."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QTableWidget, QWidget


class Table(QTableWidget):
    """A table with ``columns`` for headers and no row numbers that Tab leaves and the arrows move within.

    Qt's tables move one cell per Tab: keyboard users were trapped in the dataset's class table (65 presses and still
    there) and never reached the schedule editor beyond it."""

    def __init__(self, columns: Sequence[str], parent: QWidget | None = None):
        super().__init__(0, len(columns), parent)
        self.setHorizontalHeaderLabels(list(columns))
        self.verticalHeader().setVisible(False)
        self.setTabKeyNavigation(False)
