"""The window's library actions: the open dataset's tuned schedules in the Dataset tab's list and the File menu, read
from the library whenever they are shown; add a received file, load or delete an entry."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot

from engine.errors import LrscopeError, cannot_write
from engine.text import printable

from . import dialogs, schedule_io
from .panels.dataset_panel import NO_ENTRY, entry_text


class LibraryActions:
    """Mixed into MainWindow: uses its dataset, dataset panel, library menu, log and dialogs."""

    library_seen: frozenset = frozenset()  # the library folder's files when the Dataset tab's list was last read

    def refresh_library(self) -> list:
        """Read the open dataset's library again into the Dataset tab's list; its entries, which the File menu shows too
        (the menu read the library and the list kept what the open had found: schedules added from the command line
        were in one and not the other, helper-80)."""
        if self.dataset is None:
            return []
        self.library_seen = schedule_io.library_signature(self.dataset)
        entries = schedule_io.library_entries(self.dataset)[0]
        self.dataset_panel.show_library(entries)
        return entries

    def library_may_have_changed(self) -> None:
        """The window is active again: its list is read again when files came or went meanwhile (`lrscope train
        --export-schedule`, `schedule add|delete`, another window), and left alone, selection and all, when none did."""
        if self.dataset is not None and schedule_io.library_signature(self.dataset) != self.library_seen:
            self.refresh_library()

    @Slot()
    def fill_library_menu(self) -> None:
        """The open dataset's library in the menu about to show (File, and the toolbar's Import): the Dataset tab's list
        lay at the foot of a scrolled pane, three lines tall, and a user did not find it (helper-71)."""
        menu = self.library_menu
        menu.clear()
        entries = self.refresh_library()
        for entry in entries:
            action = menu.addAction(entry_text(entry))
            action.setToolTip(str(entry.path))
            action.triggered.connect(lambda _checked=False, path=str(entry.path): self.use_library_entry(path))
        if not entries:
            menu.addAction(NO_ENTRY).setEnabled(False)

    @Slot()
    def add_to_library(self) -> None:
        """Ask for a schedule file and add it to the library of the dataset it was tuned on: Import only loads a file into
        the editor, and a file received from elsewhere had no way in (helper-80)."""
        path = dialogs.ask_open_schedule(self, "Add a schedule file to the library")
        if not path:
            return
        try:
            held, done, loaded = schedule_io.add_to_library(Path(path))
        except LrscopeError as error:
            self.warn("Cannot add to the library", str(error))
            return
        except OSError as error:
            self.warn("Cannot add to the library", cannot_write(error.filename or path, error))
            return
        for warning in loaded.warnings:
            self.log.add(f"{path}: {warning}", "warning")
        tuned_on = loaded.dataset or {}
        ours = self.dataset is not None and tuned_on.get("fingerprint") == self.dataset.summary.fingerprint
        whose = ("this dataset's library" if ours else f"the library of {printable(str(tuned_on.get('name', '?')))!r} "
                 f"({tuned_on.get('fingerprint')}), the dataset it was tuned on: it is listed when that dataset is open")
        self.log.add(f"{path}: {done} {whose}, as {held}")
        self.refresh_library()

    @Slot(str)
    def delete_library_entry(self, path: str) -> None:
        """Delete a schedule from the dataset's library after asking."""
        if not dialogs.ask_yes_no(self, "Delete schedule", "Delete this schedule from the dataset's library? This cannot be "
                                  "undone (a file you exported elsewhere stays).", path):
            return
        try:
            schedule_io.delete_library_entry(Path(path))
        except LrscopeError as error:
            self.warn("Cannot delete", str(error))
            return
        self.log.add(f"deleted {Path(path).name} from the library")
        self.refresh_library()

    @Slot(str)
    def use_library_entry(self, path: str) -> None:
        """Load a library entry (a double-click in the Dataset tab's list); one deleted meanwhile leaves the list."""
        if not self.import_file(path) and not Path(path).exists():  # another window deleted it: its entry stayed, dead
            self.refresh_library()
