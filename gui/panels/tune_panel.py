"""Tune controls: the budget in full runs (or minutes), what to search, start and cancel, the trials, the winner."""

from __future__ import annotations

import math

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.text import estimate, percent
from engine.tune.budget import small_budget_note
from engine.tune.record import TrialRecord, state_words
from engine.tune.settings import MAX_RUNS, MIN_RUNS, TuneSettings

from ..idle_hidden_progress import IdleHiddenProgress
from .reserved_note import ReservedNote
from .table import Table

STARTING = "Starting: building the model and timing a step, to size the budget…"
COLUMNS = ["trial", "peak LR", "weight decay", "state", "accuracy", "steps"]


class TunePanel(QWidget):
    """Emits ``startRequested(settings)``, ``cancelRequested()``, ``goOnRequested()``, ``useRequested()`` and ``exportRequested()``."""

    startRequested = Signal(object)
    cancelRequested = Signal()
    goOnRequested = Signal()
    useRequested = Signal()
    exportRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        d = TuneSettings()
        self.budget = QDoubleSpinBox(minimum=MIN_RUNS, maximum=MAX_RUNS, value=d.budget_runs, decimals=1, singleStep=1, suffix=" full runs")
        self.budget.setToolTip("Spend about the cost of this many runs of the configured length, the range test included. "
                               "Trials that fall behind others of a similar LR are stopped early, so more LRs are tried than the budget "
                               "holds runs.")
        self.minutes = QSpinBox(minimum=0, maximum=100_000, value=0, suffix=" min")
        self.minutes.setSpecialValueText("no limit (use the runs)")
        self.minutes.setToolTip("Spend about this many minutes instead, at the speed measured on this machine.")
        self.weight_decay = QCheckBox("also search the weight decay")
        self.weight_decay.setToolTip("Vary the weight decay (1e-5 to 1e-2, log scale) together with the peak LR.")
        self.start, self.cancel = QPushButton("Start tune"), QPushButton("Cancel")
        self.start.setToolTip("A range test sets the interval; then short real runs of the schedule in the editor are compared "
                              "and the best kept. Each trial is a run you can open in the Runs tab. Enabled when a dataset is open and no "
                              "run, range test or tune goes on.")
        self.cancel.setToolTip("Stop the trial in progress; the best trial so far wins, and Go on can take the search up again. "
                               "Enabled while a tune runs.")
        # A search of an hour cancelled by mistake was lost (helper-74); `lrscope tune --resume` does the same from a terminal.
        self.go_on = QPushButton("Go on")
        self.go_on.setToolTip("Go on with the tune that was cancelled, on its own settings: its trials are kept, the trial the "
                              "cancel cut short runs again, and the rest of its budget is spent. Enabled after a tune was cancelled.")
        self.start.clicked.connect(self._start)
        self.cancel.clicked.connect(self.cancelRequested.emit)
        self.go_on.clicked.connect(self.goOnRequested.emit)
        # What the next tune will cost, under the settings it reads; the tune's own progress and result go below, so a
        # result on show no longer hides the plan (it stayed, unchanged, while the budget was changed after a tune).
        self.plan_label, self.status, self.progress = ReservedNote(), QLabel(), IdleHiddenProgress()
        self.status.setWordWrap(True)
        self.table = Table(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnHidden(COLUMNS.index("weight decay"), True)
        self.use, self.export = QPushButton("Use the winner"), QPushButton("Export the winner…")
        self.use.setToolTip("Set the editor's schedule to the winning peak LR (and the configuration's weight decay, if searched). "
                            "Enabled once a tune has a winner.")
        self.export.setToolTip("Write the winning schedule with the record of the search, and add it to the library. Enabled "
                               "once a tune has a winner.")
        self.use.clicked.connect(self.useRequested.emit)
        self.export.clicked.connect(self.exportRequested.emit)
        self.record: dict | None = None
        self.budget_text = ""  # what the tune in progress spends, said when it started
        self.run_plan: tuple[int, float | None] | None = None  # (steps of one run, seconds per step if known)
        for box in (self.budget, self.minutes):
            box.valueChanged.connect(lambda _value: self._show_plan())
        self._lay_out()
        self.set_running(False)

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow("budget", self.budget)
        form.addRow("or time", self.minutes)
        form.addRow(self.weight_decay)
        buttons, winner = QHBoxLayout(), QHBoxLayout()
        buttons.addWidget(self.start)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.go_on)
        winner.addWidget(self.use)
        winner.addWidget(self.export)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.plan_label)  # not a row of the form, which gives up a hidden row's room: Cancel jumped up
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.table, 1)
        layout.addLayout(winner)

    def settings(self) -> TuneSettings:
        """The settings as chosen."""
        search = ("lr", "weight_decay") if self.weight_decay.isChecked() else ("lr",)
        return TuneSettings(budget_runs=self.budget.value(), budget_minutes=float(self.minutes.value()) or None, search=search)

    @Slot()
    def _start(self) -> None:
        self.startRequested.emit(self.settings())

    def plan(self, run_steps: int, step_seconds: float | None, timed_by: str = "") -> None:
        """The run a trial repeats and, when a step like its steps has been timed here (``timed_by``: "the last run's
        speed"), the seconds a trial's step costs: what the budget will cost is shown before Start is pressed."""
        self.run_plan = (run_steps, step_seconds, timed_by)
        self._show_plan()

    def _show_plan(self) -> None:
        if self.run_plan is None:
            return
        minutes = self.minutes.value()
        shown = self._minutes_plan(minutes) if minutes else self._runs_plan(self.budget.value())
        # Room kept for the longest plan, the smallest budget's with its note: the note that came with a smaller budget
        # pushed Start tune down as the user was about to press it.
        self.plan_label.say(shown, self._runs_plan(MIN_RUNS))

    def _minutes_plan(self, minutes: int) -> str:
        return (f"Budget: about <b>{minutes} min</b>, spent on trials of {self.run_plan[0]} steps at the speed measured "
                "when it starts. A range test first sets the interval.")

    def _runs_plan(self, budget_runs: float) -> str:
        """What a tune of ``budget_runs`` full runs will cost, and what to expect of a budget too small to compare LRs."""
        run_steps, step_seconds, timed_by = self.run_plan
        steps = round(budget_runs * run_steps)
        timed = f", {estimate(steps * step_seconds)} at {timed_by}" if step_seconds else ""
        note = small_budget_note(budget_runs, run_steps)
        return (f"Budget: about <b>{budget_runs:.1f} full runs</b> of {run_steps} steps ({steps} training "
                f"steps{timed}). A range test first sets the interval." + (f" <b>Note:</b> {note}." if note else ""))

    def set_running(self, running: bool) -> None:
        """Enable what applies while a tune runs, or after it; the plan is for the next tune, hidden while one runs."""
        self.plan_label.setHidden(running)
        self.start.setEnabled(not running)
        self.cancel.setEnabled(running)
        winner = not running and self.record is not None and self.record.get("winner") is not None
        self.use.setEnabled(winner)
        self.export.setEnabled(winner)
        self.go_on.setEnabled(not running and self.record is not None and self.record.get("state") == "cancelled")

    def starting(self, trials: list[TrialRecord] | None = None) -> None:
        """Said at once: building the model and timing a step take seconds before the tune can say what it will spend
        (the tab showed the last plan, unchanged, meanwhile). ``trials``: those that stand as a tune goes on, its rows
        (None: a new tune)."""
        self.record = None
        self.table.setRowCount(0)
        for trial in trials or []:
            self._add_row(trial)
        self.status.setText(STARTING)
        self.set_running(True)

    def started(self, event) -> None:
        """Say what the tune will spend before it spends it (a tune that goes on: what is left of its budget; its trials stay)."""
        self.record = None
        if not event.trials_before:
            self.table.setRowCount(0)
        self.table.setColumnHidden(COLUMNS.index("weight decay"), "weight_decay" not in event.search)
        self.progress.setRange(0, event.budget_steps)
        self.progress.setValue(event.spent_steps)
        self.progress.setFormat("%p% of the budget")
        self.budget_text = (f"Budget: about <b>{event.budget_steps / event.run_steps:.1f} full runs</b> "
                            f"({event.budget_steps} training steps), {estimate(event.estimated_seconds)} on this machine.")
        if event.resumed:
            self.budget_text = (f"Going on: {event.spent_steps} of its {event.budget_steps} training steps were spent, "
                                f"{estimate(event.estimated_seconds)} on this machine for the rest.")
        self.status.setText(f"{self.budget_text} A range test first sets the interval." if not event.trials_before else self.budget_text)
        self.set_running(True)

    def range_test_progressed(self, text: str) -> None:
        """How far the range test that sets the interval is ("45% done, about 30 s left")."""
        self.status.setText(f"{self.budget_text} A range test sets the interval: <b>{text}</b>.")

    def interval(self, event) -> None:
        """Where the search samples the peak LR."""
        self.progress.setValue(event.spent_steps)
        self.status.setText(f"Searching the peak LR from <b>{event.low:.3g}</b> to <b>{event.high:.3g}</b>: {event.source}.")

    def trial_finished(self, event) -> None:
        """A row per trial."""
        self._add_row(event)
        self.progress.setValue(min(event.spent_steps, event.budget_steps))

    def _add_row(self, trial) -> None:
        """The row of ``trial`` (a TuneTrialFinished event or a TrialRecord: they name their fields alike)."""
        row = self.table.rowCount()
        self.table.insertRow(row)
        cells = [str(trial.number), f"{trial.params['lr']:.3g}", f"{trial.params.get('weight_decay', math.nan):.2g}",
                 state_words(trial.state),
                 percent(trial.val_accuracy), str(trial.steps)]
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text.replace("nan", "–"))
            item.setToolTip(trial.why)  # a trial stopped early: what it fell behind, its accuracy being mid-run; one on damaged weights: its validation
            self.table.setItem(row, column, item)

    def finished(self, event) -> None:
        """The winner, or why there is none; the rows are the record's trials, as the winner was chosen from (a trial cut
        short and run again is none of them: its row, "cancelled" at your schedule's LR, stayed beside its rerun's)."""
        self.record = event.record
        self.table.setRowCount(0)
        for trial in event.record["trials"]:
            self._add_row(TrialRecord.from_dict(trial))
        message = event.message[:1].upper() + event.message[1:] if event.cancelled else event.message  # a sentence of its own
        self.status.setText(("<b>Cancelled.</b> " if event.cancelled else "") + message)
        # A search that ends under its budget would otherwise leave a bar at 98% that reads as unfinished.
        self.progress.setFormat(("cancelled" if event.cancelled else "done") + ": %p% of the budget spent")
        self.set_running(False)

    def forget(self) -> None:
        """Another dataset is open: the trials and the winner shown were the old one's."""
        self.record = None
        self.table.setRowCount(0)
        self.status.clear()
        self.progress.reset()
        self.set_running(False)

    def failed(self, message: str) -> None:
        """The tune could not run."""
        self.status.setText(f"<span style='color:#d62728'>{message}</span>")
        self.set_running(False)
