"""The dataset: open a folder, see what was found (classes, thumbnails, sizes, fingerprint, problems),
and the schedules already tuned for it."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.data.sizes import sizes_text
from engine.text import images_used

from .delete_action import add_delete_action
from .table import Table

THUMB = 56


def to_pixmap(image: np.ndarray, side: int = THUMB) -> QPixmap:
    """A uint8 H x W x C array (C = 1 or 3) as a pixmap scaled to ``side``."""
    height, width, channels = image.shape
    data = np.ascontiguousarray(image if channels == 3 else image[:, :, 0])
    fmt = QImage.Format.Format_RGB888 if channels == 3 else QImage.Format.Format_Grayscale8
    qimage = QImage(data.data, width, height, data.strides[0], fmt).copy()
    return QPixmap.fromImage(qimage).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)


class DatasetPanel(QWidget):
    """Shows a dataset's summary; ``openRequested`` carries a folder the user chose."""

    openRequested = Signal(str)
    scheduleChosen = Signal(str)
    scheduleDeleteRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        # The window connects this button to its Open action (and gives it the action's tooltip).
        self.open_button = QPushButton("Open folder…")
        self.recent = QToolButton(text="Recent")
        self.recent.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent.setMenu(QMenu(self.recent))
        self.recent.setToolTip("Open a dataset folder opened before. Enabled unless a run, range test or tune goes on.")
        # One short fact a line and no word wrap: a wrapping label's height depends on its width, which the
        # scroll area around this panel would turn into a panel taller than the dock on any screen.
        self.summary = QLabel("No dataset yet.")
        self.summary.setWordWrap(True)  # a long line (unreadable images, a long name) widened the dock past its scroll area
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # While the window follows a run of another dataset: its plots, log and Export are that run's, not this panel's.
        self.followed = QLabel()
        self.followed.setWordWrap(True)
        self.followed.setStyleSheet("color: #8a5a00")
        self.followed.hide()
        self.classes = Table(["class", "images"])
        self.classes.horizontalHeader().setStretchLastSection(True)
        self.thumbnails = QListWidget()
        self.thumbnails.setViewMode(QListView.ViewMode.IconMode)
        self.thumbnails.setIconSize(QSize(THUMB, THUMB))
        self.thumbnails.setResizeMode(QListView.ResizeMode.Adjust)
        self.thumbnails.setMinimumHeight(THUMB + 24)
        self.problems = QListWidget()
        self.problems.setWordWrap(True)
        self.problems.setToolTip("Warnings and errors from opening the dataset.")
        self.library = QListWidget()
        self.library.setWordWrap(True)  # "none yet: train, then File → Export tuned schedule" is wider than the dock
        self.library.setToolTip("Schedules tuned for this very dataset (same fingerprint); double-click one to load it, "
                                "Delete (or the right-click menu) deletes it.")
        self.library.itemDoubleClicked.connect(lambda item: self.scheduleChosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.delete_schedule_action = add_delete_action(self.library, "Delete library schedule…", "Delete the selected schedule from the library.",
                                                        self._delete_schedule)
        header = QHBoxLayout()
        header.addWidget(self.open_button)
        header.addWidget(self.recent)
        header.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.followed)
        layout.addWidget(self.summary)
        layout.addWidget(self.classes, 2)
        layout.addWidget(self.thumbnails, 2)
        layout.addWidget(QLabel("Problems"))
        layout.addWidget(self.problems, 1)
        layout.addWidget(QLabel("Schedules tuned for this dataset"))
        layout.addWidget(self.library, 1)

    def set_recent(self, folders: list[str]) -> None:
        """The recent-folders menu."""
        menu = self.recent.menu()
        menu.clear()
        for folder in folders:
            menu.addAction(folder, lambda f=folder: self.openRequested.emit(f))
        self.recent.setEnabled(bool(folders))

    def show_followed(self, text: str) -> None:
        """Say which other dataset the run followed trains ("": the run shown is this dataset's, or none)."""
        self.followed.setText(text)
        self.followed.setVisible(bool(text))

    def loading(self, folder: str) -> None:
        """A folder is being opened: nothing of the previous dataset stays on screen."""
        self.clear()
        self.summary.setText(f"Opening <b>{Path(folder).name}</b>…")
        self.summary.setToolTip(folder)

    def clear(self) -> None:
        """Show no dataset."""
        self.summary.setText("No dataset yet.")
        self.summary.setToolTip("")
        self.classes.setRowCount(0)
        self.thumbnails.clear()
        self.problems.clear()
        self.library.clear()

    def show_dataset(self, dataset, thumbnails: list[tuple[str, np.ndarray]]) -> None:
        """Show a prepared dataset."""
        s = dataset.summary
        found = dataset.found_counts()
        images = images_used(s.found, s.image_count)
        self.summary.setText("<br>".join((
            f"<b>{s.name}</b>",
            f"{images}, {len(s.classes)} classes{' (own train/val split)' if s.presplit else ''}",
            f"train {len(dataset.train_index)}, val {len(dataset.val_index)}",
            sizes_text(s.image_sizes, s.size_counts, s.sizes_read, s.image_count) or "sizes unknown",
            # Of the window's runs: "trained at 32 px" read as a fact about an attached run of 16 px (helper-73).
            f"resized to {s.resolution} px for this window's runs, {s.channels} channel{'s' if s.channels > 1 else ''}",
            "streamed from disk (over the memory budget)" if dataset.streams else "decoded once into memory",
            f"mean {', '.join(f'{v:.3f}' for v in s.mean)}",
            f"std {', '.join(f'{v:.3f}' for v in s.std)}",
            f"fingerprint <tt>{s.fingerprint}</tt>")))
        self.summary.setToolTip(s.root)
        self.classes.setRowCount(len(s.classes))
        for row, name in enumerate(s.classes):
            self.classes.setItem(row, 0, QTableWidgetItem(name))
            count = QTableWidgetItem(str(s.class_counts[name]))
            if found[row] != s.class_counts[name]:
                count.setToolTip(f"{found[row] - s.class_counts[name]} of the {found[row]} images found could not be read")
            self.classes.setItem(row, 1, count)
        self.thumbnails.clear()
        for name, image in thumbnails:
            item = QListWidgetItem(QIcon(to_pixmap(image)), "")
            item.setToolTip(name)
            self.thumbnails.addItem(item)
        self.problems.clear()
        for warning in dataset.warnings:
            self.add_problem(warning)

    def show_error(self, message: str) -> None:
        """Opening failed: say why, in the window (first in the panel: the Problems list is below the fold at 1366×768).
        A path may break after any slash, so that a long one does not widen the dock."""
        self.summary.setText("<b>This folder cannot be used:</b> " + html.escape(message).replace("/", "/&#8203;"))
        self.add_problem(message, error=True)

    def add_problem(self, text: str, error: bool = False) -> None:
        """A warning (or an error) line."""
        item = QListWidgetItem(("error: " if error else "warning: ") + text)
        item.setForeground(Qt.GlobalColor.red if error else Qt.GlobalColor.darkYellow)
        self.problems.addItem(item)

    def _delete_schedule(self) -> None:
        item = self.library.currentItem()
        path = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if path:  # not the "none yet" line
            self.scheduleDeleteRequested.emit(path)

    def show_library(self, entries) -> None:
        """Schedules from the library tuned for this dataset."""
        self.library.clear()
        for entry in entries:
            item = QListWidgetItem(entry_text(entry))
            item.setData(Qt.ItemDataRole.UserRole, str(entry.path))
            item.setToolTip(str(entry.path))
            self.library.addItem(item)
        if not entries:
            self.library.addItem(NO_ENTRY)


NO_ENTRY = "none yet: train, then File → Export tuned schedule"


def entry_text(entry) -> str:
    """A library entry in a line: when, what, how well its run did, and which run (two runs of one schedule read alike
    without it)."""
    accuracy = (f", best val {100 * entry.best_val_accuracy:.1f}%" if entry.best_val_accuracy is not None
                else ", no validation" if entry.so_far else "")
    run = f" (run {entry.run})" if entry.run else ""
    return f"{entry.local_time}: {entry.description}{accuracy}{entry.so_far}{run}"
