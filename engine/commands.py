"""Commands other threads send to a running job, and the inbox that carries them.

The inbox is a queue, not a slot: two commands sent between steps are both
applied, in order. Stop and cancel also raise flags, so long operations
(validation, a range test) can notice them between batches.

Every field is plain data or a value the protocol (``engine/protocol``) writes, so a command can come
from another process; register a new command there.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from .range_test.settings import RangeTestSettings
from .schedules.edits import Edit


@dataclass(frozen=True)
class Command:
    """Base of every command: ``id`` lets its sender recognize the CommandApplied that answers it; ``source``
    names who sent it (the server sets it for a remote client)."""

    id: str = field(default="", kw_only=True)
    source: str = field(default="", kw_only=True)


@dataclass(frozen=True)
class Pause(Command):
    """Pause at the next step boundary."""


@dataclass(frozen=True)
class Resume(Command):
    """Resume a paused run."""


@dataclass(frozen=True)
class Stop(Command):
    """Stop at the next step boundary (or batch of a validation or range test), keeping a resumable state. ``fault``:
    the fault this stop answers (a FaultRaised kind, sent by a fault policy), which the StateChanged that says
    "stopped" carries; "" for a stop a person asked for."""

    fault: str = ""


@dataclass(frozen=True)
class EditSchedule(Command):
    """Apply a schedule edit at the next step boundary."""

    edit: Edit


@dataclass(frozen=True)
class StartRangeTest(Command):
    """Run a range test from the current weights, then restore them and carry on."""

    settings: RangeTestSettings | None = None


@dataclass(frozen=True)
class CancelRangeTest(Command):
    """Cancel the range test in progress (the model is restored)."""


ROLLBACK_LR_FACTOR = 0.1  # what the window's button, the command line's fault policy and a fault's advice roll back with


@dataclass(frozen=True)
class RollBack(Command):
    """Go back to the last good state and scale the LR from there by ``lr_factor``."""

    lr_factor: float = ROLLBACK_LR_FACTOR


@dataclass(frozen=True)
class MeasureCurvature(Command):
    """Measure λmax now (also from a paused run)."""


@dataclass(frozen=True)
class SetCurvatureCadence(Command):
    """Measure λmax every ``every`` steps from now on: a whole number (as text, e.g. "10"), "auto" (within 5% of
    training time) or "off"; one type, so the command stays plain data on the wire."""

    every: str = "auto"


@dataclass
class Inbox:
    """A thread-safe FIFO of commands with stop and cancel flags; ``stop_fault``: the fault the first Stop that named
    one answers (known before the flag is raised, so the job ends the run with it); ``stop_source``: the client that
    sent the first Stop ("" when this process asked: Ctrl-C, SIGTERM, its own window or fault policy)."""

    _queue: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    stop_fault: str = ""
    stop_source: str = ""

    def send(self, command: Command) -> None:
        """Queue ``command``; callable from any thread."""
        if isinstance(command, Stop):
            self.stop_fault = self.stop_fault or command.fault
            if not self.stop_requested.is_set():
                self.stop_source = command.source
            self.stop_requested.set()
        elif isinstance(command, CancelRangeTest):
            self.cancel_requested.set()
        self._queue.put(command)

    def drain(self) -> list[Command]:
        """Every command queued so far, oldest first."""
        commands = []
        while True:
            try:
                commands.append(self._queue.get_nowait())
            except queue.Empty:
                return commands

    def poll(self) -> None:
        """Take in what was sent from elsewhere now (a distributed run's rank 0); a local inbox has it already."""

    def wait(self, timeout: float | None = None) -> Command | None:
        """The next command, waiting up to ``timeout`` seconds (None if none came)."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
