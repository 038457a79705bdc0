"""Events the engine emits: plain frozen dataclasses, safe to hand to another thread.

Arrays in events are fresh copies that the engine never writes again. Every field is typed with
plain data or a value the protocol (``engine/protocol``) knows how to write, so an event can cross
a process boundary; register a new event there.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .plain import JsonObject
from .range_test.result import RangeTestResult
from .schedules.edits import RunSchedule
from .text import whose

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
    """A requested schedule edit was invalid and nothing changed; ``source`` names the client that sent a remote one."""

    step: int
    message: str
    source: str = ""


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
    """The run moved to ``state`` (one of STATES); ``fault``: what is wrong with a run that ran to its end anyway
    (DAMAGED_WEIGHTS: its last validation says the weights it ended on are damaged), or the fault that stopped a
    "stopped" run (a FaultRaised kind, or STORE_UNWRITABLE, from the fault policy's Stop), else ""."""

    state: str
    step: int
    message: str = ""
    fault: str = ""


# A run that ran to its end on weights its last validation says are damaged (`train` exits 3, and so does `watch`).
DAMAGED_WEIGHTS = "damaged_weights"

# A run its fault policy stopped because its store could not be written (`train` exits 4, and so does `watch`).
STORE_UNWRITABLE = "store_unwritable"


# The faults of a blown-up loss: the weights they leave are damaged, never checkpointed (a rollback may repair them).
LOSS_FAULTS = ("nan_loss", "exploding_loss", "collapsed_loss")


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
    """New points of the range-test curve (of repeat ``repeat``, counted from 0).

    ``done`` is the fraction of the whole test (every repeat) done, ``seconds_left`` the time the rest takes at the
    pace kept so far (NaN before there is one); a sweep that diverges ends its repeat early, so it may take less.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    repeat: int = 0
    done: float = 0.0
    seconds_left: float = math.nan


@dataclass(frozen=True)
class RangeTestFinished(Event):
    """The range test ended; ``result`` is None when it was cancelled before any point."""

    result: RangeTestResult | None
    cancelled: bool
    message: str = ""
    step: int = 0


@dataclass(frozen=True)
class CurvatureMeasured(Event):
    """λmax of the training loss on the fixed probe batch at ``step``, and the LR bound it implies.

    ``lambda_max`` is the sharpness the optimizer sees: the Hessian's λmax for SGD with
    equal group LRs, else that of the LR-weighted (and, for Adam, preconditioned) Hessian.
    ``bounds`` holds each group's LR above which the run is unstable in theory
    (``constant``/λ scaled by the group's share of the LR; NaN for a group whose LR is 0).
    ``dead_relu`` is each group's fraction of ReLU units silent on the whole probe batch.
    """

    step: int
    lambda_max: float
    iterations: int
    converged: bool
    seconds: float
    bn_mode: str
    optimizer: str
    formula: str
    constant: float
    preconditioned: bool
    groups: tuple[str, ...]
    lrs: np.ndarray
    bounds: np.ndarray
    dead_relu: np.ndarray
    batch_size: int
    trigger: str = "cadence"

    @property
    def edge(self) -> float:
        """The largest LR ÷ bound over the groups: 1 is the edge of stability."""
        ratios = self.lrs / self.bounds
        finite = ratios[np.isfinite(ratios)]
        return float(finite.max()) if len(finite) else float("nan")

    @property
    def bounds_differ(self) -> bool:
        """Whether the groups that train have bounds of their own (their LRs differ): only then is a bound a group's."""
        bounds = self.bounds[np.isfinite(self.bounds)]
        return len(bounds) > 1 and not np.allclose(bounds, bounds[0])

    def edge_words(self) -> str:
        """"LR at 85% of the bound 0.31" for the group nearest its bound, named when the groups' bounds differ (with
        multipliers the head's bound was printed beside another group's percentage); "no bound yet" without one."""
        ratios = self.lrs / self.bounds
        finite = np.isfinite(ratios) & np.isfinite(self.bounds)
        if not finite.any():
            return "no bound yet"
        index = int(np.argmax(np.where(finite, ratios, -np.inf)))
        lr = f"{whose(self.groups[index])} LR" if self.bounds_differ else "LR"
        share = 100 * ratios[index]
        percent = f"{share:.0f}" if share >= 1 else f"{share:.1g}"  # "0%" beside an LR of 0.005 read as no LR at all
        return f"{lr} at {percent}% of {'the' if lr == 'LR' else 'its'} bound {self.bounds[index]:.3g}"

    def to_dict(self) -> JsonObject:
        """Plain data (for the run store, ``--json`` and a range test's result); infinite bounds and NaN become null."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("lrs", "bounds", "dead_relu"):
            data[key] = [float(v) if np.isfinite(v) else None for v in data[key]]
        data["groups"] = list(self.groups)
        data["edge"] = self.edge if np.isfinite(self.edge) else None
        return data

    @classmethod
    def from_dict(cls, data: JsonObject) -> CurvatureMeasured:
        """A measurement from ``to_dict``'s plain data (null bounds read back as NaN)."""
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        for key in ("lrs", "bounds", "dead_relu"):
            values[key] = np.array([np.nan if v is None else v for v in values[key]], dtype=float)
        values["groups"] = tuple(values["groups"])
        return cls(**values)


@dataclass(frozen=True)
class HealthLogged(Event):
    """Optimizer health of a block of steps, per named group (columns in ``groups`` order)."""

    steps: np.ndarray
    groups: tuple[str, ...]
    grad_norm: np.ndarray
    update_ratio: np.ndarray


@dataclass(frozen=True)
class StabilityWarning(Event):
    """The LR nears the stability bound or λmax climbs fast: what, in words, and the edit that would help.

    ``scale`` is the factor that keeps the rest of the schedule under ``margin`` × the bound (1 when none is needed).
    """

    step: int
    kind: str
    message: str
    advice: str
    scale: float


@dataclass(frozen=True)
class TuneStarted(Event):
    """A tune began: what it may spend (in training steps, and as full runs) and about how long that takes."""

    budget_steps: int
    run_steps: int
    estimated_seconds: float
    search: tuple[str, ...]
    baseline: JsonObject
    folder: str
    resumed: bool = False  # a tune that goes on after a stop
    spent_steps: int = 0  # what it spent before
    trials_before: int = 0  # and the trials it had run


@dataclass(frozen=True)
class TuneIntervalChosen(Event):
    """The peak LRs the tune will sample from, and where they came from (the range test, or why not)."""

    low: float
    high: float
    source: str
    spent_steps: int


@dataclass(frozen=True)
class TuneTrialStarted(Event):
    """Trial ``number`` started: its parameters, its data-order seed and its run folder."""

    number: int
    params: JsonObject
    seed: int
    run_dir: str


@dataclass(frozen=True)
class TuneTrialReported(Event):
    """A trial after ``epochs`` epochs: its validation, and the epoch's training loss (what early stopping compares)."""

    number: int
    epochs: int
    step: int
    val_accuracy: float
    val_loss: float
    train_loss: float


@dataclass(frozen=True)
class TuneTrialFinished(Event):
    """A trial ended: "complete", "pruned" (stopped early, behind the others), "diverged" or "cancelled"."""

    number: int
    params: JsonObject
    state: str
    val_accuracy: float
    val_loss: float
    steps: int
    run_dir: str
    spent_steps: int
    budget_steps: int
    why: str = ""  # "pruned": what it fell behind, as "stopped after epoch 1 of 3: training loss 1.92 …"; "diverged" at
    # its end (no fault raised, its last validation said the weights are damaged): that validation


@dataclass(frozen=True)
class TuneFinished(Event):
    """The tune ended; ``record`` is the whole search as plain data (its ``winner`` may be None)."""

    record: JsonObject
    cancelled: bool
    message: str


@dataclass(frozen=True)
class CheckpointSaved(Event):
    """A checkpoint of step ``step`` is on disk."""

    step: int
    path: str


@dataclass(frozen=True)
class StoreFailed(Event):
    """The run store could not write (disk full, folder removed…).

    ``message`` says what failed, what to do (free space, move a file away) and what a resume can go on from;
    ``resumable_step`` is the step of the newest checkpoint on disk when it failed (None when none is there: none written
    yet, or those written gone with their folder).
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
