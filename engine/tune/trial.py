"""One trial: a real run of the schedule at the trial's settings, through the run store, stoppable at each epoch.

The single place a tune starts a run, so it can move to ``engine/run`` in one edit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..commands import Stop
from ..config import TrainConfig
from ..data.dataset import PreparedDataset
from ..events import EpochEnded, Event, FaultRaised
from ..schedules.edits import RunSchedule
from ..store.writer import RunStore
from ..training.job import TrainingJob

# Called at each epoch's end with its EpochEnded event; True stops the run there.
EpochCheck = Callable[[EpochEnded], bool]


@dataclass(frozen=True)
class TrialRun:
    """How a trial's run ended: its state, the steps it trained, its last validation, its folder."""

    state: str
    steps: int
    val_accuracy: float
    val_loss: float
    run_dir: str
    stopped_early: bool
    fault: str = ""


class TrialJob:
    """A run that the tune can stop from its epoch check, from a fault, or from another thread (cancel)."""

    def __init__(self, config: TrainConfig, dataset: PreparedDataset, run_schedule: RunSchedule, runs_root: Path,
                 check: EpochCheck, emit: Callable[[Event], None] | None = None):
        self.job = TrainingJob(config, dataset, run_schedule=run_schedule)
        self.store = RunStore.create(runs_root, config.to_dict(), dataset.summary.to_dict(), emit=self.job.bus.emit)
        self.job.store = self.store
        self.job.bus.subscribe(self.store.on_event)
        self.job.bus.subscribe(self._on_event)
        if emit is not None:
            self.job.bus.subscribe(emit)
        self.check, self.stopped_early, self.fault = check, False, ""

    def stop(self) -> None:
        """Stop at the next step (callable from any thread)."""
        self.job.send(Stop())

    def _on_event(self, event: Event) -> None:
        if isinstance(event, EpochEnded) and not self.stopped_early:
            if self.check(event):
                self.stopped_early = True
                self.stop()
        elif isinstance(event, FaultRaised):
            # A trial never waits for a person: a NaN or exploding loss ends it (the LR was too high).
            self.fault = event.kind
            self.stop()

    def run(self) -> TrialRun:
        """Train until the schedule ends or a stop; the store is closed afterwards."""
        try:
            outcome = self.job.run()
        finally:
            self.store.close()
        accuracy = outcome.val_accuracy if not self.fault else 0.0
        loss = outcome.val_loss if not self.fault else math.inf
        return TrialRun(outcome.state, outcome.step, accuracy, loss, str(self.store.run_dir), self.stopped_early, self.fault)
