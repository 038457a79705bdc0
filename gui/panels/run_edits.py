"""The schedule editor's controls for the running job: apply the edited schedule, set an LR now, scale the rest, undo
and redo,
and the history of edits. The window pins this box under the editor, so it never scrolls out of sight."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QCheckBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QWidget

from .narrow import as_wide_as_its_words

# Below this height of the Schedule column the box packs its rows closer and its history shows two lines (the last
# edit; it scrolls to the others): at 1024×600 the column is 480 px and the box took 254 of them, leaving the editor
# above it little room; at 1366×768 the column is 650 px and the box keeps its room.
COMPACT_BELOW = 560


class RunEdits(QGroupBox):
    """Buttons and fields; the editor connects them to what they do."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("During a run", parent)
        # The & marks each button's Alt key (Alt+A, Alt+L, Alt+S): none is a menu's (File, View, Go, Run, Help) or another
        # button's in the window (tests/test_gui_go_menu.py checks).
        self.apply = QPushButton("&Apply from now")
        self.from_current = QCheckBox("start from the current LR")
        self.from_current.setChecked(True)
        self.set_lr = QLineEdit()
        self.set_lr.setPlaceholderText("LR")
        self.set_lr.setToolTip("Hold this LR from now to the end of the run.")
        self.set_now = QPushButton("Set &LR now")
        self.set_now.setToolTip("Hold the LR typed on the left from the current step to the end of the run. Enabled while a run goes on.")
        self.scale_by = QLineEdit()
        self.scale_by.setPlaceholderText("factor, e.g. 0.5")
        self.scale_by.setToolTip("Multiply every LR from now to the end of the run by this; the schedule keeps its shape.")
        self.scale_now = QPushButton("&Scale the rest")
        self.scale_now.setToolTip("Enabled while a run goes on. Multiply the LR of every step still to come by the factor typed on the left (0.5 halves it); "
                                  "the schedule keeps its shape.")
        self.undo = QPushButton("Undo")
        self.redo = QPushButton("Redo")
        self.history = QListWidget()
        self._shown, self._rolled_back_to = None, None  # the schedule last listed; where a rollback went, until the next
        self._undone: list[tuple[int, tuple, int]] = []  # (edits kept before them, the edits a rollback undid, its step)
        # Three lines show the last edits (it scrolls; two more went to the refusal's lines below); the editor above gets
        # the rest of the height, and at 1366×768 its selected segment's peak field stays in sight.
        self.history.setToolTip("Every change of the running schedule: its step, who made it and what it changed.")
        self.history.setWordWrap(True)  # an edit's summary is longer than the dock is wide
        # Why a typed value or an edit was refused, beside the fields: said at the top of the editor, it was scrolled out
        # of sight, and a refused ×0 was seen in the log alone (helper-72).
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #d62728;")
        self.problem.setWordWrap(True)
        # Its two lines kept whether it shows or not: the box is pinned at the dock's foot, so a line appearing moved
        # every field up under the mouse, and the next click landed on another control (helper-75). The history gave
        # up two lines for it; a longer reason is whole in the tooltip.
        self.problem.setFixedHeight(2 * self.problem.fontMetrics().lineSpacing() + 2)
        kept = self.problem.sizePolicy()
        kept.setRetainSizeWhenHidden(True)
        self.problem.setSizePolicy(kept)
        self.problem.hide()
        layout = QGridLayout(self)
        layout.addWidget(self.apply, 0, 0)
        undo_redo = QHBoxLayout()
        undo_redo.setContentsMargins(0, 0, 0, 0)
        for button in (self.undo, self.redo):
            # As wide as their words: at the style's 80 px each, the pair widened the window past a 1024 px screen.
            as_wide_as_its_words(button)
            undo_redo.addWidget(button)
        layout.addLayout(undo_redo, 0, 1)
        layout.addWidget(self.from_current, 1, 0, 1, 2)
        layout.addWidget(self.set_lr, 2, 0)
        layout.addWidget(self.set_now, 2, 1)
        # Halving what is left is among the commonest edits: it was in the window only on the stability warning's bar.
        layout.addWidget(self.scale_by, 3, 0)
        layout.addWidget(self.scale_now, 3, 1)
        layout.addWidget(self.problem, 4, 0, 1, 2)
        layout.addWidget(QLabel("Edit history"), 5, 0, 1, 2)
        layout.addWidget(self.history, 6, 0, 1, 2)
        self._lay_out(compact=False)
        self.set_running(False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """Watching the column the box is pinned in: compact when it is short."""
        if event.type() == QEvent.Type.Resize:
            self._lay_out(compact=watched.height() < COMPACT_BELOW)
        return False

    def _lay_out(self, compact: bool) -> None:
        layout = self.layout()
        layout.unsetContentsMargins()  # the style's
        if compact:
            style = layout.contentsMargins()
            layout.setContentsMargins(style.left(), 3, style.right(), 3)
        layout.setVerticalSpacing(2 if compact else -1)  # -1: the style's
        lines = self.history.fontMetrics().lineSpacing()
        self.history.setMinimumHeight(2 * lines + 4 if compact else 48)
        self.history.setMaximumHeight((2 if compact else 3) * lines + 4)

    def set_running(self, running: bool) -> None:
        """Enabled only while a run goes on."""
        for widget in (self.apply, self.from_current, self.set_lr, self.set_now, self.scale_by, self.scale_now):
            widget.setEnabled(running)
        if not running:
            self.undo.setEnabled(False)
            self.redo.setEnabled(False)

    def show_problem(self, text: str) -> None:
        """Say why a value or an edit was refused ("" puts it away)."""
        self.problem.setText(text)
        self.problem.setToolTip(text)
        self.problem.setVisible(bool(text))

    def rolled_back(self, step: int) -> None:
        """The run went back to ``step``: the next schedule shown is the one it had there, without the edits made since,
        which the history keeps, marked (they vanished, and their numbers went to the next edits: helper-79)."""
        self._rolled_back_to = step

    def show_history(self, run_schedule) -> None:
        """Every edit of the running schedule, and those a rollback undid where they were made (unnumbered, as `lrscope
        show` has them); Undo is possible when one can be taken back, Redo when one was."""
        self._keep_what_a_rollback_undid(run_schedule)
        self.history.clear()
        said = run_schedule.fates()  # an undone edit read as in force until the eye found its undo further down
        for index, record in enumerate(run_schedule.edits):
            self._add_undone(index)
            fate = f"; {said[record.id]}" if record.id in said else ""
            # Numbered: an undo reads "undid edit #2", a number the list did not show (helper-72).
            self.history.addItem(f"#{record.id} {_line(record)}{fate}")
        self._add_undone(len(run_schedule.edits))
        self.history.scrollToBottom()
        self.undo.setEnabled(run_schedule.undo_target() is not None)
        self.redo.setEnabled(run_schedule.redo_target() is not None)

    def _keep_what_a_rollback_undid(self, run_schedule) -> None:
        if self._rolled_back_to is not None and self._shown is not None:
            now = {(r.step, r.summary) for r in run_schedule.edits}
            before = {(r.step, r.summary) for r in self._shown.edits}
            undone = tuple(r for r in self._shown.edits if (r.step, r.summary) not in now)
            if undone:
                kept = sum((r.step, r.summary) in before for r in run_schedule.edits)
                self._undone.append((kept, undone, self._rolled_back_to))
            self._rolled_back_to = None
        self._shown = run_schedule

    def _add_undone(self, position: int) -> None:
        for kept, undone, step in self._undone:
            if kept == position:
                for record in undone:
                    self.history.addItem(f"{_line(record)}; undone by the rollback to step {step}")

    def forget_history(self) -> None:
        """No run is shown any more (or a new one starts)."""
        self._shown, self._rolled_back_to, self._undone = None, None, []
        self.history.clear()
        self.undo.setEnabled(False)
        self.redo.setEnabled(False)


def _line(record) -> str:
    """An edit's step, who made it and why, and what it changed."""
    source = f", from {record.edit.source}" if record.edit.source else ""  # who steered it: this window, ctl, ...
    return f"step {record.step} ({record.edit.reason}{source}): {record.summary}"
