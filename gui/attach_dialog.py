"""The *Attach to run…* dialog: a served run's folder, or an address and its token."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)


class AttachDialog(QDialog):
    """Asks where the run is; ``target()`` is a folder (str) or (address, token), or None when nothing was given."""

    def __init__(self, parent: QWidget | None, start: str):
        super().__init__(parent)
        self.setWindowTitle("Attach to run")
        self.by_folder, self.by_address = QRadioButton("A run folder on this machine"), QRadioButton("An address and its token")
        self.by_folder.setChecked(True)
        self.folder, self.address, self.token = QLineEdit(start), QLineEdit(), QLineEdit()
        self.address.setPlaceholderText("127.0.0.1:5555 (through an SSH tunnel for another machine)")
        self.token.setPlaceholderText("printed when the run started; also in its folder's serve.token")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow(self.by_folder)
        form.addRow("Folder", row)
        form.addRow(self.by_address)
        form.addRow("Address", self.address)
        form.addRow("Token", self.token)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Follow and steer a run started with --serve (lrscope train … --serve).\n"
                                "Detaching or closing the window leaves it training."))
        layout.addLayout(form)
        layout.addWidget(buttons)
        for edit, choice in ((self.folder, self.by_folder), (self.address, self.by_address), (self.token, self.by_address)):
            edit.textEdited.connect(lambda _text, choice=choice: choice.setChecked(True))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A served run's folder", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self.by_folder.setChecked(True)

    def target(self) -> str | tuple[str, str] | None:
        """What the user gave."""
        if self.by_folder.isChecked():
            return self.folder.text().strip() or None
        address = self.address.text().strip()
        return (address, self.token.text().strip()) if address else None


def ask_attach_target(parent: QWidget) -> str | tuple[str, str] | None:
    """A served run's folder, or (address, token); None when the user cancelled."""
    dialog = AttachDialog(parent, "")
    return dialog.target() if dialog.exec() == QDialog.DialogCode.Accepted else None
