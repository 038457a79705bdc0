"""Range test controls: mode and settings, start and cancel, suggestions with "use" buttons."""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.range_test.settings import RangeTestSettings

from .table import Table


class ShortTable(Table):
    """A table that asks for no more height than its minimum (a header and three rows) and takes what is left over:
    the panel's form and Use buttons keep their height and scroll into view when the tab is short (they were squeezed
    to half their height with the stability bar shown at 1366×768)."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())


class RangeTestPanel(QWidget):
    """Emits ``startRequested(settings)``, ``cancelRequested()`` and ``useRequested(lr, what)``."""

    startRequested = Signal(object)
    cancelRequested = Signal()
    useRequested = Signal(float, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        d = RangeTestSettings()
        self.mode = "sweep"  # of the test running or last run, as its start said
        self.asked_here = False  # whether the test running was asked for by this window (its form), not from elsewhere
        self.elsewhere = ""  # " (asked elsewhere)" while a test asked elsewhere runs
        self.sweep, self.probe = QRadioButton("sweep"), QRadioButton("probe (unbiased)")
        self.sweep.setChecked(True)
        self.sweep.setToolTip("Raise the LR every batch from start to end, carrying the weights along (fast).")
        self.probe.setToolTip("Start every candidate LR from the same weights and train a few steps at it (slower, unbiased).")
        modes = QButtonGroup(self)
        modes.addButton(self.sweep)
        modes.addButton(self.probe)
        self.start_lr, self.end_lr = QLineEdit(), QLineEdit()
        self.start_lr.setPlaceholderText("1e-7 (probe: 1e-4)")
        self.end_lr.setPlaceholderText("10")
        self.start_lr.setToolTip("The first LR tried (empty: the mode's default).")
        self.end_lr.setToolTip("The last LR tried (empty: 10).")
        self.iterations = QSpinBox(minimum=2, maximum=100_000, value=d.iterations)
        self.iterations.setToolTip("Sweep: how many batches (one LR each).")
        self.linear = QCheckBox("linear")
        self.linear.setToolTip("Sweep: raise the LR in equal steps instead of equal ratios.")
        self.validation = QCheckBox("validation loss")
        self.validation.setToolTip("Sweep: record the loss on a fixed validation subset after each step (slower, less noisy).")
        self.count = QSpinBox(minimum=2, maximum=1000, value=d.probe_count)
        self.count.setToolTip("Probe: how many candidate LRs, log-spaced.")
        self.steps = QSpinBox(minimum=0, maximum=100_000, value=0)
        # "Each": a probe trains every candidate this long, on every repeat (12 × 10% × 3 repeats is 3.6 runs).
        self.steps.setSpecialValueText(f"auto ({d.probe_fraction:.0%} of the run each)")
        self.steps.setToolTip("Probe: training steps at each candidate before it is scored. Auto ties it to the run the "
                              "test advises (a tenth of it, 20 to 1000), since a short horizon favours small LRs. The "
                              "whole probe trains candidates × steps × repeats.")
        self.repeats = QSpinBox(minimum=1, maximum=100, value=d.repeats)
        self.repeats.setToolTip("Run the test this many times on different batch orders and recommend the median; "
                                "a large spread between them is reported as low confidence. One test is one sample.")
        self.start = QPushButton("Start range test")
        self.start.setToolTip("Before a run: from fresh weights. During a run: pauses it, tests from the current weights, restores them exactly and resumes (Ctrl+T).")
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop the range test at its next batch; the weights are restored as after any test. "
                               "Enabled while a test runs.")
        self.cancel.setEnabled(False)
        self.start.clicked.connect(self.request_start)
        self.cancel.clicked.connect(self._cancel)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.table = ShortTable(["method", "LR"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(4 * self.table.verticalHeader().defaultSectionSize())
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #b35c00;")
        self.use_constant, self.use_cycle = QPushButton("Use as constant LR"), QPushButton("Use as one-cycle max LR")
        self.use_constant.setToolTip("Install a constant LR at the recommended constant LR: before a run in the editor, "
                                     "during one from the current step on. Enabled once a range test recommends an LR.")
        self.use_cycle.setToolTip("Install a one-cycle peaking at the recommended one-cycle max LR: before a run in the "
                                  "editor, during one over the rest of the run from the current step. Enabled once a range "
                                  "test recommends an LR.")
        self.use_constant.clicked.connect(lambda: self._use("constant"))
        self.use_cycle.clicked.connect(lambda: self._use("one_cycle"))
        self.recommendation = None
        self.result = None  # the last finished test's RangeTestResult
        self._lay_out()
        self.sweep.toggled.connect(self._show_mode)
        self._show_mode(True)
        self.finished(None)

    def _lay_out(self) -> None:
        self.form = form = QFormLayout()
        mode = QHBoxLayout()
        mode.addWidget(self.sweep)
        mode.addWidget(self.probe)
        form.addRow("mode", mode)
        form.addRow("start LR", self.start_lr)
        form.addRow("end LR", self.end_lr)
        form.addRow("sweep batches", self.iterations)
        options = QHBoxLayout()
        options.addWidget(self.linear)
        options.addWidget(self.validation)
        form.addRow(options)
        form.addRow("probe candidates", self.count)
        form.addRow("probe steps", self.steps)
        form.addRow("repeats", self.repeats)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start)
        buttons.addWidget(self.cancel)
        use = QHBoxLayout()
        use.addWidget(self.use_constant)
        use.addWidget(self.use_cycle)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        # The buttons under the table they act on, the words after them: below a long note, or under a long result
        # above the table, they sat out of sight at 1366×768.
        layout.addLayout(use)
        layout.addWidget(self.status)
        layout.addWidget(self.note)

    @Slot(bool)
    def _show_mode(self, sweep: bool) -> None:
        """Only the chosen mode's own fields can be edited: the other mode's stayed editable, as if they mattered."""
        for field, on in ((self.iterations, sweep), (self.linear, sweep), (self.validation, sweep), (self.count, not sweep),
                          (self.steps, not sweep)):
            field.setEnabled(on)
            if label := self.form.labelForField(field):
                label.setEnabled(on)

    def settings(self) -> RangeTestSettings:
        """The settings as typed; ValueError names what is wrong."""
        def number(field: QLineEdit, name: str) -> float | None:
            text = field.text().strip()
            if not text:
                return None
            try:
                return float(text)
            except ValueError:
                raise ValueError(f"{name}: expected a number, e.g. 1e-5") from None

        settings = RangeTestSettings(mode="probe" if self.probe.isChecked() else "sweep", start_lr=number(self.start_lr, "start LR"),
                                     end_lr=number(self.end_lr, "end LR"), iterations=self.iterations.value(), linear=self.linear.isChecked(),
                                     validation=self.validation.isChecked(), probe_count=self.count.value(),
                                     probe_steps=self.steps.value() or None, repeats=self.repeats.value())
        return settings.resolved()

    @property
    def testing(self) -> bool:
        """Whether a test shows here as asked for or running (its Start is off until it finishes)."""
        return not self.start.isEnabled()

    @Slot()
    def request_start(self) -> None:
        """Ask for a range test with the settings as typed (or say what is wrong with them)."""
        try:
            settings = self.settings()
        except ValueError as error:
            self.status.setText(f"<span style='color:#d62728'>{error}</span>")
            return
        self.startRequested.emit(settings)

    def starting(self, text: str, here: bool = True) -> None:
        """The test was asked for (by this window's form unless ``here`` is False) and is being set up."""
        self.asked_here = here
        self._running()
        self.status.setText(text)

    def started(self, mode: str, duration: str, elsewhere: str, cost: str) -> None:
        """The test is running; say what it costs (``cost`` as "7,524 training steps, 3.4× the run") and how long it
        will take (``duration`` as "40 s", "7 min"), and what it does when it was asked for elsewhere (``elsewhere``:
        its settings in words), whose settings the form does not show."""
        self.mode = mode
        self._running()
        self.elsewhere = " (asked elsewhere)" if elsewhere else ""
        self.status.setText(f"{mode} running{self.elsewhere}: {cost}, about {duration} on this machine")
        self.note.setText(f"Asked elsewhere: {elsewhere}" if elsewhere else "")

    def _running(self) -> None:
        """A test runs: Cancel, no Start, and no last result to use (a window joining a run during a test asked
        elsewhere offered Use with its own last result)."""
        self.start.setEnabled(False)
        self.cancel.setEnabled(True)
        self.result = self.recommendation = None
        self.use_constant.setEnabled(False)
        self.use_cycle.setEnabled(False)
        self.table.setRowCount(0)
        self.note.setText("")

    def progressed(self, text: str) -> None:
        """Say how far the running test is (``text`` as "40% done, about 20 s left")."""
        self.status.setText(f"{self.mode} running{self.elsewhere}: {text}")

    def finished(self, result, message: str = "") -> None:
        """Show the suggestions (or why there are none)."""
        self.start.setEnabled(True)
        self.cancel.setEnabled(False)
        self.asked_here = False
        self.result = result
        self.recommendation = getattr(result, "recommendation", None)
        suggestions = getattr(result, "suggestions", ())
        self.table.setRowCount(len(suggestions))
        for row, suggestion in enumerate(suggestions):
            item = QTableWidgetItem(suggestion.method)
            item.setToolTip(suggestion.explanation)
            self.table.setItem(row, 0, item)
            self.table.setItem(row, 1, QTableWidgetItem(f"{suggestion.lr:.3g}"))
        self.status.setText(self._verdict(result, message))
        notes = [n for n in getattr(result, "notes", ()) or () if self.recommendation or not n.startswith("no recommendation: ")]
        self.note.setText("\n".join(notes))
        self.use_constant.setEnabled(self.recommendation is not None)
        self.use_cycle.setEnabled(self.recommendation is not None)

    def _verdict(self, result, message: str) -> str:
        """The recommendation in bold, flagged when its confidence is low; or why there is none and what to do."""
        r = self.recommendation
        if result is None:
            return message
        if r is None:
            # An "edge 0.242" row beside two greyed Use buttons read as a result the window would not let be used.
            listed = ("<br>The LRs listed mark where the curve turned; none is advice, so there is nothing to use."
                      if result.suggestions else "")
            return f"<span style='color:#d62728'><b>No recommendation:</b></span> {result.why_none}{listed}"
        flag = "<span style='color:#b35c00'><b>Low confidence.</b></span> " if r.low_confidence else ""
        spread = f"<br>median of {r.repeats} repeats, spread ×{r.spread:.3g}" if r.repeats > 1 else ""
        measured = ""
        if result.mode == "probe":
            part = (result.repeats or (result,))[0]
            measured = (f"<br>each candidate trained {part.measured['steps']} steps from the same weights "
                        f"(held-out loss {part.measured['start_score']:.3g} before)")
        past = "".join(f"<br><span style='color:#b35c00'>{what}: {above}</span>"
                       for what, lr in (("constant", r.constant_lr), ("one-cycle max", r.one_cycle_max_lr)) if (above := result.above_bound(lr)))
        return (f"{flag}constant LR <b>{r.constant_lr:.3g}</b> from {r.constant_method}<br>"
                f"one-cycle max LR <b>{r.one_cycle_max_lr:.3g}</b> from {r.one_cycle_method}{spread}{measured}{past}")

    @Slot()
    def _cancel(self) -> None:
        """The test stops at its next batch, which can take seconds: say so at once."""
        self.cancel.setEnabled(False)
        self.status.setText("cancelling at the next batch…")
        self.cancelRequested.emit()

    def _use(self, what: str) -> None:
        if self.recommendation is not None:
            lr = self.recommendation.constant_lr if what == "constant" else self.recommendation.one_cycle_max_lr
            self.useRequested.emit(lr, what)
