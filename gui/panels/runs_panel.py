"""Past runs: list them, open one read-only, overlay several, resume a stopped one, delete some."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.serve.access import served_access
from engine.store.reader import LIVE_STATES, RESUMABLE_STATES, list_runs
from engine.tune.record import tune_of

from .delete_action import add_delete_action
from .table import Table

COLUMNS = ("run", "dataset", "started", "state", "steps", "best val acc", "note")
DATASET_COLUMN = COLUMNS.index("dataset")
FOLLOW_MS = 2000  # how often a visible table re-reads the folder while a run in it is live or a run was added


class RunsPanel(QWidget):
    """A table of the runs under the runs folder."""

    openRequested = Signal(str)
    compareRequested = Signal(list)
    resumeRequested = Signal(str)
    attachRequested = Signal(str)
    exportRequested = Signal(str)
    deleteRequested = Signal(list)

    def __init__(self, root: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.root = root
        self._runs: dict = {}  # each listed run (RunInfo), by its folder
        self._served: set[str] = set()  # the folders of the listed runs a process serves
        self.table = Table(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Rows as tall as their text: Qt's default of 30 px showed three runs at 1366 x 768.
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setStretchLastSection(True)
        # Delete is the table's key and its right-click menu, not a seventh button: the row of six fills 1024 px.
        self.delete_action = add_delete_action(self.table, "Delete runs…", "Delete the selected runs and all they hold (metrics, checkpoints).",
                                               self._delete)
        self.note = QLabel()
        # The selected run's notes in full: at 1366 px the note column lies past the table's right edge.
        self.selected_note = QLabel()
        self.selected_note.setWordWrap(True)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for text, tip, slot in (
            ("Refresh", "Read the runs folder again.", self.refresh),
            ("Open read-only", "Show the selected run's curves in the training plots (nothing is changed). Enabled when one "
                               "run is selected.", self._with_one(self.openRequested)),
            ("Compare", "Overlay the loss and LR of the selected runs. Enabled when two or more are selected (click with Ctrl "
                        "or Shift held).", self._compare),
            ("Resume", "Continue the selected run from its last checkpoint. Enabled when one stopped or interrupted run "
                       "is selected.", self._with_one(self.resumeRequested)),
            ("Attach", "Follow and steer the selected served run; it keeps training if you detach or close the window. "
                       "Enabled when one run whose state says “served” is selected (train with --serve to serve one); "
                       "Open read-only shows any other.",
             self._with_one(self.attachRequested)),
            ("Export…", "Write the selected run's schedule, with its edits and results, to a file plain PyTorch can use "
                        "(and add it to its dataset's library). Enabled when one run is selected.", self._with_one(self.exportRequested)),
        ):
            button = self.buttons[text] = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        # A button that acts on one run is off unless one run is selected: with two, Export wrote the first of them.
        self.table.selectionModel().selectionChanged.connect(self._enable_for_selection)
        self._enable_for_selection()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Runs in {root}"))
        layout.addWidget(self.table)
        layout.addWidget(self.selected_note)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        self._live, self._listed_at = False, None
        # A run started elsewhere goes from "starting" to "running · served" to "finished" while the tab is open.
        self._follow = QTimer(self, interval=FOLLOW_MS, timeout=self._follow_changes)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._follow_changes()  # at once: a run started while the tab was hidden was missing for the timer's first 2 s
        self._follow.start()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._follow.stop()

    @Slot()
    def _follow_changes(self) -> None:
        if self._live or self._folder_time() != self._listed_at:
            self.refresh()

    def _folder_time(self) -> float | None:
        try:
            return self.root.stat().st_mtime
        except OSError:
            return None

    @Slot()
    def refresh(self) -> None:
        """List the runs again (the selected runs stay selected)."""
        selected = set(self._selected())
        self._listed_at = self._folder_time()
        runs, problems = list_runs(self.root)
        self._runs = {str(run.run_dir): run for run in runs}
        self._live = any(run.state in LIVE_STATES for run in runs)
        self._served = {str(run.run_dir) for run in runs if served_access(run.run_dir)}
        self.table.clearSelection()
        self.table.setRowCount(len(runs))
        for row, run in enumerate(reversed(runs)):
            accuracy = "-" if math.isnan(run.best_val_accuracy) else f"{100 * run.best_val_accuracy:.2f}%"
            state = f"{run.state} · served" if str(run.run_dir) in self._served else run.state
            # A tune's trials would look like ten runs of the user's own without the note saying what made them.
            note = "; ".join(run.notes)
            values = (run.run_id, run.dataset, run.started, state, f"{run.steps_done}/{run.total_steps}", accuracy, note)
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, str(run.run_dir))
                item.setToolTip(note)  # on every cell: at 1366 px the note column lies past the table's right edge
                if column == DATASET_COLUMN:  # the same images under two folder names, or two folders named "train"
                    item.setToolTip(f"fingerprint {run.fingerprint} (the same fingerprint: the same images)" + (f"; {note}" if note else ""))
                self.table.setItem(row, column, item)
            if str(run.run_dir) in selected:
                rows = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
                self.table.selectionModel().select(self.table.model().index(row, 0), rows)
        self.table.resizeColumnsToContents()  # a run's name is long; the default width cut it to "20261202-04…"
        self.note.setText("\n".join(problems))

    def cut_off(self):
        """The newest run listed when its process ended in the middle of it (a killed app, a machine that went down), a
        tune's trial aside; else None."""
        newest = next((run for run in reversed(list(self._runs.values())) if tune_of(run.purpose) is None), None)
        return newest if newest is not None and newest.state == "interrupted" else None

    def _selected(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) for row in rows]

    @Slot()
    def _enable_for_selection(self) -> None:
        selected = self._selected()
        count = len(selected)
        for text, button in self.buttons.items():
            button.setEnabled(text == "Refresh" or (count >= 2 if text == "Compare" else count == 1))
        one = self._runs.get(selected[0]) if count == 1 else None
        # A finished run offered Resume, which then said "nothing to resume".
        self.buttons["Resume"].setEnabled(one is not None and one.state in RESUMABLE_STATES)
        # An unserved run offered Attach, which could only say that it is not served.
        self.buttons["Attach"].setEnabled(count == 1 and selected[0] in self._served)
        # Named: a selection kept across a refresh may lie scrolled out of sight, its note under an unrelated row (helper-67).
        self.selected_note.setText(f"{one.run_id}: {'; '.join(one.notes)}" if one is not None and one.notes else "")
        self.selected_note.setVisible(bool(self.selected_note.text()))  # an empty line made the window too tall for 1024x640
        self.delete_action.setEnabled(count >= 1)

    def _with_one(self, signal) -> Callable[[], None]:
        """A button's slot: ``signal`` with the selected run's folder (its button is enabled for one run only)."""
        def send() -> None:
            selected = self._selected()
            if len(selected) == 1:
                signal.emit(selected[0])
        return send

    @Slot()
    def _delete(self) -> None:
        selected = self._selected()
        if selected:
            self.deleteRequested.emit(selected)

    @Slot()
    def _compare(self) -> None:
        selected = self._selected()
        if len(selected) >= 2:
            self.compareRequested.emit(selected)
