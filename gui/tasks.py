"""Background tasks on plain Python threads; their results reach the GUI through the bridge."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from engine.errors import LrscopeError, WeightsMissing

from .bridge import EngineBridge, TaskDone, TaskFailed

log = logging.getLogger(__name__)


BACKGROUND_NICENESS = 5


def lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: niceness is per thread, and threads it starts inherit it).

    Training keeps every core busy (torch starts one thread per core); without this the GUI thread
    waits for a time slice and the window stalls for tens of milliseconds. Elsewhere this does nothing.
    """
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
        except OSError:
            log.debug("could not lower the priority of %s", threading.current_thread().name)


class TaskRunner:
    """Starts named tasks on threads and keeps them so that closing the app can wait for them."""

    def __init__(self, bridge: EngineBridge):
        self.bridge = bridge
        self._threads: dict[str, threading.Thread] = {}
        # A task stays busy until the GUI thread is handed its end, not only until its thread ends: in between, the
        # window showed a range test's result with its Start still off (and tests that waited on the one read the other).
        self._undelivered: dict[str, int] = {}
        self._lock = threading.Lock()
        # Connected before any window slot, so a window that handles the end sees the task over.
        bridge.taskDone.connect(self._delivered)
        bridge.taskFailed.connect(self._delivered)

    def start(self, name: str, work: Callable[[], Any], background: bool = False, tag: Any = None) -> None:
        """Run ``work()`` on a new thread; its result arrives as TaskDone, an error as TaskFailed, each carrying ``tag``.

        A ``background`` task (training, range tests) runs below the GUI's priority.
        """
        def target() -> None:
            if background:
                lower_priority()
            try:
                end = TaskDone(name, work(), tag)
            except LrscopeError as error:
                end = TaskFailed(name, said_here(error), tag)
            except Exception as error:  # unexpected: keep the app alive and say what happened
                log.exception("task %s failed", name)
                end = TaskFailed(name, f"{type(error).__name__}: {error}", tag)
            with self._lock:
                self._undelivered[name] = self._undelivered.get(name, 0) + 1
            self.bridge.put(end)

        thread = threading.Thread(target=target, name=f"lrscope-{name}", daemon=True)
        self._threads[name] = thread
        thread.start()

    def busy(self, name: str) -> bool:
        """Whether task ``name`` is still running, or its end has not yet reached the GUI thread."""
        thread = self._threads.get(name)
        with self._lock:
            undelivered = self._undelivered.get(name, 0) > 0
        return undelivered or (thread is not None and thread.is_alive())

    def _delivered(self, end: TaskDone | TaskFailed) -> None:
        with self._lock:
            self._undelivered[end.name] -= 1

    def join_all(self, timeout: float) -> bool:
        """Wait for every task (up to ``timeout`` seconds in all); True when none is left running."""
        for thread in list(self._threads.values()):
            thread.join(max(0.0, timeout))
        return not any(t.is_alive() for t in self._threads.values())


def said_here(error: LrscopeError) -> str:
    """The error's message, with what the window offers where the engine leaves what to do to the interface (the
    command line's "--weights FILE" has no field here)."""
    if isinstance(error, WeightsMissing):
        return f"{error}, or untick pretrained in the Configuration tab to train from random weights"
    return str(error)
