"""A form for one segment, generated from its parameters' metadata: the right widget per kind,
the help text as tooltip, and each value checked at its field."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget

from engine.schedules.shapes import Shape
from engine.schedules.shapes.base import CHOICE, COUNT, FLAG, MOMENTUM, POINTS, STEP_LIST, STEPS

from ..wheel_guard import guard_wheel
from .field_columns import FieldColumns
from .narrow import as_wide_as

INVALID = "QLineEdit { border: 2px solid #d62728; }"


# What a field of each kind shows whole however narrow it is laid out (None: any other number).
USUAL = {STEPS: "9999999", COUNT: "9999999", MOMENTUM: "0.95", None: "0.000001"}

MOMENTUM_FIELDS = {"cycle_momentum", "base_momentum", "max_momentum"}
NO_MOMENTUM = "The run's momentum is 0 (Configuration), so there is no momentum to cycle: set one there to use these."


def parse(kind: str, text: str) -> Any:
    """A typed value from a field's text; ValueError says what is expected."""
    text = text.strip()
    if kind == STEP_LIST:
        try:
            return tuple(int(part) for part in text.replace(";", ",").split(",") if part.strip())
        except ValueError:
            raise ValueError("expected whole numbers separated by commas, e.g. 300, 600") from None
    if kind == POINTS:
        points = []
        for part in (p for p in text.replace(";", ",").split(",") if p.strip()):
            step, _, lr = part.partition(":")
            try:
                points.append((float(step), float(lr)))
            except ValueError:
                raise ValueError("expected step:LR pairs separated by commas, e.g. 0:0.01, 500:0.1") from None
        return tuple(points)
    try:
        return float(text)
    except ValueError:
        raise ValueError("expected a number, e.g. 0.1 or 3e-4") from None


def show(kind: str, value: Any) -> str:
    """A value as the text of its field."""
    if kind == STEP_LIST:
        return ", ".join(str(v) for v in value)
    if kind == POINTS:
        return ", ".join(f"{s:g}:{lr:.4g}" for s, lr in value)
    return f"{value:.6g}"


class SegmentForm(QWidget):
    """Edits one segment; emits ``changed`` with a valid new segment, ``problem`` with a reason otherwise.

    ``refused`` holds the reason for each field whose typed text was refused: the segment keeps its last valid
    value, so a plan read while a field is red would silently be another than the one on screen."""

    changed = Signal(object)
    problem = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)  # the editor's margins are the form's: with its own, it was 18 px narrower
        self.shown: QWidget | None = None  # the title and fields of the segment shown
        self.segment: Shape | None = None
        self.editors: dict[str, QWidget] = {}
        self.help: dict[str, str] = {}
        self.refused: dict[str, str] = {}
        self.no_momentum = False  # the run's momentum is 0: a segment's momentum fields do nothing (engine.schedules.timeline)

    def set_no_momentum(self, on: bool) -> None:
        """Grey the momentum fields out while the run's momentum is 0: "cycle momentum ✓ 0.85 … 0.95" read as cycling
        a momentum the run does not have."""
        self.no_momentum = on
        self._mark_momentum()

    def _mark_momentum(self) -> None:
        for name in MOMENTUM_FIELDS & self.editors.keys():
            self.editors[name].setEnabled(not self.no_momentum)
            self.editors[name].setToolTip(NO_MOMENTUM if self.no_momentum else self.help[name])

    def set_segment(self, segment: Shape | None) -> None:
        """Show ``segment``'s parameters (rebuilding the fields only when its kind changes)."""
        previous = self.segment
        self.segment = segment
        if segment is None or previous is None or previous.kind != segment.kind:
            self._build()
        for f in segment.params() if segment else ():
            self._show_value(f, getattr(segment, f.name))

    def _build(self) -> None:
        if self.shown is not None:  # out of the layout now: deleted later, it took room until the event loop came back
            self.shown.hide()
            self.layout_.removeWidget(self.shown)
            self.shown.deleteLater()
        self.shown = QWidget()
        column = QVBoxLayout(self.shown)
        column.setContentsMargins(0, 0, 0, 0)
        self.layout_.addWidget(self.shown)
        self.editors, self.refused = {}, {}
        if self.segment is None:
            column.addWidget(QLabel("Select a segment to edit its parameters."))
            return
        title = QLabel(f"<b>{self.segment.title}</b>")
        title.setToolTip((type(self.segment).__doc__ or "").strip())
        column.addWidget(title)
        fields = FieldColumns()
        column.addWidget(fields)
        for f in self.segment.params():
            editor = self._editor(f)
            editor.setToolTip(f.metadata["help"])
            self.editors[f.name] = editor
            self.help[f.name] = f.metadata["help"]
            if f.name not in MOMENTUM_FIELDS:
                label = QLabel(f.name.replace("_", " "))
                label.setToolTip(f.metadata["help"])
                fields.add_row(label, editor)
        if MOMENTUM_FIELDS <= self.editors.keys():
            column.addWidget(momentum_row(self.editors))
        if self.segment.kind == "keypoints":
            column.addWidget(QLabel("<i>Drag the points on the LR plot to move them.</i>"))
        self._mark_momentum()

    def _editor(self, f: dataclasses.Field) -> QWidget:
        kind = f.metadata["kind"]
        if kind in (STEPS, COUNT):
            editor = QSpinBox(minimum=1, maximum=2_000_000_000)
            editor.valueChanged.connect(lambda value, name=f.name: self._chosen(name, int(value)))
        elif kind == CHOICE:
            editor = QComboBox()
            editor.addItems(list(f.metadata["choices"]))
            editor.currentTextChanged.connect(lambda text, name=f.name: self._chosen(name, text))
        elif kind == FLAG:
            editor = QCheckBox()
            editor.toggled.connect(lambda on, name=f.name: self._chosen(name, bool(on)))
        else:
            editor = QLineEdit()
            editor.textEdited.connect(lambda text, name=f.name, k=kind, e=editor: self._typed(name, k, text, e))
        guard_wheel(editor)  # built after the window guarded the rest
        if isinstance(editor, (QSpinBox, QLineEdit)):  # as narrow as their usual values: a one-cycle's fit two columns
            as_wide_as(editor, USUAL.get(kind, USUAL[None]))
        return editor

    def _show_value(self, f: dataclasses.Field, value: Any) -> None:
        editor = self.editors.get(f.name)
        if editor is None:
            return
        editor.blockSignals(True)
        if isinstance(editor, QSpinBox):
            editor.setValue(int(value))
        elif isinstance(editor, QComboBox):
            editor.setCurrentText(str(value))
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif not editor.hasFocus():
            editor.setText(show(f.metadata["kind"], value))
            editor.setStyleSheet("")
            self.refused.pop(f.name, None)
        editor.blockSignals(False)

    @Slot()
    def _typed(self, name: str, kind: str, text: str, editor: QLineEdit) -> None:
        try:
            reason = self._set(name, parse(kind, text))
        except ValueError as error:
            reason = str(error)
        if reason is None:
            editor.setStyleSheet("")
            editor.setToolTip(self.help[name])
            self.refused.pop(name, None)
        else:
            self._refuse(editor, name, reason)

    def _chosen(self, name: str, value: Any) -> None:
        """A spin box, list or check box changed: the segment takes it, or the form says why not."""
        reason = self._set(name, value)
        if reason is not None:
            self.problem.emit(named(name, reason))

    def _refuse(self, editor: QLineEdit, name: str, reason: str) -> None:
        message = named(name, reason)
        editor.setStyleSheet(INVALID)
        editor.setToolTip(message)
        self.refused[name] = message
        self.problem.emit(message)

    def _set(self, name: str, value: Any) -> str | None:
        """Apply one parameter and emit the new segment if it is valid; else the reason, which the caller says (once,
        with the field's name: the bare reason, said here first, flashed by before it)."""
        try:
            candidate = dataclasses.replace(self.segment, **{name: value})
            candidate.validate()
        except (ValueError, TypeError) as error:
            return str(error)
        self.segment = candidate
        self.problem.emit("")
        self.changed.emit(candidate)
        return None


def momentum_row(editors: dict[str, QWidget]) -> QWidget:
    """The momentum's three fields on one line, "☑ cycle momentum 0.85 to 0.95": on three, each labelled in words as wide
    as a field, they kept a one-cycle's fields from fitting two columns."""
    editors["cycle_momentum"].setText("cycle momentum")
    row = QWidget()
    line = QHBoxLayout(row)
    line.setContentsMargins(0, 0, 0, 0)
    for widget in (editors["cycle_momentum"], editors["base_momentum"], QLabel("to"), editors["max_momentum"]):
        line.addWidget(widget)
    line.addStretch(1)
    return row


def named(field: str, reason: str) -> str:
    """A field's problem as the form says it: ``max lr: must be above 0`` (the schedule's own reason names the field
    first: "lr: lr must be a learning rate…")."""
    return f"{field.replace('_', ' ')}: {reason.removeprefix(f'{field} ')}"
