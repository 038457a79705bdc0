"""One trial: a real run of the schedule at the trial's settings, started through ``engine.run`` (so each is a
stored run the user can open), stoppable at each epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..commands import Stop
from ..config import TrainConfig
from ..data.dataset import PreparedDataset
from ..events import DAMAGED_WEIGHTS, EpochEnded, Event, FaultRaised, LogLine, StoreFailed
from ..run import InProcessRun, NewRun
from ..schedules.edits import RunSchedule
from ..store.reader import STOP_NOTE
from ..text import percent

# Called at each epoch's end with its EpochEnded event; True stops the run there.
EpochCheck = Callable[[EpochEnded], bool]


@dataclass(frozen=True)
class TrialRun:
    """How a trial's run ended: its state, the steps it trained, its last validation, its folder; what stopped it."""

    state: str
    steps: int
    val_accuracy: float
    val_loss: float
    run_dir: str
    stopped_early: bool
    fault: str = ""
    store_failure: str = ""
    why: str = ""  # a trial that ran to its end on damaged weights: what its last validation said


class TrialJob:
    """A run that the tune can stop from its epoch check, from a fault, or from another thread (cancel).

    Built at once (model, data, run folder), so its folder is known before it trains.
    """

    def __init__(self, config: TrainConfig, dataset: PreparedDataset, run_schedule: RunSchedule, runs_root: Path,
                 check: EpochCheck, emit: Callable[[Event], None] | None = None, purpose: str = ""):
        self.handle = InProcessRun(NewRun(config, dataset, run_schedule, Path(runs_root), purpose))
        self.handle.subscribe(self._on_event)
        if emit is not None:
            self.handle.subscribe(emit)
        self.check, self.stopped_early, self.fault, self.store_failure = check, False, "", ""
        self.handle.prepare()

    @property
    def run_dir(self) -> Path:
        """The trial's run folder."""
        return self.handle.run_dir

    def stop(self) -> None:
        """Stop at the next step (callable from any thread)."""
        self.handle.send(Stop())

    def _on_event(self, event: Event) -> None:
        if isinstance(event, EpochEnded) and not self.stopped_early:
            if self.check(event):
                self.stopped_early = True
                # Stored with the run: the Runs tab said "stopped", as of a run the user stopped, with Resume offered.
                self.handle.bus.emit(LogLine(f"stopped early by its tune after epoch {event.epoch + 1}: it fell behind the "
                                             "trials of a similar peak LR (its accuracy is from mid-run)", STOP_NOTE))
                self.stop()
        elif isinstance(event, FaultRaised):
            # A trial never waits for a person: a NaN or exploding loss ends it (the LR was too high).
            self.fault = event.kind
            self.stop()
        elif isinstance(event, StoreFailed) and not self.store_failure:
            # A trial nobody can open is no trial: stop it (what it stored stays, as for any run).
            self.store_failure = event.message
            self.stop()

    def run(self) -> TrialRun:
        """Train until the schedule ends or a stop; the store is closed afterwards."""
        result = self.handle.run()
        why = ""
        if not self.fault and result.fault == DAMAGED_WEIGHTS:
            # No fault was raised, so it was scored as complete: a trial at LR 0.4 that ended at a validation loss of 72
            # and 50% won over 4 validation images (too few to tell chance from learning), and was installed and exported.
            self.fault = result.fault
            why = (f"ended on damaged weights, its last validation says (loss {result.val_loss:.4g}, accuracy "
                   f"{percent(result.val_accuracy)}): it cannot win")
        accuracy = result.val_accuracy if not self.fault else 0.0
        loss = result.val_loss if not self.fault else math.inf
        return TrialRun(result.state, result.step, accuracy, loss, result.run_dir, self.stopped_early, self.fault,
                        self.store_failure, why)
