"""Labelled fields in two columns when the panel is wide enough for them, else in one: a one-cycle's ten fields in one
column ran 280 px below the Schedule dock's fold at 1366×768, and side by side they fit."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

COLUMN_GAP = 12  # between one column's fields and the next column's labels, so that a field and a label do not read as one
# A short form reads down one column, where a long value (a free-form segment's keypoints) keeps the whole width.
TWO_COLUMNS_FROM = 6


class FieldColumns(QWidget):
    """(label, field) rows, down the first column and then the second (as a page is read) when both fit."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(1, 1)  # the fields take the width left over; the labels keep theirs
        self.rows: list[tuple[QLabel, QWidget]] = []
        self.heights: list[int] = []  # each field's height as added, before a red outline for a refused value changed it
        self.first_column = 0  # how many rows the first column holds; all of them: one column

    def add_row(self, label: QLabel, field: QWidget) -> None:
        """Add a field and its label after the others."""
        label.setBuddy(field)
        self.rows.append((label, field))
        self.heights.append(field.sizeHint().height())
        self._place(self._first_column_for(self.width()))

    def minimumSizeHint(self) -> QSize:
        """One column's width (two columns are laid out only where they fit), the height as laid out now: a minimum of
        two columns' width would keep the panel from ever narrowing back to one."""
        return QSize(self._width_of(self.rows), self.grid.minimumSize().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        first_column = self._first_column_for(event.size().width())
        if first_column != self.first_column:
            self._place(first_column)

    def _first_column_for(self, width: int) -> int:
        """How many rows go in the first column at ``width``: the split into two that is narrower, if it fits."""
        if len(self.rows) < TWO_COLUMNS_FROM:
            return len(self.rows)
        half = len(self.rows) // 2
        splits = {self._two_columns_width(split): split for split in (len(self.rows) - half, half)}
        narrowest = min(splits)
        return splits[narrowest] if width >= narrowest else len(self.rows)

    def _two_columns_width(self, split: int) -> int:
        return self._width_of(self.rows[:split]) + self.grid.horizontalSpacing() + COLUMN_GAP + self._width_of(self.rows[split:])

    def _width_of(self, rows) -> int:
        """The narrowest a column of ``rows`` can be: its longest label beside its widest field."""
        if not rows:
            return 0
        spacing = self.grid.horizontalSpacing()
        return max(label.sizeHint().width() for label, _ in rows) + spacing + max(_narrowest(field) for _, field in rows)

    def _place(self, first_column: int) -> None:
        self.first_column = first_column
        for label, field in self.rows:
            self.grid.removeWidget(label)
            self.grid.removeWidget(field)
        tallest = [0] * max(self.grid.rowCount(), len(self.rows))  # rows a longer column used before are empty now
        for index, (label, field) in enumerate(self.rows):
            column, row = (0, index) if index < first_column else (1, index - first_column)
            self.grid.addWidget(label, row, 3 * column)
            # At the top of a row no lower than it was: a red outline made a field 2 px shorter, and it moved 1 px under
            # the cursor (and the rows below it) as a refused value was typed.
            self.grid.addWidget(field, row, 3 * column + 1, Qt.AlignmentFlag.AlignTop)
            tallest[row] = max(tallest[row], self.heights[index])
        for row, height in enumerate(tallest):
            self.grid.setRowMinimumHeight(row, height)
        two = first_column < len(self.rows)
        self.grid.setColumnMinimumWidth(2, COLUMN_GAP if two else 0)
        self.grid.setColumnStretch(4, 1 if two else 0)
        self.updateGeometry()


def _narrowest(field: QWidget) -> int:
    """How narrow ``field`` can be laid out: the width it was given, or else its own minimum."""
    return field.minimumWidth() or field.minimumSizeHint().width()
