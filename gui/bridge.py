"""The one bridge between worker threads and the GUI thread.

Workers put plain engine events (and task results) into a thread-safe queue;
a QTimer on the GUI thread drains it about 30 times a second and re-emits each
as a Qt signal, consecutive step blocks merged into one. Widgets only ever see
these signals, so nothing outside the GUI thread touches a widget.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from engine.events import (
    CheckpointSaved,
    CurvatureMeasured,
    EditRefused,
    EpochEnded,
    Event,
    FaultRaised,
    HealthLogged,
    LogLine,
    RangeTestFinished,
    RangeTestProgress,
    RangeTestStarted,
    RolledBack,
    RunStarted,
    ScheduleChanged,
    StabilityWarning,
    StateChanged,
    StepsLogged,
    StoreFailed,
    StoreRecovered,
    TuneFinished,
    TuneIntervalChosen,
    TuneStarted,
    TuneTrialFinished,
    TuneTrialReported,
    TuneTrialStarted,
    merge_steps,
)


@dataclass(frozen=True)
class TaskDone:
    """A background task returned ``result``."""

    name: str
    result: Any
    tag: Any = None  # what was asked of it, where a newer ask of the same task makes its end stale (opening a folder)


@dataclass(frozen=True)
class TaskFailed:
    """A background task raised; ``message`` is for the user."""

    name: str
    message: str
    tag: Any = None


class EngineBridge(QObject):
    """Drains the worker queue on a timer and re-emits its items as signals on the GUI thread."""

    runStarted = Signal(object)
    stepsLogged = Signal(object)
    epochEnded = Signal(object)
    scheduleChanged = Signal(object)
    editRefused = Signal(object)
    stateChanged = Signal(object)
    faultRaised = Signal(object)
    rolledBack = Signal(object)
    rangeTestStarted = Signal(object)
    rangeTestProgress = Signal(object)
    rangeTestFinished = Signal(object)
    logLine = Signal(object)
    checkpointSaved = Signal(object)
    curvatureMeasured = Signal(object)
    healthLogged = Signal(object)
    stabilityWarning = Signal(object)
    tuneEvent = Signal(object)
    storeEvent = Signal(object)  # StoreFailed or StoreRecovered
    taskDone = Signal(object)
    taskFailed = Signal(object)
    drained = Signal()

    def __init__(self, interval_ms: int = 33, parent: QObject | None = None):
        super().__init__(parent)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)
        self._timer.start()
        self._routes = {
            RunStarted: self.runStarted, EpochEnded: self.epochEnded, ScheduleChanged: self.scheduleChanged,
            EditRefused: self.editRefused, StateChanged: self.stateChanged, FaultRaised: self.faultRaised,
            RolledBack: self.rolledBack, RangeTestStarted: self.rangeTestStarted, RangeTestProgress: self.rangeTestProgress,
            RangeTestFinished: self.rangeTestFinished, LogLine: self.logLine, CheckpointSaved: self.checkpointSaved,
            TaskDone: self.taskDone, TaskFailed: self.taskFailed, CurvatureMeasured: self.curvatureMeasured,
            HealthLogged: self.healthLogged, StabilityWarning: self.stabilityWarning,
            StoreFailed: self.storeEvent, StoreRecovered: self.storeEvent,
            **dict.fromkeys((TuneStarted, TuneIntervalChosen, TuneTrialStarted, TuneTrialReported, TuneTrialFinished, TuneFinished),
                            self.tuneEvent),
        }

    def put(self, item: Event | TaskDone | TaskFailed) -> None:
        """Queue an item for the GUI thread; callable from any thread."""
        self._queue.put(item)

    @Slot()
    def drain(self) -> None:
        """Emit everything queued so far, in order, with consecutive step blocks merged."""
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if not items:
            return
        blocks: list[StepsLogged] = []
        for item in items:
            if isinstance(item, StepsLogged):
                blocks.append(item)
                continue
            if blocks:
                self.stepsLogged.emit(merge_steps(blocks))
                blocks = []
            signal = self._routes.get(type(item))
            if signal is not None:
                signal.emit(item)
        if blocks:
            self.stepsLogged.emit(merge_steps(blocks))
        self.drained.emit()
