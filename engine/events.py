"""Events the engine emits: plain frozen dataclasses, safe to hand to another thread.

Arrays in events are fresh copies that the engine never writes again. Every field is typed with
plain data or a value the protocol (``engine/protocol``) knows how to write, so an event can cross
a process boundary; register a new event there.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .plain import JsonObject
from .range_test.result import RangeTestResult
from .schedules.edits import RunSchedule

log = logging.getLogger(__name__)

STATES = ("starting", "running", "paused", "range_test", "stopped", "finished", "failed")


class Event:
    """Base of every engine event."""


@dataclass(frozen=True)
class RunStarted(Event):
    """A run began (or resumed at ``start_step``)."""

    run_id: str
    config: JsonObject
    dataset: JsonObject
    total_steps: int
    steps_per_epoch: int
    groups: tuple[str, ...]
    device: str
    start_step: int = 0
    run_dir: str | None = None


@dataclass(frozen=True)
class StepsLogged(Event):
    """Metrics of a block of consecutive steps, read back from the device in one go.

    ``lrs`` has one row per step and one column per parameter group, named by
    ``groups``: the LRs read back from the optimizer after they were set (0 while frozen).
    """

    steps: np.ndarray
    losses: np.ndarray
    lrs: np.ndarray
    momenta: np.ndarray
    samples_per_s: float
    steps_per_epoch: int
    groups: tuple[str, ...]

    @property
    def epochs(self) -> np.ndarray:
        """Fractional epoch of each step."""
        return self.steps / self.steps_per_epoch


@dataclass(frozen=True)
class EpochEnded(Event):
    """Validation after an epoch."""

    epoch: int
    step: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    seconds: float


@dataclass(frozen=True)
class ScheduleChanged(Event):
    """The run's schedule changed at ``step`` (an edit, an undo, a plateau firing, a rollback); ``source`` names
    the client that sent a remote edit."""

    step: int
    run_schedule: RunSchedule
    summary: str
    reason: str
    source: str = ""


@dataclass(frozen=True)
class EditRefused(Event):
    """A requested schedule edit was invalid and nothing changed."""

    step: int
    message: str


@dataclass(frozen=True)
class CommandApplied(Event):
    """The job took command ``command_id`` at step ``step``: ``applied`` is False when it was refused or had
    nothing to do; ``message`` says what happened, in the user's words."""

    command_id: str
    kind: str
    step: int
    applied: bool
    message: str
    source: str = ""


@dataclass(frozen=True)
class StateChanged(Event):
    """The run moved to ``state`` (one of STATES)."""

    state: str
    step: int
    message: str = ""


@dataclass(frozen=True)
class FaultRaised(Event):
    """Training hit a fault and paused: what happened, where, and what to do."""

    kind: str
    step: int
    lr: float
    message: str
    advice: str
    can_roll_back: bool = False


@dataclass(frozen=True)
class RolledBack(Event):
    """The run went back to an earlier step (metrics after it are void)."""

    step: int
    message: str


@dataclass(frozen=True)
class RangeTestStarted(Event):
    """A range test began; ``estimated_seconds`` is told before it runs."""

    mode: str
    settings: JsonObject
    estimated_seconds: float
    step: int


@dataclass(frozen=True)
class RangeTestProgress(Event):
    """New points of the range-test curve (of repeat ``repeat``, counted from 0)."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    repeat: int = 0


@dataclass(frozen=True)
class RangeTestFinished(Event):
    """The range test ended; ``result`` is None when it was cancelled before any point."""

    result: RangeTestResult | None
    cancelled: bool
    message: str = ""
    step: int = 0


@dataclass(frozen=True)
class CheckpointSaved(Event):
    """A checkpoint of step ``step`` is on disk."""

    step: int
    path: str


@dataclass(frozen=True)
class StoreFailed(Event):
    """The run store could not write (disk full, folder removed…); what it holds stays resumable.

    ``message`` says what failed and what to free; ``resumable_step`` is the step of the newest
    checkpoint on disk (None when none was written).
    """

    run_dir: str
    message: str
    resumable_step: int | None = None


@dataclass(frozen=True)
class StoreRecovered(Event):
    """The run store writes again, and nothing queued while it could not was lost."""

    run_dir: str


@dataclass(frozen=True)
class LogLine(Event):
    """A line for the user's log ("info" or "warning")."""

    text: str
    level: str = "info"


def merge_steps(blocks: list[StepsLogged]) -> StepsLogged:
    """One block made of consecutive blocks (the last one's speed)."""
    if len(blocks) == 1:
        return blocks[0]
    return dataclasses.replace(
        blocks[-1],
        steps=np.concatenate([b.steps for b in blocks]), losses=np.concatenate([b.losses for b in blocks]),
        lrs=np.concatenate([b.lrs for b in blocks]), momenta=np.concatenate([b.momenta for b in blocks]),
    )


@dataclass
class EventBus:
    """Numbers each event and calls every subscriber with it, on the emitting thread; subscribers must be quick.

    Numbers count from 1 within a ``session`` (one bus, one process's part of a run) and are given under a lock,
    so every subscriber sees the events in the order of their numbers, whichever thread emitted them.
    """

    subscribers: list[Callable[[Event], None]] = field(default_factory=list)
    numbered: list[Callable[[int, Event], None]] = field(default_factory=list)
    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    last_seq: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def subscribe(self, subscriber: Callable[[Event], None]) -> None:
        """Add a subscriber."""
        with self._lock:
            self.subscribers = [*self.subscribers, subscriber]

    def subscribe_numbered(self, subscriber: Callable[[int, Event], None]) -> None:
        """Add a subscriber that also gets each event's number."""
        with self._lock:
            self.numbered = [*self.numbered, subscriber]

    def emit(self, event: Event) -> None:
        """Number and deliver ``event``; a failing subscriber is logged and never stops training."""
        with self._lock:
            self.last_seq += 1
            for subscriber in self.numbered:
                self._deliver(subscriber, self.last_seq, event)
            for subscriber in self.subscribers:
                self._deliver(subscriber, event)

    @staticmethod
    def _deliver(subscriber, *args) -> None:
        try:
            subscriber(*args)
        except Exception:
            log.exception("event subscriber %r failed", subscriber)
