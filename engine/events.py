"""Events the engine emits: plain frozen dataclasses, safe to hand to another thread.

Arrays in events are fresh copies that the engine never writes again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

STATES = ("starting", "running", "paused", "range_test", "stopped", "finished", "failed")


class Event:
    """Base of every engine event."""


@dataclass(frozen=True)
class RunStarted(Event):
    """A run began (or resumed at ``start_step``)."""

    run_id: str
    config: dict[str, Any]
    dataset: dict[str, Any]
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
    """The run's schedule changed at ``step`` (an edit, an undo, a plateau firing, a rollback)."""

    step: int
    run_schedule: Any
    summary: str
    reason: str


@dataclass(frozen=True)
class EditRefused(Event):
    """A requested schedule edit was invalid and nothing changed."""

    step: int
    message: str


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
    settings: dict[str, Any]
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

    result: Any
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

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for the run store and ``--json``); infinite bounds and NaN become null."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("lrs", "bounds", "dead_relu"):
            data[key] = [float(v) if np.isfinite(v) else None for v in data[key]]
        data["groups"] = list(self.groups)
        data["edge"] = self.edge if np.isfinite(self.edge) else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CurvatureMeasured:
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
class CheckpointSaved(Event):
    """A checkpoint of step ``step`` is on disk."""

    step: int
    path: str


@dataclass(frozen=True)
class LogLine(Event):
    """A line for the user's log ("info" or "warning")."""

    text: str
    level: str = "info"


@dataclass
class EventBus:
    """Calls every subscriber with each event, on the emitting thread; subscribers must be quick."""

    subscribers: list[Callable[[Event], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, subscriber: Callable[[Event], None]) -> None:
        """Add a subscriber."""
        with self._lock:
            self.subscribers = [*self.subscribers, subscriber]

    def emit(self, event: Event) -> None:
        """Deliver ``event``; a failing subscriber is logged and never stops training."""
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber %r failed", subscriber)
