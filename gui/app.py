"""Start the desktop app: the window appears first; torch is imported afterwards, in the background."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .main_window import MainWindow
from .settings import open_settings


def run_app(data: Path | None, sample: Path, quit_after: float | None = None, start: bool = False,
            screenshot: Path | None = None) -> int:
    """Show the main window and run the event loop until it closes; returns the exit status."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("lrscope")
    app.setOrganizationName("lrscope")
    window = MainWindow(open_settings(), sample, data, start=start)
    window.show()
    if quit_after is not None:
        delay = int(quit_after * 1000)
        if start:
            # Count from the end of the run, so the plots are complete whatever the machine's speed.
            window.bridge.taskDone.connect(lambda done: QTimer.singleShot(delay, lambda: close(window, screenshot)) if done.name == "train" else None)
            window.bridge.taskFailed.connect(lambda _failed: close(window, screenshot))
        else:
            QTimer.singleShot(delay, lambda: close(window, screenshot))
    # Ending the loop some other way (a signal, the session closing) must still stop the worker first.
    app.aboutToQuit.connect(lambda: window.controller.shutdown(timeout=30))
    return app.exec()


def close(window: MainWindow, screenshot: Path | None) -> None:
    """Save the screen (the real display's pixels) if asked, then close."""
    if screenshot is not None:
        window.screen().grabWindow(0).save(str(screenshot))
    window.close()
