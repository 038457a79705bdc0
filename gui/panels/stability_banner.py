"""A bar under the plots that says, in words, why the run is near its stability bound, and offers the fix."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea

LEAST_LINES = 2


class Words(QScrollArea):
    """The warning's words: as many lines as they take while the window has the room, at least two (then they scroll).
    Beside the buttons at 1024 x 600 they took six lines and made the window 609 px tall, past the screen's foot."""

    def __init__(self, label: QLabel):
        super().__init__()
        self.label = label
        self.setWidget(label)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.viewport().setAutoFillBackground(False)  # the banner's colour shows through
        label.setAutoFillBackground(False)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(0, LEAST_LINES * self.label.fontMetrics().lineSpacing())

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        return self.label.heightForWidth(width)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(super().sizeHint().width(), self.heightForWidth(max(1, self.width())))


class StabilityBanner(QFrame):
    """Hidden until a StabilityWarning; "Scale the rest" sends the edit, "Dismiss" hides it."""

    scaleRequested = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("stabilityBanner")
        self.setStyleSheet("#stabilityBanner { background: #fff3cd; border: 1px solid #e0c060; }")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.scale = QPushButton("Scale the rest")
        self.scale.setToolTip("Multiply every LR from now to the end of the run by this factor (one edit; Undo takes it back).")
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setToolTip("Hide this warning; the schedule stays as it is, and a new warning shows again.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.addWidget(Words(self.text), 1)
        layout.addWidget(self.scale)
        layout.addWidget(self.dismiss)
        self.factor = 1.0
        self.step, self.kind = 0, ""  # the step and kind of the warning shown
        self.resolved = lambda measurement: False  # whether a later measurement makes it stale
        self.scale.clicked.connect(self._scale)
        self.dismiss.clicked.connect(self.hide)
        self.hide()

    def show_warning(self, event, resolved) -> None:
        """Show a StabilityWarning until ``resolved(measurement)`` says a later one made it stale; the scale button
        appears when the warning's factor would change anything."""
        self.text.setText(f"⚠ {event.message} {event.advice}")  # the message names its step ("λmax 0.898 at step 10")
        self.step, self.kind, self.resolved = event.step, event.kind, resolved
        self.factor = event.scale
        self.scale.setText(f"Scale the rest ×{event.scale:.3g}")  # as the advice beside it says it
        self.scale.setVisible(event.scale < 1.0)
        self.show()

    @Slot()
    def _scale(self) -> None:
        self.scaleRequested.emit(self.factor)
        self.hide()
