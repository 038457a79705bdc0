"""Every file dialog and question the window puts to the user goes through this module.

Callers use the functions below. They keep the policy (a dialog opens in the folder used last
for its kind, remembered across launches); the Qt part sits behind a small backend object
that tests replace with scripted answers (``use``; see ``tests/gui_fixtures.py``), so the path
from an action to a file is the real one everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QFileInfo, QMimeDatabase, Qt
from PySide6.QtGui import QAbstractFileIconProvider
from PySide6.QtWidgets import QDialog, QFileDialog, QFileIconProvider, QMessageBox, QWidget

from .settings import open_settings

SCHEDULE_FILES = "lrscope schedule (*.json)"
LAST_FOLDER = "dialogs/last_folder"  # one per kind: datasets, schedule files, plots saved


class NamesOnlyIcons(QFileIconProvider):
    """Icons and kinds of file from names alone. Qt's own read a file's first bytes to tell its kind, and typing a path
    in /proc froze the window for good: the read of /proc/kmsg (or of a pipe) waits for data that never comes."""

    def icon(self, what):
        if isinstance(what, QFileInfo):
            what = QAbstractFileIconProvider.IconType.Folder if what.isDir() else QAbstractFileIconProvider.IconType.File
        return super().icon(what)

    def type(self, info: QFileInfo) -> str:
        if info.isDir():
            return "Folder"
        kind = QMimeDatabase().mimeTypeForFile(info.fileName(), QMimeDatabase.MatchMode.MatchExtension)
        return "File" if kind.isDefault() else kind.comment()


NAMES_ONLY = NamesOnlyIcons()  # a dialog does not own its icon provider: it must outlive them


def file_dialog(parent: QWidget, title: str, start: str, kinds: str = "", mode: str = "open") -> QFileDialog:
    """A file dialog that never reads the files it lists (``mode``: open, save or folder)."""
    dialog = QFileDialog(parent, title, start, kinds)
    dialog.setIconProvider(NAMES_ONLY)
    if mode == "save":
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    else:
        dialog.setFileMode(QFileDialog.FileMode.Directory if mode == "folder" else QFileDialog.FileMode.ExistingFile)
    if mode == "folder":
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
    return dialog


def _chosen(dialog: QFileDialog) -> str | None:
    """The path chosen in ``dialog`` (None if cancelled); the dialog goes once read (each one stayed, a child of the
    window, until it closed)."""
    try:
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        return dialog.selectedFiles()[0] if accepted and dialog.selectedFiles() else None
    finally:
        dialog.deleteLater()


class QtDialogs:
    """The real dialogs. Questions block; errors and offers do not (the run goes on behind them)."""

    def open_folder(self, parent: QWidget, title: str, start: str) -> str | None:
        return _chosen(file_dialog(parent, title, start, mode="folder"))

    def open_file(self, parent: QWidget, title: str, start: str, kinds: str) -> str | None:
        return _chosen(file_dialog(parent, title, start, kinds))

    def save_path(self, parent: QWidget, title: str, start: str, kinds: str) -> str | None:
        return _chosen(file_dialog(parent, title, start, kinds, mode="save"))

    def attach_target(self, parent: QWidget, last: str | tuple[str, str] | None) -> str | tuple[str, str] | None:
        from .attach_dialog import ask_attach_target

        return ask_attach_target(parent, last)

    def yes_no(self, parent: QWidget, title: str, text: str, details: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setInformativeText(details)
        return box.exec() == QMessageBox.StandardButton.Yes

    def error(self, parent: QWidget, title: str, text: str, details: str) -> None:
        self.dismiss(parent, title)  # the same problem said again replaces its box: they piled up over the plots
        box = self._box(parent, title, text, details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.addButton(QMessageBox.StandardButton.Ok)
        box.show()

    def info(self, parent: QWidget, title: str, text: str, details: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
        box.setInformativeText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        box.show()

    def dismiss(self, parent: QWidget, title: str) -> None:
        for box in parent.findChildren(QMessageBox):
            if box.windowTitle() == title and box.isVisible() and not isinstance(box, OfferBox):
                box.close()

    def offer(self, parent: QWidget, title: str, text: str, details: str, choices: list[tuple[str, Callable[[], None]]]):
        box = self._box(parent, title, text, details, OfferBox)
        for label, chosen in choices:
            # clicked(bool) would pass `checked` to a callable that takes an argument (a default one included)
            box.addButton(label, QMessageBox.ButtonRole.ActionRole).clicked.connect(lambda _checked=False, chosen=chosen: chosen())
        box.show()
        return box

    @staticmethod
    def _box(parent: QWidget, title: str, text: str, details: str, kind: type[QMessageBox] = QMessageBox) -> QMessageBox:
        box = kind(QMessageBox.Icon.Warning, title, text, parent=parent)
        box.setInformativeText(details)
        box.setModal(False)
        return box


class OfferBox(QMessageBox):
    """A box of choices that closes without one: by its title bar's ×, or when what it offers is over (the run
    ended). A QMessageBox without an escape button ignores every close, so a stopped run's box stayed up."""

    def closeEvent(self, event) -> None:
        QDialog.closeEvent(self, event)


_backend = QtDialogs()


def use(backend) -> object:
    """Answer every dialog with ``backend`` from now on (tests pass scripted answers); returns the previous one."""
    global _backend
    previous, _backend = _backend, backend
    return previous


def start_folder(kind: str, near: str | None = None) -> str:
    """Where a dialog for ``kind`` ("dataset", "schedule" or "file") opens: where the last one of that kind went, else
    ``near`` (e.g. the folder holding the open dataset), else home. Not the folder lrscope was started in: from a
    launcher or a file manager that is / or anywhere, and the first export opened there."""
    folder = open_settings().value(f"{LAST_FOLDER}/{kind}", "")
    for candidate in (folder, near):
        if isinstance(candidate, str) and candidate and Path(candidate).is_dir():
            return candidate
    return str(Path.home())


def _remember(kind: str, path: str | None) -> str | None:
    """Remember the folder that holds ``path`` (a dataset's parent shows its siblings next time)."""
    if path:
        settings = open_settings()
        settings.setValue(f"{LAST_FOLDER}/{kind}", str(Path(path).parent))
        settings.sync()
    return path


def ask_open_folder(parent: QWidget, title: str, near: str | None = None) -> str | None:
    """A folder the user picked, or None; the first time it opens ``near`` (say, beside the open dataset)."""
    return _remember("dataset", _backend.open_folder(parent, title, start_folder("dataset", near)))


def ask_open_schedule(parent: QWidget, title: str) -> str | None:
    """A schedule file to read, or None; the dialog opens where the last schedule file was written or read."""
    return _remember("schedule", _backend.open_file(parent, title, start_folder("schedule"), SCHEDULE_FILES))


def ask_save_path(parent: QWidget, title: str, file_name: str, kinds: str, kind: str = "file") -> str | None:
    """Where to write a file (``file_name`` is suggested in the folder the last file of ``kind`` went to), or None."""
    return _remember(kind, _backend.save_path(parent, title, str(Path(start_folder(kind)) / file_name), kinds))


def ask_schedule_path(parent: QWidget, title: str, file_name: str) -> str | None:
    """Where to write a schedule file: where the last schedule file was written or read (a plot saved as PNG meanwhile
    does not move it), the first time home."""
    return ask_save_path(parent, title, file_name, SCHEDULE_FILES, kind="schedule")


def ask_attach_target(parent: QWidget, last: str | tuple[str, str] | None = None) -> str | tuple[str, str] | None:
    """A served run's folder, or (address, token), the fields filled with ``last``; None when the user cancelled."""
    return _backend.attach_target(parent, last)


def ask_yes_no(parent: QWidget, title: str, text: str, details: str = "") -> bool:
    """A question; True for yes."""
    return bool(_backend.yes_no(parent, title, text, details))


def show_error(parent: QWidget, title: str, text: str, details: str = "") -> None:
    """Say what went wrong and what to do, without blocking the window."""
    _backend.error(parent, title, text, details)


def show_info(parent: QWidget, title: str, text: str, details: str = "") -> None:
    """Something to read (the shortcuts, the version), without blocking the window."""
    _backend.info(parent, title, text, details)


def dismiss(parent: QWidget, title: str) -> None:
    """Close the boxes titled ``title``: what they say or ask no longer holds (Start refused, then started; a run asked
    about ended). A question closed so answers No."""
    _backend.dismiss(parent, title)


def offer(parent: QWidget, title: str, text: str, details: str, choices: list[tuple[str, Callable[[], None]]]):
    """A non-blocking message with a button per choice; returns the box (``close()``, ``text()``, ``setInformativeText()``)."""
    return _backend.offer(parent, title, text, details, choices)
