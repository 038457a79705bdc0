"""How narrow a control may be laid out, measured in its own font: at Qt's defaults (80 px a button, a spin box as wide
as its largest value, a line as wide as Qt's) the Schedule dock's rows were wider than the dock."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QLineEdit, QSpinBox


def as_wide_as_its_words(button: QAbstractButton) -> None:
    """A button no narrower than its text (the & of its Alt key not counted) and a little room around it."""
    button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text().replace("&", "")) + 16)


def as_wide_as(field: QLineEdit | QAbstractSpinBox, usual: str) -> None:
    """A field no narrower than needed to show ``usual``, a value as long as those it usually holds, whole."""
    metrics = field.fontMetrics()
    if isinstance(field, QSpinBox):  # Qt's narrowest spin box shows its largest value
        extra = metrics.horizontalAdvance(str(field.maximum()))
    else:  # and its narrowest line its font's widest character
        extra = metrics.maxWidth()
    field.setMinimumWidth(field.minimumSizeHint().width() - extra + metrics.horizontalAdvance(usual))
