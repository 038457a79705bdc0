"""Past runs: list them (a tune's trials under one row), open one read-only, overlay several, resume a stopped one,
delete some or a whole tune."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.serve.access import served_access
from engine.store.paths import tunes_root
from engine.store.reader import LIVE_STATES, RESUMABLE_STATES, list_runs
from engine.tune.record import tune_of
from engine.tune.rerun import runs_again
from engine.tune.summary import summarize_tune

from .delete_action import add_delete_action
from .run_rows import COLUMNS, RUN_DIR, TUNE, run_row, sum_up, tune_row

FOLLOW_MS = 2000  # how often a visible table re-reads the folder while a run in it is live or a run was added


class RunsPanel(QWidget):
    """A tree of the runs under the runs folder: a run of the user's own a row, a tune a row with its trial runs under it."""

    openRequested = Signal(str)
    compareRequested = Signal(list)
    resumeRequested = Signal(str)
    attachRequested = Signal(str)
    exportRequested = Signal(str)
    deleteRequested = Signal(list, list)  # the runs' folders (a tune's trials among them), the tunes whose records go too

    def __init__(self, root: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.root = root
        self._runs: dict = {}  # each listed run (RunInfo), by its folder
        self._served: set[str] = set()  # the folders of the listed runs a process serves
        self.table = QTreeWidget()
        self.table.setHeaderLabels(COLUMNS)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setUniformRowHeights(True)
        self.table.setAllColumnsShowFocus(True)
        # At least the header, a row and the scroll bar under them (without it, no row showed): Qt's 70 px made this the
        # window's tallest tab, 573 px at its least.
        self.table.setMinimumHeight(self.table.header().sizeHint().height() + self.table.fontMetrics().height()
                                    + self.table.horizontalScrollBar().sizeHint().height() + 2 * self.table.frameWidth())
        # Delete is the table's key and its right-click menu, not a seventh button: the row of six fills 1024 px.
        self.delete_action = add_delete_action(self.table, "Delete runs…", "Delete the selected runs and all they hold (metrics, checkpoints); "
                                               "a tune's row, its trial runs and its search record.", self._delete)
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
        self.table.itemSelectionChanged.connect(self._enable_for_selection)
        self._enable_for_selection()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(-1, 2, -1, 2)  # the style's at the sides; above is the tab's frame, below the splitter
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
        """List the runs again (the selected rows stay selected, the tunes opened stay open)."""
        selected = set(self._selected()) | set(self._selected_tunes())
        opened = {self._tune_of(self.table.topLevelItem(i)) for i in range(self.table.topLevelItemCount())
                  if self.table.topLevelItem(i).isExpanded()}
        self._listed_at = self._folder_time()
        runs, problems = list_runs(self.root)
        self._runs = {str(run.run_dir): run for run in runs}
        self._live = any(run.state in LIVE_STATES for run in runs)
        self._served = {str(run.run_dir) for run in runs if served_access(run.run_dir)}
        scrolled = self.table.verticalScrollBar().value()  # refreshed every 2 s while a run is live: kept where the user is
        self.table.clear()
        for item in self._rows(runs):
            self.table.addTopLevelItem(item)
            item.setExpanded(self._tune_of(item) in opened)
            for row in (item, *(item.child(i) for i in range(item.childCount()))):
                row.setSelected((row.data(0, RUN_DIR) or self._tune_of(row)) in selected)
        for column in range(len(COLUMNS) - 1):  # a run's name is long; the default width cut it to "20261202-04…"
            self.table.resizeColumnToContents(column)
        self.table.verticalScrollBar().setValue(scrolled)
        self.note.setText("\n".join(problems))
        self.note.setVisible(bool(problems))  # an empty line is height the window's smallest size cannot spare

    def _rows(self, runs: list) -> list[QTreeWidgetItem]:
        """The top-level rows, newest first: a run's, or a tune's (where its newest trial is) with its trials under it.
        A tune of a few minutes leaves tens of trial runs, which buried the user's own."""
        rows, tunes, trials = [], {}, {}
        again = runs_again(runs, tunes_root(runs=self.root))  # a trial's run that its tune ran again: no trial of it any more
        for run in reversed(runs):
            tune = tune_of(run.purpose)
            if tune is None:
                rows.append(run_row(run, str(run.run_dir) in self._served))
                continue
            if tune not in tunes:
                rows.append(tunes.setdefault(tune, tune_row(tune)))
            tunes[tune].addChild(run_row(run, str(run.run_dir) in self._served, again.get(run.run_id)))
            trials.setdefault(tune, []).append(run)
        for tune, item in tunes.items():
            sum_up(item, trials[tune], summarize_tune(tunes_root(runs=self.root) / tune, trials[tune], again))
        return rows

    @staticmethod
    def _tune_of(item: QTreeWidgetItem) -> str | None:
        return item.data(0, TUNE)

    def cut_off(self):
        """The newest run listed when its process ended in the middle of it (a killed app, a machine that went down), a
        tune's trial aside; else None."""
        newest = next((run for run in reversed(list(self._runs.values())) if tune_of(run.purpose) is None), None)
        return newest if newest is not None and newest.state == "interrupted" else None

    def _selected(self) -> list[str]:
        """The folders of the selected runs' rows, in the order listed."""
        return [item.data(0, RUN_DIR) for item in self._in_order() if item.isSelected() and item.data(0, RUN_DIR)]

    def _selected_tunes(self) -> list[str]:
        """The names of the tunes whose rows are selected."""
        return [self._tune_of(item) for item in self._in_order() if item.isSelected() and self._tune_of(item)]

    def _in_order(self) -> list[QTreeWidgetItem]:
        """Every row, each tune's trials after it."""
        tops = [self.table.topLevelItem(i) for i in range(self.table.topLevelItemCount())]
        return [row for top in tops for row in (top, *(top.child(i) for i in range(top.childCount())))]

    def trials_of(self, tune: str) -> list[str]:
        """The folders of the trial runs listed under ``tune``."""
        top = next(item for item in self._in_order() if self._tune_of(item) == tune)
        return [top.child(i).data(0, RUN_DIR) for i in range(top.childCount())]

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
        self.delete_action.setEnabled(count >= 1 or bool(self._selected_tunes()))

    def _with_one(self, signal) -> Callable[[], None]:
        """A button's slot: ``signal`` with the selected run's folder (its button is enabled for one run only)."""
        def send() -> None:
            selected = self._selected()
            if len(selected) == 1:
                signal.emit(selected[0])
        return send

    @Slot()
    def _delete(self) -> None:
        tunes = self._selected_tunes()
        trials = [trial for tune in tunes for trial in self.trials_of(tune)]
        runs = [*trials, *(run for run in self._selected() if run not in trials)]
        if runs or tunes:
            self.deleteRequested.emit(runs, tunes)

    @Slot()
    def _compare(self) -> None:
        selected = self._selected()
        if len(selected) >= 2:
            self.compareRequested.emit(selected)
