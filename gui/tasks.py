"""Background tasks on plain Python threads; their results reach the GUI through the bridge."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from engine.errors import LrscopeError

from .bridge import EngineBridge, TaskDone, TaskFailed

log = logging.getLogger(__name__)


class TaskRunner:
    """Starts named tasks on threads and keeps them so that closing the app can wait for them."""

    def __init__(self, bridge: EngineBridge):
        self.bridge = bridge
        self._threads: dict[str, threading.Thread] = {}

    def start(self, name: str, work: Callable[[], Any]) -> None:
        """Run ``work()`` on a new thread; its result arrives as TaskDone, an error as TaskFailed."""
        def target() -> None:
            try:
                self.bridge.put(TaskDone(name, work()))
            except LrscopeError as error:
                self.bridge.put(TaskFailed(name, str(error)))
            except Exception as error:  # unexpected: keep the app alive and say what happened
                log.exception("task %s failed", name)
                self.bridge.put(TaskFailed(name, f"{type(error).__name__}: {error}"))

        thread = threading.Thread(target=target, name=f"lrscope-{name}", daemon=True)
        self._threads[name] = thread
        thread.start()

    def busy(self, name: str) -> bool:
        """Whether task ``name`` is still running."""
        thread = self._threads.get(name)
        return thread is not None and thread.is_alive()

    def join_all(self, timeout: float) -> bool:
        """Wait for every task (up to ``timeout`` seconds in all); True when none is left running."""
        for thread in list(self._threads.values()):
            thread.join(max(0.0, timeout))
        return not any(t.is_alive() for t in self._threads.values())
