"""The parameter group table: name, parameter count, frozen until, LR multiplier; editable before and during a run."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTableWidgetItem, QVBoxLayout, QWidget

from engine.schedules.groups import GroupSetting

from ..group_draft import GroupDraft
from .table import Table

# Short headers: at 1366×768 the dock is about 250 px wide, and "frozen until step" pushed "LR ×" out of sight.
COLUMNS = ("group", "params", "frozen to", "LR ×")
FROZEN, MULTIPLIER = 2, 3


class GroupTable(QWidget):
    """A view over a GroupDraft. ``groupsEdited`` carries every group's setting after a cell edit;
    ``unfreezeRequested`` the groups to unfreeze now (the selected frozen ones, or () for every frozen group);
    ``unfreezeOffered`` whether there is anything to unfreeze now and the Unfreeze button's words for it (the window's
    Unfreeze action follows both)."""

    groupsEdited = Signal(object)
    unfreezeRequested = Signal(object)
    unfreezeOffered = Signal(bool, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.draft, self.step, self.running = GroupDraft(), 0, False
        self.table = Table(COLUMNS)
        self.table.setToolTip("Each layer group of the model, input to output. Edit 'frozen to' (the step it is frozen until; 0: "
                              "trainable from the start) and 'LR ×' (the group's LR is the schedule's times this); during a run an edit "
                              "applies from the current step and can be undone.")
        self.table.itemChanged.connect(self._cell_edited)
        self.table.itemSelectionChanged.connect(self._update_button)
        self.unfreeze = QPushButton("Unfreeze all now")
        self.unfreeze.clicked.connect(self._unfreeze_clicked)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #d62728;")
        self.problem.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.unfreeze)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Parameter groups"))
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.problem)
        self._update_button()

    def show_groups(self, outline: Sequence[tuple[str, int]], settings: Sequence[GroupSetting]) -> None:
        """Show the model's groups (name, parameter count) with ``settings``; nothing is emitted."""
        self.draft.load(outline, settings)
        self._refresh()

    def show_settings(self, settings: Sequence[GroupSetting], step: int) -> None:
        """The settings in force at ``step`` of a run (the sizes stay); nothing is emitted."""
        self.step = step
        outline = [(row.name, row.parameters) for row in self.draft.rows]
        if outline:
            self.draft.load(outline, settings)
            self._refresh()

    def set_running(self, running: bool, step: int = 0) -> None:
        """Whether edits go to a running job (then Unfreeze is offered while something is frozen)."""
        self.running, self.step = running, step
        self._update_button()

    def set_step(self, step: int) -> None:
        """The run's current step (what is frozen now depends on it)."""
        if step != self.step:
            self.step = step
            self._update_button()

    def _refresh(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.draft.rows))
        for index, row in enumerate(self.draft.rows):
            cells = (row.name, f"{row.parameters:,}", str(row.frozen_until), f"{row.multiplier:.4g}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column < FROZEN:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(index, column, item)
        self.table.resizeColumnsToContents()
        self.table.blockSignals(False)
        self._update_button()

    def _update_button(self) -> None:
        possible = self.running and bool(self.draft.frozen_at(self.step))
        self.unfreeze.setEnabled(possible)
        # Says which: a cell left selected from editing its multiplier made "Unfreeze now" unfreeze that group alone
        # (helper-77).
        chosen = self._chosen()
        named = ", ".join(chosen) if len(chosen) <= 2 else f"{len(chosen)} selected groups"
        self.unfreeze.setText(f"Unfreeze {named} now" if chosen else "Unfreeze all now")
        self.unfreezeOffered.emit(possible, self.unfreeze.text())

    def _chosen(self) -> tuple[str, ...]:
        """The selected groups still frozen now (none: every frozen group is meant)."""
        selected = {self.draft.rows[index.row()].name for index in self.table.selectedIndexes() if index.row() < len(self.draft.rows)}
        return tuple(name for name in self.draft.frozen_at(self.step) if name in selected)

    @Slot(QTableWidgetItem)
    def _cell_edited(self, item: QTableWidgetItem) -> None:
        name = self.draft.rows[item.row()].name
        text, frozen = item.text().strip(), item.column() == FROZEN
        try:
            value = int(text) if frozen else float(text)
        except ValueError:
            self._refuse(f"group {name}: expected {'a step number' if frozen else 'a number'}, got {text!r}")
            return
        try:
            (self.draft.set_frozen_until if frozen else self.draft.set_multiplier)(name, value)
        except ValueError as error:
            self._refuse(str(error))
            return
        self.problem.clear()
        self._refresh()
        self.groupsEdited.emit(self.draft.settings())

    def _refuse(self, problem: str) -> None:
        self.problem.setText(problem)
        self._refresh()

    @Slot()
    def _unfreeze_clicked(self) -> None:
        self.unfreezeRequested.emit(self._chosen())
