"""An exception that escapes a Qt slot is shown to the user, never only printed on stderr.

PySide6 hands an exception raised in a slot or an event handler to ``sys.excepthook`` and
carries on, so by default the action silently does nothing and a traceback lands on a
terminal nobody reads (issue 12: Export printed a TypeError and did nothing). The window
installs this reporter: it says in the log panel and in a dialog what failed and what to do,
then passes the exception on to the previous hook (stderr in the app; a recorder that fails
the test in the test suite).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from PySide6.QtWidgets import QWidget

from . import dialogs

GUI_FOLDER = Path(__file__).resolve().parent
ADVICE = ("Nothing was lost: a run in progress goes on and keeps saving. Try again; if it fails again, "
          "please report it with the traceback lrscope printed on its terminal.")


def where(trace) -> str:
    """The innermost function of the window's own code in a traceback (where the user's action broke)."""
    frames = [frame for frame in traceback.extract_tb(trace) if Path(frame.filename).resolve().is_relative_to(GUI_FOLDER)]
    return frames[-1].name if frames else "the window"


class SlotErrorReporter:
    """Installs itself as ``sys.excepthook`` while the window is open."""

    def __init__(self, parent: QWidget, log):
        self.parent, self.log = parent, log
        self.previous = None
        self._hook = self.report

    def install(self) -> None:
        """Report from now on (chained to the hook in place)."""
        self.previous, sys.excepthook = sys.excepthook, self._hook

    def uninstall(self) -> None:
        """Give the previous hook back (if nothing replaced ours since)."""
        if sys.excepthook is self._hook:
            sys.excepthook = self.previous

    def report(self, kind, value, trace) -> None:
        """Tell the user, then hand the exception on."""
        if not issubclass(kind, KeyboardInterrupt):
            try:
                text = f"lrscope could not finish what you asked ({where(trace)}): {kind.__name__}: {value}"
                self.log.add(f"{text}. {ADVICE}", "error")
                dialogs.show_error(self.parent, "Something went wrong", text, ADVICE)
            except Exception:  # reporting must never hide the original error
                traceback.print_exc()
        (self.previous or sys.__excepthook__)(kind, value, trace)
