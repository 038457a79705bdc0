"""Training configuration: every field checked as it is typed, with the reason shown at the field."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from engine.config import AUGMENTATIONS, FROZEN_BN, MODEL_NAMES, OPTIMIZER_NAMES, PRETRAINED_AUTO, TrainConfig, field_error
from engine.curvature.settings import BN_MODES
from engine.text import counted

from .fitted_note import FittedNote

INVALID = "border: 2px solid #d62728;"

# field: (label, help, kind) - kinds: "choice", "int", "float", "flag", "switch" (a flag for "auto" or "")
FIELDS: dict[str, tuple[str, str, str]] = {
    "model": ("model", "The network: a small CNN for small images, or a torchvision classifier adapted to the data.", "choice"),
    "pretrained": ("pretrained", "Start from the model's ImageNet weights (torchvision's, from the torch hub cache) "
                                 "with a new head for this dataset's classes.", "switch"),
    "freeze_epochs": ("freeze epochs", "Fine-tuning: train the head alone for this many epochs, then every group with "
                                       "LRs spread over a factor of 100 (fastai's fine_tune); 0: no freezing.", "int"),
    "frozen_bn": ("BN while frozen", "BatchNorm while a group is frozen. train: its BatchNorm layers keep adapting their "
                                     "statistics (fastai's default); freeze: they are held too.", "choice"),
    "optimizer": ("optimizer", "SGD with momentum, Adam or AdamW.", "choice"),
    "momentum": ("momentum", "SGD's momentum, or Adam's beta1 (0 to below 1).", "float"),
    "nesterov": ("Nesterov", "Use Nesterov momentum (SGD only).", "flag"),
    "weight_decay": ("weight decay", "L2 penalty on the weights (0 to 1); 5e-4 is usual for SGD.", "float"),
    "batch_size": ("batch size", "Images per training step.", "int"),
    "epochs": ("epochs", "Passes over the training images; with the batch size this sets the run's length.", "int"),
    "image_size": ("image size", "Training resolution in pixels (0: the dataset's median size).", "int"),
    "augment": ("augmentation", "Random shifts (and flips) of training images, done on the device.", "choice"),
    "device": ("device", "Where to train: auto picks the GPU when there is one.", "choice"),
    "seed": ("seed", "The same seed and settings give the same run.", "int"),
    "amp": ("mixed precision", "Train in bfloat16/float16 on a CUDA GPU (faster, less memory).", "flag"),
    "memory_budget_mb": ("memory (MB)", "Decoded images are kept in memory up to this size; a larger dataset streams from disk.", "int"),
    "checkpoint_seconds": ("checkpoint (s)", "A checkpoint at least this often, so a crash loses at most this much training (0: epoch ends only).", "float"),
    "curvature_every": ("λmax every", "Steps between curvature measurements (λmax) in the next run; auto keeps them within 5% "
                        "of training time, off never measures. The Health tab's changes it in a running run.", "int"),
    "curvature_bn": ("λmax BatchNorm", "BatchNorm during the curvature probe: batch statistics as in training, or "
                     "running averages as at evaluation (they measure different surfaces).", "choice"),
    "curvature_margin": ("warn at bound ×", "Warn when the LR passes this share of the stability bound (0.05 to 1).", "float"),
}
IDLE_NOTE = "These settings are for the next run."
# Where a run trains, not how: a run followed on a server says "cuda" where this window's next run says "auto".
MACHINE_FIELDS = ("device",)
CHOICES = {"model": MODEL_NAMES, "frozen_bn": FROZEN_BN, "optimizer": OPTIMIZER_NAMES, "augment": AUGMENTATIONS, "device": ("auto", "cpu"),
           "curvature_bn": BN_MODES}


class ConfigPanel(QWidget):
    """A form over TrainConfig's fields; ``changed`` fires with the field name on every valid edit."""

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, str] = {}
        # Two lines kept whether a value is refused or not: a reason that came and went pushed every field down under the
        # mouse as a value was typed. More reasons than its lines hold are counted, and listed in its tooltip.
        self.message = FittedNote(2)
        self.message.setStyleSheet("color: #d62728;")
        # While the window follows a run started elsewhere, which of its settings differ from these fields (they are
        # this window's, for its next run: read as the run's, they said 32 px for a run at 16).
        # As tall whatever it says, while a run goes on: a note that grew as a field was typed pushed the form down under
        # the mouse, and a click aimed at image size changed epochs (helper-72). What its lines cannot hold is counted
        # (its last line was cut off at 1366×768), and listed in its tooltip.
        self.followed = FittedNote(3, IDLE_NOTE)
        self.followed_config: dict | None = None
        self.own_run = False  # whether the run followed is the window's own
        self.pinned = QWidget()  # the window pins it above the scrolled form
        column = QVBoxLayout(self.pinned)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.message)
        column.addWidget(self.followed)
        form = QFormLayout(self)
        defaults = TrainConfig()
        for name, (label, help_text, kind) in FIELDS.items():
            editor = self._editor(name, kind)
            editor.setToolTip(help_text)
            # A red outline makes a field 2 px shorter: every field below it moved up as a refused value was typed.
            editor.setMinimumHeight(editor.sizeHint().height())
            title = QLabel(label)
            title.setToolTip(help_text)
            form.addRow(title, editor)
            self.editors[name] = editor
            self._show(name, getattr(defaults, name))

    def _editor(self, name: str, kind: str) -> QWidget:
        if kind == "choice":
            editor = QComboBox()
            # Sized for a short name, not the longest one (a GPU's), which made the dock scroll sideways.
            editor.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            editor.setMinimumContentsLength(8)
            editor.addItems(list(CHOICES[name]))
            editor.currentTextChanged.connect(lambda _text, n=name: self._edited(n))
        elif kind in ("flag", "switch"):
            editor = QCheckBox()
            editor.toggled.connect(lambda _on, n=name: self._edited(n))
        else:
            editor = QLineEdit()
            editor.textEdited.connect(lambda _text, n=name: self._edited(n))
        return editor

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        """The devices this machine has: (value, description such as the GPU's name)."""
        combo: QComboBox = self.editors["device"]
        current = combo.currentData() or combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        for value, description in devices:
            combo.addItem(description if value == description else f"{value}: {description}", value)
        index = combo.findData(current)
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)

    def _read(self, name: str) -> Any:
        editor, kind = self.editors[name], FIELDS[name][2]
        if kind == "choice":
            return editor.currentData() or editor.currentText()
        if kind == "flag":
            return editor.isChecked()
        if kind == "switch":
            return PRETRAINED_AUTO if editor.isChecked() else ""
        text = editor.text().strip()
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:
            return text

    def _show(self, name: str, value: Any) -> None:
        editor = self.editors[name]
        editor.blockSignals(True)
        if isinstance(editor, QComboBox):
            index = editor.findData(value)
            editor.setCurrentIndex(index if index >= 0 else max(0, editor.findText(str(value))))
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        else:
            editor.setText(f"{value:g}" if isinstance(value, float) else str(value))
        editor.blockSignals(False)

    @Slot()
    def _edited(self, name: str) -> None:
        reason = field_error(name, self._read(name))
        editor = self.editors[name]
        if reason:
            self.errors[name] = reason
            editor.setStyleSheet(INVALID)
            editor.setToolTip(f"{FIELDS[name][0]}: {reason}")
        else:
            self.errors.pop(name, None)
            editor.setStyleSheet("")
            editor.setToolTip(FIELDS[name][1])
        refused = [f"{FIELDS[n][0]}: {r}" for n, r in self.errors.items()]
        self.message.say(lambda shown: _reasons(refused, shown), len(refused))
        if not reason:
            self.changed.emit(name)
        self._say_followed()

    def follow(self, config: dict | None, own: bool = False) -> None:
        """The settings of the run going on (None: none is), followed from another process or the window's ``own``."""
        self.followed_config, self.own_run = config, own
        self._say_followed()

    def _say_followed(self) -> None:
        config = self.followed_config
        values = self.values()
        differ = [f"{FIELDS[name][0]} {_shown(config[name])}" for name in FIELDS
                  if name in config and name not in MACHINE_FIELDS and config[name] != values[name]] if config else []
        # Said of the window's own run too: momentum 0 typed mid-run changed nothing, silently. Said with no run too, in
        # the same room: shown only during a run, it moved every field 50 px down as the run started (helper-79).
        if not config:
            self.followed.say(lambda _shown: IDLE_NOTE, 0)
        elif self.own_run:
            self.followed.say(lambda shown: f"The run going on trains with {_listed(differ, shown)}: these fields are for "
                              "the next run." if differ else
                              "The run going on trains with these settings; a field changed now is for the next run.", len(differ))
        else:
            self.followed.say(lambda shown: f"The run followed trains with {_listed(differ, shown)}: these fields are this "
                              "window's, for its next run." if differ else "The run followed trains with these settings.",
                              len(differ))

    def values(self) -> dict[str, Any]:
        """The fields as typed (valid or not)."""
        return {name: self._read(name) for name in FIELDS}

    def set_values(self, values: dict[str, Any]) -> None:
        """Show saved values (unknown or invalid ones are skipped)."""
        for name, value in values.items():
            if name in FIELDS and field_error(name, value) is None:
                self._show(name, value)
        self._say_followed()

    def config(self, **extra) -> TrainConfig:
        """A valid TrainConfig; ValueError lists every invalid field."""
        if self.errors:
            raise ValueError("; ".join(f"{FIELDS[n][0]}: {r}" for n, r in self.errors.items()))
        config = TrainConfig(**{**self.values(), **extra})
        problems = config.errors()
        if problems:
            raise ValueError("; ".join(f"{n}: {r}" for n, r in problems.items()))
        return config


def _shown(value: Any) -> str:
    """A setting as the form shows it: 0.0005 not 5e-04's repr, on/off for a flag, "none" for an empty one."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value) if value != "" else "none"


def _reasons(refused: list[str], shown: int) -> str:
    """The first ``shown`` reasons a value was refused, a line each, the others counted: "1 other value cannot work"."""
    left = len(refused) - shown
    counted_rest = [f"{counted(left, 'other value' if shown else 'value')} cannot work (see the tooltip)"] if left else []
    return "\n".join(refused[:shown] + counted_rest)


def _listed(settings: list[str], shown: int) -> str:
    """The first ``shown`` of ``settings``, the others counted: "momentum 0.9, epochs 20 and 3 more (see the tooltip)"."""
    left = len(settings) - shown
    if not left:
        return ", ".join(settings)
    if not shown:
        return f"{left} settings of its own (see the tooltip)"
    return f"{', '.join(settings[:shown])} and {left} more (see the tooltip)"
