"""Driving the window the way a person does (a pytest plugin that tests/conftest.py loads).

Fixtures:
- ``dialogs``: scripted answers for the window's one dialog seam (``gui/dialogs.py``) and a record
  of every dialog it showed; a dialog nobody scripted fails the test.
- ``launch``: start the window as the app does and wait until its dataset is open; every window
  it made is closed at the end. ``window``: one such window on the digits sample at 16 px, 1 epoch.

Tests act only through real controls, with the helpers of ``gui/driving.py`` (an action, a shortcut
where the focus is, a mouse click, typing, a combo box pick, a tab, table rows, a dropped folder).
They may read any state to assert, but never call a slot or a private method to act.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import pytest
from helpers import SAMPLE

LONG = 300_000  # ms; a condition, never a sleep: on a 2-core machine loaded by others a 22-step run took 4 minutes
SMALL = {"image_size": 16, "epochs": 1}
# At 8 px a step of the small CNN costs a third of its CPU at 16 px: for runs whose pixels no assertion reads.
TINY = {"image_size": 8, "epochs": 1}


@dataclass
class Shown:
    """One dialog the window showed."""

    kind: str
    title: str
    start: str = ""
    text: str = ""
    details: str = ""
    choices: list = field(default_factory=list)
    box: object = None  # an offer's real message box


class ScriptedDialogs:
    """Stands in for ``gui.dialogs.QtDialogs``: answers come from ``answer()``, in order, checked by kind."""

    def __init__(self):
        self.script: deque = deque()
        self.shown: list[Shown] = []

    def answer(self, kind: str, value) -> None:
        """Queue the answer to the next dialog, which must be of ``kind`` (open_folder, open_file, save_path, yes_no); or
        a function of the dialog (``Shown``) that returns it, called while the dialog is open."""
        self.script.append((kind, value))

    def of(self, kind: str) -> list[Shown]:
        """The dialogs of ``kind`` shown so far (error, offer, open_folder, ...)."""
        return [shown for shown in self.shown if shown.kind == kind]

    def _next(self, shown: Shown):
        self.shown.append(shown)
        if not self.script:
            raise AssertionError(f"the window asked {shown.kind} {shown.title!r} and the test scripted no answer")
        kind, value = self.script.popleft()
        if kind != shown.kind:
            raise AssertionError(f"the window asked {shown.kind} {shown.title!r}; the test scripted {kind}")
        return value(shown) if callable(value) else value  # a callable: what the user does while the dialog is open

    def open_folder(self, parent, title, start):
        return self._next(Shown("open_folder", title, start))

    def open_file(self, parent, title, start, kinds):
        return self._next(Shown("open_file", title, start))

    def save_path(self, parent, title, start, kinds):
        return self._next(Shown("save_path", title, start))

    def attach_target(self, parent, last):
        return self._next(Shown("attach_target", "Attach to run"))

    def yes_no(self, parent, title, text, details):
        return self._next(Shown("yes_no", title, text=text, details=details))

    def error(self, parent, title, text, details):
        self.shown.append(Shown("error", title, text=text, details=details))

    def info(self, parent, title, text, details):
        self.shown.append(Shown("info", title, text=text, details=details))

    def dismiss(self, parent, title):
        self.shown.append(Shown("dismissed", title))

    def offer(self, parent, title, text, details, choices):
        """The real box, which does not block: its buttons' wiring is where a bug hid (every button crashed the run)."""
        from gui.dialogs import QtDialogs

        box = QtDialogs().offer(parent, title, text, details, choices)
        self.shown.append(Shown("offer", title, text=text, details=details, choices=choices, box=box))
        return box

    def choose(self, label: str) -> None:
        """Click the button ``label`` of the last offer shown, as the user would."""
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        box = self.of("offer")[-1].box
        labels = [button.text() for button in box.buttons()]
        assert label in labels and box.isVisible(), f"no button {label!r} in sight: {labels}"
        QTest.mouseClick(box.buttons()[labels.index(label)], Qt.MouseButton.LeftButton)


@pytest.fixture
def dialogs():
    """Scripted dialogs for the window (see ScriptedDialogs)."""
    from gui import dialogs as seam

    scripted = ScriptedDialogs()
    previous = seam.use(scripted)
    yield scripted
    seam.use(previous)


@pytest.fixture(scope="session")
def decoded_images(tmp_path_factory):
    """One cache of decoded images for every window (decoding the samples again in each test is most of its setup)."""
    return tmp_path_factory.mktemp("decoded-images")


@pytest.fixture
def launch(qtbot, dialogs, decoded_images, monkeypatch):
    """``launch(config=None, data=None, opened=True)``: a shown, active window as the app starts it."""
    monkeypatch.setenv("LRSCOPE_CACHE_DIR", str(decoded_images))
    from gui.app import create_window
    from gui.settings import open_settings, save_config

    windows = []

    def start(config: dict | None = None, data=None, opened: bool = True):
        if config is not None:
            settings = open_settings()
            save_config(settings, config)
            settings.sync()
        window = create_window(SAMPLE, data)
        windows.append(window)  # closed below, not by qtbot: pytest-qt closes its widgets before fixtures end
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        if opened:
            qtbot.waitUntil(lambda: window.dataset is not None, timeout=LONG)
        return window

    yield start
    for window in windows:
        if window.isVisible():
            if (window.controller.training and not window.controller.attached) or window.controller.tuning:
                dialogs.answer("yes_no", True)  # a run or tune still going when the test ends: closing asks to stop it; yes
            window.close()
        window.deleteLater()


@pytest.fixture
def window(launch):
    """The window on the digits sample at 16 px, runs of one epoch (22 steps)."""
    return launch(SMALL)


def opened(qtbot, window, name: str) -> None:
    """Wait until the window has the dataset called ``name`` open."""
    qtbot.waitUntil(lambda: window.dataset is not None and window.dataset.summary.name == name, timeout=LONG)


def exported_then_another_opened(qtbot, window, dialogs, path) -> None:
    """Export the open dataset's schedule to ``path`` (File → Export), then open the second bundled sample, on which the
    file is a schedule tuned for another dataset."""
    from helpers import CAMERA2

    from gui.driving import trigger

    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    qtbot.waitUntil(path.exists, timeout=LONG)
    dialogs.answer("open_folder", str(CAMERA2))
    trigger(window.open_action)
    opened(qtbot, window, "digits-camera2")


def drawn(curve) -> int:
    """How many points a pyqtgraph curve has been given to draw."""
    x, _ = curve.getData()
    return 0 if x is None else len(x)


def legend(panel) -> list[str]:
    """The names a plot panel's legend lists, in order."""
    return [label.text for _, label in panel.plot.legend.items]


def title_key(panel) -> str:
    """A plot's title as it reads: its name and the key set in it."""
    import html
    import re

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", panel.heading.text())).split())


def title_name(panel) -> str:
    """A plot's title without its key: the name, and any note on the run shown, before the first curve's entry."""
    import re

    return re.split(r" [━╌┈●]", title_key(panel))[0]


def heading_fits(panel) -> bool:
    """A plot's title and key show whole (beside its toolbar's buttons, or under them): no line wider than its space,
    none below it."""
    from gui.plots.heading import text_width

    heading = panel.heading
    shown = [label for label in (heading.title, heading.key) if label.isVisible()]
    return heading.title in shown and all(text_width(label.text(), label, wrapped_at=label.width()) <= label.width()
                                          and label.height() >= label.heightForWidth(label.width()) for label in shown)


def paused_at(qtbot, window, step: int) -> None:
    """Start a run and pause it once at ``step`` or later."""
    from gui.driving import trigger

    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.step >= step, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)


def paused_with_lr_set(qtbot, window, lr: str, step: int) -> None:
    """Start a run, pause it once at ``step`` or later, and Set LR now to ``lr`` there, typed and Enter (the run stays
    paused; the attach tests click the button instead)."""
    from PySide6.QtCore import Qt

    from gui.driving import type_into

    paused_at(qtbot, window, step)
    type_into(window.editor.set_lr, lr)
    qtbot.keyClick(window.editor.set_lr, Qt.Key.Key_Return)  # Enter did nothing: only the button set it
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)


def run_and_export(qtbot, window, dialogs, path) -> None:
    """A run to its end from the Start action, then Export (the last run's schedule) answered with ``path``."""
    from gui.driving import trigger

    before = window.last_run
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None and window.last_run is not before, timeout=LONG)
    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    qtbot.waitUntil(path.exists, timeout=LONG)


def range_test_before_a_run(qtbot, window, iterations: int = 20, repeats: int = 1) -> None:
    """A short range test from fresh weights, through the Range test tab's fields and Start button, run to its end."""
    from gui.driving import click, show_tab, type_into

    show_tab(window.tabs, "Range test")
    type_into(window.range_panel.iterations, str(iterations))
    type_into(window.range_panel.repeats, str(repeats))
    click(window.range_panel.start)
    # Start enabled too: the task ends on its thread before the window hears it, and Start was still disabled once.
    qtbot.waitUntil(lambda: window.last_range_test is not None and not window.controller.testing and window.start_action.isEnabled(),
                    timeout=LONG)


def position(widget, window):
    """``widget``'s top-left corner in the window, where the user's pointer finds it."""
    return widget.mapTo(window, widget.rect().topLeft())


def laid_out() -> None:
    """Let Qt lay out what changed, as it does from the event loop before the user sees it: compared before that, a
    control has not moved yet whatever the layout will do."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    for _ in range(3):  # a child's new size asks its parent to lay out again, and that one its own parent
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        QApplication.processEvents()
