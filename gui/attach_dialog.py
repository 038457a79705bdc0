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

Target = str | tuple[str, str]  # a run's folder, or (address, token)


class AttachDialog(QDialog):
    """Asks where the run is; ``target()`` is a folder (str) or (address, token), or None when nothing was given.
    ``last``, the target given last time, fills the fields: after a refused token everything had to be typed again."""

    def __init__(self, parent: QWidget | None, last: Target | None = None):
        super().__init__(parent)
        self.setWindowTitle("Attach to run")
        self.by_folder, self.by_address = QRadioButton("A run folder on this machine"), QRadioButton("An address and its token")
        address, token = last if isinstance(last, tuple) else ("", "")
        self.folder, self.address, self.token = QLineEdit(last if isinstance(last, str) else ""), QLineEdit(address), QLineEdit(token)
        (self.by_address if isinstance(last, tuple) else self.by_folder).setChecked(True)
        self.address.setPlaceholderText("HOST:PORT, e.g. 127.0.0.1:5555")
        self.token.setPlaceholderText("printed when the run started")
        self.token.setToolTip("The token the run printed when it started; its folder's serve.token holds it too.")
        self.address.setToolTip("Where the run listens; for another machine, the local end of an SSH tunnel to it.")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #d62728")
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
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        for edit, choice in ((self.folder, self.by_folder), (self.address, self.by_address), (self.token, self.by_address)):
            edit.textEdited.connect(lambda _text, choice=choice: choice.setChecked(True))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A served run's folder", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self.by_folder.setChecked(True)

    def accept(self) -> None:
        """Close only with somewhere to attach to: OK on an empty field closed the dialog without a word."""
        if self.target() is not None:
            super().accept()
        elif self.by_folder.isChecked():
            self.problem.setText("Give the folder of a run started with --serve (Browse… finds it).")
        else:
            self.problem.setText("Give the address the run listens at, HOST:PORT, and its token.")

    def target(self) -> Target | None:
        """What the user gave."""
        if self.by_folder.isChecked():
            return self.folder.text().strip() or None
        address = self.address.text().strip()
        return (address, self.token.text().strip()) if address else None


def ask_attach_target(parent: QWidget, last: Target | None = None) -> Target | None:
    """A served run's folder, or (address, token); None when the user cancelled."""
    dialog = AttachDialog(parent, last)
    return dialog.target() if dialog.exec() == QDialog.DialogCode.Accepted else None
