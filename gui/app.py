"""Start the desktop app: the window appears first; torch is imported afterwards, in the background."""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
import time
from pathlib import Path

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QEvent, QObject, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

from .main_window import MainWindow
from .settings import open_settings


def run_app(data: Path | None, sample: Path, quit_after: float | None = None, start: bool = False,
            screenshot: Path | None = None) -> int:
    """Show the main window and run the event loop until it closes; returns the exit status."""
    app = create_app()
    # Qt objects caught in a reference cycle must die on the GUI thread: a collection that the training or
    # dataset thread happens to trigger would run their destructors there, and ~QObject can then deadlock
    # with the GUI thread (seen in the tests: a closed window's menu, collected by the folder-scan thread).
    collector = GarbageCollector(interval=1.0)
    window = create_window(sample, data, start=start)
    if os.environ.get("LRSCOPE_STARTUP_PROBE"):
        window.installEventFilter(FirstPaint(window))
    window.show()
    if quit_after is not None:
        delay = int(quit_after * 1000)
        if start:
            # Count from the end of the run, so the plots are complete whatever the machine's speed.
            window.bridge.taskDone.connect(lambda done: QTimer.singleShot(delay, lambda: close(window, screenshot)) if done.name == "train" else None)
            window.bridge.taskFailed.connect(lambda _failed: close(window, screenshot))
        else:
            QTimer.singleShot(delay, lambda: close(window, screenshot))
    # Ending the loop some other way (the session closing) must still stop the worker first.
    app.aboutToQuit.connect(lambda: window.controller.shutdown(timeout=30))
    close_on_signals(window)
    status = app.exec()
    collector.timer.stop()
    return status


def close_on_signals(window: MainWindow) -> None:
    """SIGTERM (a logout, ``kill``) and Ctrl-C in the launching terminal close the window as its close button does, without
    the question: the run stops at a step boundary with a checkpoint, as ``lrscope train`` does. By default SIGTERM killed
    the process mid-step, and Qt's loop, which runs no Python, held Ctrl-C until the next timer.

    Python runs its handlers only between bytecodes, so the signal's number is written to a socket that Qt watches
    (``signal.set_wakeup_fd``). A second signal while the run stops kills at once (the default action is back)."""
    reader, writer = socket.socketpair()
    for end in (reader, writer):
        end.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, window)

    def woken() -> None:
        numbers = reader.recv(16)
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)
        window.close_unasked(signal.Signals(numbers[0]).name if numbers else "a signal")

    notifier.activated.connect(woken)
    window.signal_wakeup = (reader, writer, notifier)  # kept alive with the window
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: None)  # the work is done by woken(), on the GUI thread


def create_app() -> QApplication:
    """The application object, set up for training beside it."""
    # The training thread gives the GIL up inside every torch op and needs it back when the op returns;
    # while the GUI thread runs Python (pyqtgraph paints in Python) that wait lasts up to the switch
    # interval, 5 ms by default. 1 ms cuts the convoy without costing the GUI anything visible.
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("lrscope")
    app.setOrganizationName("lrscope")
    return app


def set_aside_imported_objects() -> None:
    """Move every object alive out of the collector's reach (the window does it once the devices are listed: torch is
    imported by then).

    They are about 390,000, nearly all of them modules' that live as long as the app, and each full collection
    traversed them on the GUI thread: 0.17 s, which pyqtgraph's collector spends about every two minutes of training
    (a generation-0 pass a second at most, a full one after 11 of generation 1, each after 11 of generation 0).
    """
    gc.freeze()


def create_window(sample: Path, data: Path | None = None, start: bool = False) -> MainWindow:
    """The main window with the user's settings (not shown yet); once it has listed the devices (torch is imported by
    then), the objects alive are set aside from the collector (``set_aside_imported_objects``)."""
    window = MainWindow(open_settings(), sample, data, start=start)
    window.bridge.taskDone.connect(lambda done: set_aside_imported_objects() if done.name == "devices" else None)
    return window


def close(window: MainWindow, screenshot: Path | None) -> None:
    """Save the screen (the real display's pixels) if asked, then close."""
    if screenshot is not None:
        window.screen().grabWindow(0).save(str(screenshot))
    window.close()


class FirstPaint(QObject):
    """For the startup benchmark: print when the window is first painted, then close it."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.seen = False

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint and not self.seen:
            self.seen = True
            print(f"lrscope-first-paint {time.time():.6f}", flush=True)
            QTimer.singleShot(0, self.window.close)
        return False
