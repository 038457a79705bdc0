"""A run you can watch and steer, wherever it trains: subscribe to its events, send it commands, read its state.

Every kind of run (a thread in this process, another process, a run served on another machine) is a
``RunHandle``; the window's controller and the CLI know only this interface.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..commands import Command
from ..events import CommandApplied, EpochEnded, Event, RunStarted, ScheduleChanged, StateChanged, StepsLogged, StoreFailed
from ..schedules.edits import RunSchedule

log = logging.getLogger(__name__)

TERMINAL = ("finished", "stopped", "failed")


@dataclass(frozen=True)
class RunResult:
    """How a run ended (or stood when its handle let go of it)."""

    state: str
    step: int
    total_steps: int
    steps_per_epoch: int
    run_id: str
    run_dir: str
    config: dict
    dataset: dict
    run_schedule: RunSchedule | None
    best_val_accuracy: float
    val_loss: float
    val_accuracy: float
    message: str = ""
    train_seconds: float = 0.0
    groups: tuple[str, ...] = ()
    weights: str = ""  # what the model started from (pretrained weights' name or a file; "" random or not known here)
    start_step: int = 0  # where this process took the run up (a resumed run's checkpoint)
    fault: str = ""  # what is wrong with a run that ran to its end (events.DAMAGED_WEIGHTS), or the fault that stopped it
    # (a FaultRaised kind), as its last StateChanged says


@dataclass
class RunTracker:
    """What the events of a run say about it so far."""

    state: str = "starting"
    step: int = 0
    start_step: int = 0
    total_steps: int = 0
    steps_per_epoch: int = 1
    run_id: str = ""
    run_dir: str = ""
    config: dict = field(default_factory=dict)
    dataset: dict = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    run_schedule: RunSchedule | None = None
    best_val_accuracy: float = math.nan
    val_loss: float = math.nan
    val_accuracy: float = math.nan
    message: str = ""
    fault: str = ""
    store_failure: str = ""  # why the run's store could not be written, and what to do (its first StoreFailed's message)

    def observe(self, event: Event) -> None:
        """Take in one event."""
        if isinstance(event, RunStarted):
            self.run_id, self.run_dir, self.config, self.dataset = event.run_id, event.run_dir or "", event.config, event.dataset
            self.total_steps, self.steps_per_epoch, self.step = event.total_steps, event.steps_per_epoch, event.start_step
            self.start_step = event.start_step
            self.groups = event.groups
        elif isinstance(event, StepsLogged) and len(event.steps):
            self.step = int(event.steps[-1]) + 1
        elif isinstance(event, EpochEnded):
            self.val_loss, self.val_accuracy = event.val_loss, event.val_accuracy
            if not math.isnan(event.val_accuracy):
                self.best_val_accuracy = event.val_accuracy if math.isnan(self.best_val_accuracy) else max(self.best_val_accuracy, event.val_accuracy)
        elif isinstance(event, ScheduleChanged):
            self.run_schedule, self.total_steps = event.run_schedule, event.run_schedule.timeline.total_steps
        elif isinstance(event, StateChanged):
            self.state, self.step, self.message, self.fault = event.state, event.step, event.message, event.fault
        elif isinstance(event, StoreFailed) and not self.store_failure:
            self.store_failure = event.message

    def result(self) -> RunResult:
        """The run as it stands."""
        return RunResult(self.state, self.step, self.total_steps, self.steps_per_epoch, self.run_id, self.run_dir, self.config,
                         self.dataset, self.run_schedule, self.best_val_accuracy, self.val_loss, self.val_accuracy, self.message,
                         groups=self.groups, start_step=self.start_step, fault=self.fault)


class RunHandle(ABC):
    """A run: ``subscribe`` to its events, ``send`` it commands, read its ``state``; ``run()`` follows it to the end.

    Subscribers added before ``run()`` (or ``start()``) see every event: for a run that was already going,
    its stored history first, then the live stream. They are called on the handle's thread and must be quick.
    """

    def __init__(self) -> None:
        self.tracker = RunTracker()
        self._subscribers: list[Callable[[Event], None]] = []
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.outcome: RunResult | None = None
        self._answers: dict[str, CommandApplied | Exception | None] = {}
        self._answered = threading.Condition()
        self._ended = False  # run() has returned (or raised): no answer comes any more

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback`` with every event from now on."""
        self._subscribers = [*self._subscribers, callback]

    def deliver(self, event: Event) -> None:
        """Hand ``event`` to the tracker and every subscriber; a failing subscriber is logged, never fatal."""
        self.tracker.observe(event)
        if isinstance(event, CommandApplied):
            self.answer(event.command_id, event)
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("run subscriber %r failed", subscriber)

    @property
    def state(self) -> str:
        """The run's state as last reported (one of engine.events.STATES)."""
        return self.tracker.state

    @property
    def step(self) -> int:
        """The step the run has reached."""
        return self.tracker.step

    @abstractmethod
    def send(self, command: Command) -> None:
        """Queue ``command`` for the run's next step boundary; callable from any thread."""

    def request(self, command: Command, timeout: float, until: Callable[[], float] = lambda: 0.0) -> CommandApplied | None:
        """Send ``command`` and wait for the job's answer: what became of it and at which step (None: not yet taken
        after ``timeout`` seconds, say during a long range test). ``until``, asked again while waiting, may wait
        longer: to a later time.monotonic() (while the range test asked for reports progress). None at once when the
        handle stops following the run (its process killed: a waiting `ctl range-test` sat out its wait). Raises the
        exception a server refused it with."""
        command = replace(command, id=command.id or uuid.uuid4().hex)
        with self._answered:
            self._answers[command.id] = None
        self.send(command)
        deadline = time.monotonic() + timeout
        with self._answered:
            while (self._answers[command.id] is None and not self._ended
                   and (left := max(deadline, until()) - time.monotonic()) > 0):
                self._answered.wait(min(left, 1.0))
            answer = self._answers.pop(command.id)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def answer(self, command_id: str, answer: CommandApplied | Exception) -> None:
        """Wake whoever waits in ``request`` for ``command_id``."""
        with self._answered:
            if command_id in self._answers:
                self._answers[command_id] = answer
                self._answered.notify_all()

    @abstractmethod
    def history(self) -> list[Event]:
        """The run's past as events: what its store holds."""

    @abstractmethod
    def run(self) -> RunResult:
        """Follow the run on the calling thread until it ends (or the handle lets go of it); how it stood then."""

    def start(self, name: str = "lrscope-run") -> threading.Thread:
        """``run()`` on a new thread; its result lands in ``outcome``, an exception in ``error``."""
        def target() -> None:
            try:
                self.outcome = self.run()
            except BaseException as error:  # kept for whoever waits on the handle
                self.error = error
            finally:
                with self._answered:  # a request waiting for an answer learns that none will come
                    self._ended = True
                    self._answered.notify_all()
        self._thread = threading.Thread(target=target, name=name, daemon=True)
        self._thread.start()
        return self._thread

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a started handle's ``run()`` to return; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return self.outcome is not None
