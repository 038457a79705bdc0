"""The schedule editor: compose segments, preview them on the LR plot as you type, and change the
schedule of a running job from the current step on."""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.config import TrainConfig
from engine.schedules import SHAPES, PlateauRule, Redo, ReplaceRest, Revise, ScaleRest, Schedule, SetConstant, Undo
from engine.schedules.describe import fmt_lr, lr_span
from engine.schedules.groups import ALL, HEAD, GroupSetting
from engine.schedules.presets import PRESETS, default_segment, peak_lr, preset, preset_of
from engine.schedules.shapes.base import MAX_SET_LR

from .narrow import as_wide_as_its_words
from .run_edits import RunEdits
from .segment_form import INVALID, SegmentForm
from .table import Table

PREVIEW_DELAY_MS = 120
# Steps of the default plan before it is stretched to the run (any length a one-cycle's phases all fit in).
DEFAULT_PLAN_STEPS = 100
# The tooltip of 'start from the current LR', by whether Apply installs a new shape (True) or revises the one in force.
FROM_CURRENT_TIPS = {
    True: "The new shape begins at the LR in force now, so there is no jump.",
    False: "Apply revises the shape in force where it stands on the step axis, so the LR follows the revised shape "
           "from now (a lower max LR lowers it at once). For a new shape from the current LR, choose a preset and "
           "press Use preset first.",
}


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the editor holds: a schedule placed at ``origin``, group settings by name and a plateau rule."""

    origin: int
    schedule: Schedule
    groups: tuple[GroupSetting, ...]
    plateau: PlateauRule | None


def default_schedule() -> Schedule:
    """lrscope's untuned default, the command line's too: its preset shape at its peak LR."""
    return preset(TrainConfig.shape, TrainConfig.lr, DEFAULT_PLAN_STEPS)


PEAK_REFUSED = "peak LR: "


class ScheduleEditor(QWidget):
    """Segments in a table, the selected one in a form; actions that edit a running job."""

    previewChanged = Signal(object)
    edited = Signal()
    presetUsed = Signal()  # a preset replaced the schedule (sent before ``edited``)
    editRequested = Signal(object)
    keypointsShown = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.origin, self.segments = 0, list(default_schedule().segments)
        self.loaded_span = (0, 1)  # the loaded schedule's start and its run's length
        self.loaded_from: int | None = None  # the step the loaded piece of a run's schedule takes over at
        # The step from which the run's piece shown is in force, where it starts later than the schedule it runs: a redo
        # at step 754 brings back a Set LR made at 620, and "covers steps 620 to 880" read as if it ran from 620.
        self.in_force_from: int | None = None
        self.total_steps, self.step, self.running, self.replacing = 100, 0, False, False
        self.dirty = False
        self.in_force: tuple[int, Schedule] | None = None
        self._preview_timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self._emit_preview)
        self._build()
        self._refresh_table(select=0)

    # -- layout ---------------------------------------------------------------------

    def _build(self) -> None:
        self.length = QLabel()
        self.length.setWordWrap(True)  # with 4-digit steps its ", in force from …" widened the dock past the window
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.setCurrentText("one_cycle")
        self.preset.setToolTip("A ready-made shape over the rest of the run; its highest LR is the peak LR.")
        self.peak = QLineEdit("0.2")
        self.peak.setToolTip("The highest LR of the preset (a range test suggests one).")
        # A refused peak is outlined in red until the text changes: it stayed red around a valid 0.3 until Use preset.
        self.peak.textChanged.connect(self._peak_typed)
        self.peak.returnPressed.connect(self.use_preset)  # Enter did nothing, not even refuse a -1
        self.use_button = use = QPushButton("&Use preset")
        use.setToolTip("Replace the segments by the preset (during a run: a new shape from the current step).")
        use.clicked.connect(self.use_preset)
        self.table = Table(["kind", "from step", "steps", "LR"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The LR span gets the room left, on one line ("…" where it is too long): it was as wide as its text, and the
        # table scrolled sideways in a narrow dock, its bar over the second row.
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self.table.itemSelectionChanged.connect(self._selected)
        self.kind = QComboBox()
        self.kind.addItems(sorted(SHAPES))
        self.kind.setToolTip("The kind of segment Add inserts after the selected one.")
        self.add_button, self.remove_button = add, remove = QPushButton("A&dd"), QPushButton("Re&move")
        add.setToolTip("Insert a segment of the chosen kind after the selected one.")
        remove.setToolTip("Delete the selected segment.")
        add.clicked.connect(self.add_segment)
        remove.clicked.connect(self.remove_segment)
        self.form = SegmentForm()
        self.form.changed.connect(self._segment_changed)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #d62728;")
        self.problem.setWordWrap(True)
        self.form.problem.connect(self.show_problem)
        self.others = QLineEdit("1")
        self.others.setToolTip("Every layer group but the head trains at the head's LR times this (below 1 to fine-tune pretrained layers gently).")
        self.others.textEdited.connect(lambda _text: self._changed())
        self.plateau = QCheckBox("reduce on plateau")
        self.plateau.setToolTip("Lower the LR by the factor when validation loss has not improved for 'patience' epochs.")
        self.plateau_factor = QDoubleSpinBox(minimum=0.01, maximum=0.99, singleStep=0.05, value=0.1, decimals=2)
        self.plateau_patience = QDoubleSpinBox(minimum=0, maximum=1000, value=2, decimals=0)
        self.plateau_factor.setToolTip("The LR is multiplied by this when the rule fires.")
        self.plateau_patience.setToolTip("Epochs without improvement before the rule fires.")
        for widget in (self.plateau, self.plateau_factor, self.plateau_patience):
            (widget.toggled if widget is self.plateau else widget.valueChanged).connect(lambda *_: self._changed())
        self.run_edits = RunEdits()
        edits = self.run_edits
        self.apply, self.from_current, self.set_lr, self.set_now, self.undo, self.redo, self.history = (
            edits.apply, edits.from_current, edits.set_lr, edits.set_now, edits.undo, edits.redo, edits.history)
        self.scale_by, self.scale_now = edits.scale_by, edits.scale_now
        # What Apply will do when the box is offered; the box shows it only then (a greyed tick read as "this will happen").
        self.from_current_wanted = self.from_current.isChecked()
        self.from_current.toggled.connect(self._from_current_toggled)
        self.from_current.setChecked(False)  # not offered before a run
        self.apply.clicked.connect(self.apply_from_now)
        self.set_now.clicked.connect(self.set_lr_now)
        self.set_lr.returnPressed.connect(self.set_now.click)  # Enter in the field, as in every other field (a disabled button ignores it)
        self.scale_now.clicked.connect(self.scale_rest_now)
        self.scale_by.returnPressed.connect(self.scale_now.click)
        self.undo.clicked.connect(lambda: self.editRequested.emit(Undo()))
        self.redo.clicked.connect(lambda: self.editRequested.emit(Redo()))
        self._lay_out(use, add, remove)

    def _lay_out(self, use, add, remove) -> None:
        # Each row as narrow as a 1024 px screen's dock (about 220 px inside it): the preset's row with its peak, its
        # button, and the plateau's fields beside its box were wider, and the dock scrolled sideways.
        top = QGridLayout()
        top.addWidget(self.length, 0, 0, 1, 3)
        top.addWidget(QLabel("preset"), 1, 0)
        top.addWidget(self.preset, 1, 1, 1, 2)
        peak = QLabel("&peak LR")
        peak.setBuddy(self.peak)  # Alt+P types the peak, as the Go menu's Ctrl+Shift+P does
        top.addWidget(peak, 2, 0)
        top.addWidget(self.peak, 2, 1)
        top.addWidget(use, 2, 2)
        segments = QHBoxLayout()
        # The kind's list may be narrower than "cosine_restarts" (it ends in "…" then), so Add and Remove stay in sight.
        self.kind.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind.setMinimumContentsLength(len("cosine"))
        segments.addWidget(self.kind, 1)
        for button in (add, remove):
            as_wide_as_its_words(button)
            segments.addWidget(button)
        groups, plateau = QHBoxLayout(), QHBoxLayout()
        for widget in (QLabel("other groups LR ×"), self.others):
            groups.addWidget(widget)
        for widget in (QLabel("×"), self.plateau_factor, QLabel("after"), self.plateau_patience):
            plateau.addWidget(widget)
        plateau.addStretch(1)
        # Fixed heights for what changes as the user types (the table's rows, the reason a value is refused),
        # so the form under the cursor never moves; the space left over goes below everything.
        # Two rows, as many as a preset or the fine-tuning plan has (more scroll): with four, and with three once the run
        # panel gained Scale the rest, the selected segment's fields below showed only "steps" at 1366×768.
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + 2 * self.table.verticalHeader().defaultSectionSize() + 4)
        self.problem.setFixedHeight(2 * self.problem.fontMetrics().lineSpacing() + 4)
        layout = QVBoxLayout(self)
        margins = layout.contentsMargins()  # half the style's at the sides: the dock's frame is there, and fields need the room
        layout.setContentsMargins(margins.left() // 2, margins.top(), margins.right() // 2, margins.bottom())
        layout.addLayout(top)
        layout.addWidget(self.problem)  # under the preset, above the form: in sight however tall the form is
        layout.addWidget(self.table)
        layout.addLayout(segments)
        layout.addWidget(self.form)
        layout.addLayout(groups)
        layout.addWidget(self.plateau)
        layout.addLayout(plateau)
        layout.addStretch(1)
        self._set_running(False)

    # -- the plan ---------------------------------------------------------------------

    def plan(self) -> Plan:
        """The editor's schedule, group settings and plateau rule (ValueError names what is invalid)."""
        if self.form.refused:  # the segment kept its last valid value: that is not the plan on screen
            raise ValueError(f"{next(iter(self.form.refused.values()))} (correct the field outlined in red)")
        schedule = Schedule(tuple(self.segments))
        schedule.validate()
        try:
            others = float(self.others.text())
        except ValueError:
            raise ValueError("other groups' LR multiplier: expected a number, e.g. 0.1") from None
        if not 0 <= others <= 100:
            raise ValueError("other groups' LR multiplier: must be from 0 to 100")
        rule = PlateauRule(factor=round(self.plateau_factor.value(), 4), patience=int(self.plateau_patience.value())) if self.plateau.isChecked() else None
        return Plan(self.origin, schedule, (GroupSetting(ALL, others), GroupSetting(HEAD, 1.0)), rule)

    def set_run_length(self, total_steps: int) -> None:
        """A new run length (dataset, epochs or batch size changed): the schedule is stretched to it."""
        if self.running or total_steps == self.total_steps or total_steps < 2:
            return
        # A last piece from a later step (a run's edits) moves in proportion, as the run's schedule is stretched; from
        # where it was loaded, since the run's length passes through every number typed ("2" on the way to "20").
        # As Timeline.stretched rounds it (origin × factor), so the piece shown starts where Start trains it: from the
        # share (origin / length × steps) a float a hair under 7.5 showed 7 where the run trained from 8.
        origin, length = self.loaded_span
        self.origin = min(round(origin * (total_steps / length)), total_steps - 2) if self.origin else 0
        if self.in_force_from is not None:
            self.in_force_from = round(self.loaded_from * (total_steps / length))
        self.total_steps = total_steps
        self.segments = list(Schedule(tuple(self.segments)).fitted(total_steps - self.origin).segments)
        self._refresh_table()
        self._changed(by_user=False)

    def load(self, schedule: Schedule, origin: int = 0, groups=None, plateau=None, start: int | None = None) -> None:
        """Show ``schedule`` (imported, or a draft) without sending anything; ``start``: the step from which it is in force,
        when it is the last piece of a run's schedule that takes over later than ``origin``."""
        self.origin, self.segments = origin, list(schedule.segments)
        self.total_steps = origin + schedule.total_steps  # so that set_run_length stretches it to the run
        self.loaded_span = (origin, self.total_steps)
        # A scale at step 18 of a Set LR made at 4 showed "steps 4–220" beside "steps 0 to 18 follow the run's".
        self.in_force_from = self.loaded_from = start if start is not None and start > origin else None
        self._offer_preset_of(schedule)
        self.peak.setStyleSheet("")
        # Without groups (lrscope's default, a preset) every group trains at the schedule's LR. A draft names each group
        # (the group table's settings): "the others" are those but the head, when alike.
        by_name = {g.name: g.multiplier for g in groups or ()}
        head = by_name.get(HEAD, by_name.get(ALL, 1.0))
        rest = {m for name, m in by_name.items() if name not in (HEAD, ALL)}
        others = by_name[ALL] if ALL in by_name else rest.pop() if len(rest) == 1 else head
        self.others.setText(f"{others / head if head else 1.0:g}")
        for widget, value in ((self.plateau, plateau is not None), (self.plateau_factor, getattr(plateau, "factor", None)),
                              (self.plateau_patience, getattr(plateau, "patience", None))):
            widget.blockSignals(True)
            if widget is self.plateau:
                widget.setChecked(value)
            elif value is not None:
                widget.setValue(value)
            widget.blockSignals(False)
        self._refresh_table(select=0)
        self._changed(by_user=False)

    # -- actions ------------------------------------------------------------------------

    def _peak_typed(self, _text: str) -> None:
        """A refused peak's outline and reason go as it is typed again (they stayed around a valid 0.3)."""
        self.peak.setStyleSheet("")
        if self.problem.text().startswith(PEAK_REFUSED):
            self.show_problem("")

    @Slot()
    def use_preset(self) -> None:
        """Replace the segments by the chosen preset over the rest of the run."""
        try:
            lr = float(self.peak.text())
            if not 0 < lr <= MAX_SET_LR:
                raise ValueError
        except ValueError:
            self.peak.setStyleSheet(INVALID)
            self.show_problem(f"{PEAK_REFUSED}expected a number above 0 and at most {MAX_SET_LR:g}, e.g. 0.1")
            return
        self.peak.setStyleSheet("")
        start = self.step if self.running else 0
        self.origin = start
        shape = preset(self.preset.currentText(), lr, max(2, self.total_steps - start))
        self.segments = list(shape.segments)
        self.replacing = self.running
        self.presetUsed.emit()
        # A shape that begins at its peak (cosine, a constant) would begin at the current LR instead: the typed peak was
        # thrown away unseen. Only a warm-up (one-cycle) rises from the current LR to the peak the user typed.
        self.from_current_wanted = shape.lr_at(0) < lr
        self._refresh_table(select=0)
        self._changed()
        self._offer_from_current()

    def set_momentum(self, momentum: float) -> None:
        """The run's configured momentum: at 0 a segment's momentum fields do nothing, and say so."""
        self.form.set_no_momentum(momentum == 0)

    def install_preset(self, kind: str, lr: float) -> None:
        """Replace the segments by the preset ``kind`` peaking at ``lr`` (a range-test suggestion)."""
        self.preset.setCurrentText(kind)
        self.peak.setText(fmt_lr(lr))
        self.use_preset()

    @Slot()
    def add_segment(self) -> None:
        """Insert a segment of the chosen kind after the selected one."""
        index = self._selected_index() + 1 if self.segments else 0
        before = Schedule(tuple(self.segments)) if self.segments else None
        lr = before.lr_at(sum(s.steps for s in self.segments[:index])) if before else 0.1
        self.segments.insert(index, default_segment(self.kind.currentText(), max(10, self.total_steps // 5), lr))
        self._refresh_table(select=index)
        self._changed()

    @Slot()
    def remove_segment(self) -> None:
        """Delete the selected segment (one always stays)."""
        if len(self.segments) > 1:
            index = self._selected_index()
            del self.segments[index]
            self._refresh_table(select=max(0, index - 1))
            self._changed()

    @Slot()
    def apply_from_now(self) -> None:
        """Send the editor's schedule to the running job."""
        try:
            schedule = self.plan().schedule
        except ValueError as error:
            self.show_problem(str(error))
            return
        if self._replaces():
            # A plan to the run's end is stretched over the steps left when it lands: a preset made some steps ago would
            # lengthen the run by as many. A plan whose length the user changed keeps it.
            to_the_end = self.origin + schedule.total_steps == self.total_steps
            self.editRequested.emit(ReplaceRest(schedule, from_current_lr=self.from_current.isChecked(), fit_rest=to_the_end))
        else:
            self.editRequested.emit(Revise(schedule))
        self.replacing = False
        self._offer_from_current()

    def _replaces(self) -> bool:
        """Whether Apply installs a new shape from now (a preset), rather than revising the shape in force in place."""
        return self.replacing or self.in_force is None or self.origin != self.in_force[0]

    def _offer_from_current(self) -> None:
        """'Start from the current LR' only means something for a new shape: a revision keeps its place on the step
        axis, so the LR now is the revised shape's (a lower max LR lowers it). Saying so beats a box that does nothing."""
        replaces = self._replaces()
        offered = self.running and replaces
        self.from_current.setEnabled(offered)
        self.from_current.setChecked(offered and self.from_current_wanted)
        self.from_current.setToolTip(FROM_CURRENT_TIPS[replaces])

    @Slot(bool)
    def _from_current_toggled(self, checked: bool) -> None:
        if self.from_current.isEnabled():  # the user's choice, not the box cleared while it is not offered
            self.from_current_wanted = checked

    @Slot()
    def set_lr_now(self) -> None:
        """Hold the typed LR from now on."""
        if (lr := self._typed(self.set_lr, "Set LR now: expected a number, e.g. 0.01")) is not None:
            self.editRequested.emit(SetConstant(lr))

    @Slot()
    def scale_rest_now(self) -> None:
        """Multiply the rest of the schedule by the typed factor (the engine refuses one out of range, saying why)."""
        if (factor := self._typed(self.scale_by, "Scale the rest: expected a factor, e.g. 0.5 to halve every LR still to come")) is not None:
            self.editRequested.emit(ScaleRest(factor))

    def _typed(self, field, problem: str) -> float | None:
        """The number typed in ``field``, or None after saying ``problem`` beside it."""
        try:
            return float(field.text())
        except ValueError:
            self.run_edits.show_problem(problem)
            return None

    # -- following the run -----------------------------------------------------------------

    def run_started(self, total_steps: int) -> None:
        """A run began: editing now changes it."""
        self.total_steps = total_steps
        self._set_running(True)

    def run_ended(self) -> None:
        """The run is over: the editor plans the next one (an LR typed for this run is not offered to the next)."""
        self._set_running(False)
        self.set_lr.clear()
        self.scale_by.clear()
        self.run_edits.show_problem("")
        self.dirty = False
        self.origin, self.replacing, self.in_force, self.in_force_from = 0, False, None, None
        self._show_length()  # "…, in force from 804" of a run no longer followed stayed when contact with it was lost

    def follow(self, run_schedule, step: int) -> None:
        """The running job's schedule changed: show the piece in force and the edit history."""
        piece = run_schedule.timeline.pieces[-1]
        self.run_edits.show_problem("")  # an edit refused before this one is past: "the LR to hold must be above 0" stayed
        self.in_force, self.in_force_from = (piece.origin, piece.schedule), piece.start
        self.total_steps, self.step = run_schedule.timeline.total_steps, step
        self.origin, self.segments, self.replacing, self.dirty = piece.origin, list(piece.schedule.segments), False, False
        self._offer_preset_of(piece.schedule)
        self.run_edits.show_history(run_schedule)
        self._refresh_table()
        self._changed(by_user=False)
        self._offer_from_current()

    def set_step(self, step: int) -> None:
        """The current step of the run."""
        self.step = step

    # -- internals ---------------------------------------------------------------------------

    def _offer_preset_of(self, schedule: Schedule) -> None:
        """The preset fields offer the shown schedule's shape and peak: after a Set LR they offered the one-cycle
        at 0.2 beside a constant at 0.01 (and Use preset after a revision to 0.05 went back to the old 0.2)."""
        self.peak.setText(fmt_lr(peak_lr(schedule)))
        shape = preset_of(schedule)
        if shape is not None:  # a shape of its own keeps the last preset chosen: there is none to show
            self.preset.setCurrentText(shape)

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.run_edits.set_running(running)
        self._offer_from_current()

    def show_problem(self, text: str) -> None:
        """Say why a value is refused (in full in the tooltip, should it not fit its two lines)."""
        self.problem.setText(text)
        self.problem.setToolTip(text)

    def _selected_index(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else len(self.segments) - 1

    def _refresh_table(self, select: int | None = None) -> None:
        selected = self._selected_index() if select is None else select
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.segments))
        start = self.origin
        for row, segment in enumerate(self.segments):
            values = (segment.kind, str(start), str(segment.steps), lr_span(segment))
            for column, text in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(text))
            start += segment.steps
        self.table.blockSignals(False)
        self.table.selectRow(min(max(selected, 0), len(self.segments) - 1))
        self._selected()
        self._show_length()

    def _show_length(self) -> None:
        end = self.origin + sum(segment.steps for segment in self.segments)
        later = self.in_force_from is not None and self.in_force_from > self.origin
        # Short: the dock is about 390 px wide at 1366 x 768, and ", in force from step 396" was cut to "in force fro".
        self.length.setText(f"run: {self.total_steps} steps; this schedule: steps {self.origin}–{end}"
                            + (f", in force from {self.in_force_from}" if later else ""))

    @Slot()
    def _selected(self) -> None:
        index = self._selected_index()
        segment = self.segments[index] if 0 <= index < len(self.segments) else None
        self.form.set_segment(segment)
        self.keypointsShown.emit(self._keypoints(index) if segment is not None and segment.kind == "keypoints" else None)

    def _keypoints(self, index: int) -> tuple[int, list[tuple[float, float]]]:
        start = self.origin + sum(s.steps for s in self.segments[:index])
        return index, [(start + step, lr) for step, lr in self.segments[index].points]

    def move_keypoint(self, index: int, point: int, step: float, lr: float) -> None:
        """A keypoint was dragged on the plot to (global step, LR)."""
        segment = self.segments[index]
        start = self.origin + sum(s.steps for s in self.segments[:index])
        points = list(segment.points)
        low = points[point - 1][0] + 1e-6 if point > 0 else 0.0
        high = points[point + 1][0] - 1e-6 if point + 1 < len(points) else float(segment.steps)
        points[point] = (float(np.clip(step - start, low, high)), max(lr, 1e-12))
        self.segments[index] = dataclasses.replace(segment, points=tuple(points))
        self.form.set_segment(self.segments[index])
        self._changed()

    @Slot(object)
    def _segment_changed(self, segment) -> None:
        self.segments[self._selected_index()] = segment
        self._refresh_table()
        self._changed()

    def _changed(self, by_user: bool = True) -> None:
        """The plan changed: a change by the user is unsent at once (the window keeps it as the dataset's draft);
        the preview follows after a short pause in typing."""
        if by_user:
            self.dirty = True
            self.in_force_from = None  # the editor holds the user's plan now, not the run's piece
            self._show_length()
            self.edited.emit()
        self._preview_timer.start()

    @Slot()
    def _emit_preview(self) -> None:
        try:
            plan = self.plan()
        except ValueError as error:
            self.show_problem(str(error))
            return
        self.show_problem("")
        self.previewChanged.emit(plan)
