"""The window's actions: each has one shortcut, a tooltip that names that shortcut, and a place in the
toolbar and menus. Buttons that do the same as an action show the action's tooltip."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, QObject, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDockWidget,
    QMainWindow,
    QMenu,
    QSpinBox,
    QToolButton,
    QWidget,
)

from engine import __version__

from . import dialogs
from .window_layout import reset_layout

Keys = str | QKeySequence.StandardKey


def key_text(action: QAction) -> str:
    """The action's first shortcut as this platform writes it (e.g. "Ctrl+Z", or "⌘Z" on macOS)."""
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


class WindowKeysFirst(QObject):
    """The window's own keys reach its actions while a text field has the focus.

    A line edit claims Ctrl+K (delete to the end of the line) and Ctrl+E (end of the line) on Linux, so in the
    peak LR field Ctrl+K emptied the field instead of measuring λmax, and after Stop left the focus in the
    "λmax every" box, Ctrl+E exported nothing. Keys bound to a platform's standard key (Ctrl+Z) stay the field's:
    there the field's own meaning is the one a user expects. It watches the focused widget alone: a filter on the
    whole application sees every event of every object (and crashed on one being destroyed as the window quit)."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        QApplication.instance().focusChanged.connect(self.follow)

    @Slot(QWidget, QWidget)
    def follow(self, old: QWidget | None, new: QWidget | None) -> None:
        """Watch the widget that has the focus now, if it is in this window."""
        if old is not None and shiboken6.isValid(old):
            old.removeEventFilter(self)
        if new is not None and shiboken6.isValid(new) and new.window() is self.window:
            new.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) or not self._window_key(event):
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.ignore()  # not claimed by the field: the shortcut goes to the action
        # A key press arrives only when the action is disabled (Measure λmax with no run): the field would delete to
        # the end of its line for Ctrl+K, so the key does nothing, as it does outside a field.
        return True

    def _window_key(self, event: QEvent) -> bool:
        pressed = QKeySequence(event.keyCombination())
        return any(action.shortcut() == pressed for action in self.window.findChildren(QAction) if action.property("window_key"))


def make_action(window: QMainWindow, text: str, keys: Keys, tip: str, slot: Callable[[], object]) -> QAction:
    """An action of ``window`` bound to ``keys`` whose tooltip ends with the key as it is bound.

    ``slot`` is called with no argument: ``triggered`` passes ``checked``, which once landed in
    Export's ``path`` parameter and made Export do nothing (issue 12).
    """
    action = QAction(text, window)
    if isinstance(keys, QKeySequence.StandardKey):
        action.setShortcuts(keys)  # every binding of this platform (macOS: ⌘Z; elsewhere Ctrl+Z)
    else:
        action.setShortcut(QKeySequence(keys))
        action.setProperty("window_key", bool(keys))  # taken from a text field that has the focus (WindowKeysFirst)
    action.setToolTip(f"{tip} ({key_text(action)})" if key_text(action) else tip)
    action.triggered.connect(lambda _checked=False: slot())
    window.addAction(action)
    return action


def mirror(button: QAbstractButton, action: QAction) -> None:
    """Give a button the tooltip of the action it duplicates, so both name the same key."""
    button.setToolTip(action.toolTip())


def keep_width(button: QAbstractButton, action: QAction, longest: str) -> None:
    """Size ``button`` for the longest text its action takes, so the toolbar does not shift when it changes."""
    text = action.text()
    action.setText(longest)
    button.setMinimumWidth(button.sizeHint().width())
    action.setText(text)


def build_actions(window) -> None:
    """Create the actions as attributes of ``window``; its toolbar and File menu."""
    editor, panel = window.editor, window.range_panel
    window.open_action = make_action(window, "Open…", "Ctrl+O", "Open a dataset folder", window.choose_folder)
    window.start_action = make_action(window, "Start", "Ctrl+R", "Start training with this configuration and schedule", window.start_run)
    window.pause_action = make_action(window, "Pause", "Ctrl+P", "Pause or resume the run at the next step. Enabled while a run goes on", window.pause_or_resume)
    window.stop_action = make_action(window, "Stop", "Ctrl+.", "Stop the run at the next step; it stays resumable. Enabled while a run goes on", window.stop_run)
    window.test_action = make_action(window, "Range test", "Ctrl+T", "Start an LR range test (before or during a run)", panel.request_start)
    window.export_action = make_action(window, "Export tuned schedule…", "Ctrl+E",
                                       "Write the schedule tuned for this dataset and add it to the library", window.export_tuned)
    window.import_action = make_action(window, "Import schedule…", "Ctrl+I",
                                       "Load a schedule file (warns if it was tuned for another dataset)", window.import_schedule)
    window.attach_action = make_action(window, "Attach to run…", "Ctrl+Shift+A",
                                       "Follow and steer a run served by another process (lrscope train … --serve)", window.attach_to_run)
    window.detach_action = make_action(window, "Detach", "Ctrl+Shift+D", "Stop following the attached run; it goes on training",
                                       window.detach_from_run)
    window.apply_action = make_action(window, "Apply from now", "Ctrl+Return",
                                      "Send the edited schedule to the running job; it takes effect from the current step. Enabled while a run goes on", editor.apply_from_now)
    window.undo_action = make_action(window, "Undo last edit", QKeySequence.StandardKey.Undo,
                                     "Go back to the schedule before the last edit, from the current step on. Enabled during a run once it was edited", editor.undo.click)
    window.redo_action = make_action(window, "Redo", QKeySequence.StandardKey.Redo,
                                     "Make again the edit the last undo took back, from the current step on. Enabled after an undo, until another edit", editor.redo.click)
    window.measure_action = make_action(window, "Measure λmax now", "Ctrl+K",
                                        "Measure the curvature of the loss (λmax) and the LR's stability bound now, from a running or "
                                        "paused run. Enabled while a run goes on", window.measure_curvature)
    unfreeze = window.group_table.unfreeze
    window.unfreeze_action = make_action(window, unfreeze.text(), "Ctrl+Shift+U",
                                         "Make frozen parameter groups trainable from the current step: those selected in the "
                                         "group table, or every frozen group when none is; undoable", unfreeze.click)
    window.unfreeze_action.setEnabled(unfreeze.isEnabled())

    def offer_unfreeze(possible: bool, words: str) -> None:
        window.unfreeze_action.setEnabled(possible)  # a menu item that does nothing misleads
        window.unfreeze_action.setText(words)  # the menu's "Unfreeze now" beside the button's "Unfreeze all now" read as two things

    window.group_table.unfreezeOffered.connect(offer_unfreeze)
    window.quit_action = make_action(window, "Quit", "Ctrl+Q",  # StandardKey.Quit is unbound on some Linux desktops
                                     "Close lrscope (a run in progress stops and stays resumable)", window.close)
    window.keys_first = WindowKeysFirst(window)
    for button, action in ((window.dataset_panel.open_button, window.open_action), (panel.start, window.test_action),
                           (editor.apply, window.apply_action), (editor.undo, window.undo_action),
                           (editor.redo, window.redo_action),
                           (window.group_table.unfreeze, window.unfreeze_action)):
        mirror(button, action)
    toolbar = window.addToolBar("Run")
    toolbar.setObjectName("run toolbar")
    window.toolbar = toolbar
    for action in (window.open_action, window.start_action, window.pause_action, window.stop_action, window.test_action,
                   window.export_action, window.import_action):
        toolbar.addAction(action)
    # Its longest text: sized for "Resume", "Pausing after the test" pushed Stop and Range test 80 px right under the pointer (helper-91).
    keep_width(toolbar.widgetForAction(window.pause_action), window.pause_action, "Resuming after the test")
    toolbar.addSeparator()
    window.x_unit = QComboBox()
    window.x_unit.addItems(["x: steps", "x: epochs"])
    window.x_unit.setToolTip("Draw the training plots against steps or epochs.")
    window.smoothing = QSpinBox(minimum=1, maximum=100_000, value=20, suffix=" steps")
    window.smoothing.setPrefix("smooth ")
    window.smoothing.setToolTip("The smoothed loss is the mean of this many last steps (independent of the run's length).")
    toolbar.addWidget(window.x_unit)
    toolbar.addWidget(window.smoothing)
    window.file_menu = window.menuBar().addMenu("&File")
    # The open dataset's tuned schedules, next to Import: in the File menu and as the toolbar Import button's arrow.
    window.library_menu = QMenu("Schedules tuned for this dataset", window)
    window.library_menu.setToolTipsVisible(True)  # each entry's file
    window.library_menu.aboutToShow.connect(window.fill_library_menu)
    window.add_to_library_action = make_action(window, "Add schedule file to library…", "",
                                               "Copy a schedule file (one received from elsewhere) into the library, under the "
                                               "dataset it was tuned on", window.add_to_library)
    window.dataset_panel.library.addAction(window.add_to_library_action)  # its right-click menu, beside Delete
    importing = toolbar.widgetForAction(window.import_action)
    importing.setMenu(window.library_menu)
    importing.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    for action in (window.open_action, window.import_action, window.library_menu.menuAction(), window.add_to_library_action,
                   window.export_action, window.attach_action, window.detach_action):
        window.file_menu.addAction(action)
    window.file_menu.addSeparator()
    window.file_menu.addAction(window.quit_action)
    window.view_menu = window.menuBar().addMenu("&View")
    window.view_actions = {}
    for dock in window.findChildren(QDockWidget):
        window.view_actions[dock.objectName()] = toggle = dock.toggleViewAction()
        toggle.setToolTip(f"Show or hide the {dock.objectName().lower()} panel.")
        window.view_menu.addAction(toggle)
    window.view_menu.addSeparator()
    window.reset_layout_action = make_action(window, "Reset layout", "Ctrl+Shift+L",
                                             "Show every panel where and as wide as a first launch has it", lambda: reset_layout(window))
    window.view_menu.addAction(window.reset_layout_action)
    window.run_menu = window.menuBar().addMenu("&Run")
    for action in (window.start_action, window.pause_action, window.stop_action, window.test_action, window.apply_action, window.undo_action,
                   window.redo_action, window.measure_action, window.unfreeze_action):
        window.run_menu.addAction(action)
    window.help_menu = window.menuBar().addMenu("&Help")
    window.shortcuts_action = make_action(window, "Keyboard shortcuts", QKeySequence.StandardKey.HelpContents,
                                          "List every action and its key", lambda: show_shortcuts(window))
    window.about_action = make_action(window, "About lrscope", "", "The version, and where the user's guide is",
                                      lambda: show_about(window))
    for action in (window.shortcuts_action, window.about_action):
        window.help_menu.addAction(action)


def show_shortcuts(window: QMainWindow) -> None:
    """Every action that has a key, with its key as this platform writes it (the menus show them one menu at a time)."""
    keyed = [(action.text().replace("&", ""), key_text(action)) for action in window.findChildren(QAction) if key_text(action)]
    rows = "".join(f"<tr><td>{html.escape(text)}</td><td>&nbsp;&nbsp;<b>{html.escape(key)}</b></td></tr>" for text, key in keyed)
    dialogs.show_info(window, "Keyboard shortcuts", f"<table>{rows}</table>")


def show_about(window: QMainWindow) -> None:
    """The version, and where the user's guide is (README.md beside the app, and the headless commands' help)."""
    guide = Path(__file__).resolve().parent.parent / "README.md"
    dialogs.show_info(window, "About lrscope", f"lrscope {__version__}: a learning-rate schedule that fits your dataset.",
                      f"The user's guide is {guide}; `lrscope --help` lists the commands.")
