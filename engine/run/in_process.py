"""A run trained by this process, on whichever thread calls ``run()`` (the window's default, and the CLI's)."""

from __future__ import annotations

from pathlib import Path

from ..commands import Command, Inbox
from ..events import Event, EventBus, LogLine
from .handle import RunHandle, RunResult
from .history import stored_history
from .launch import NewRun, ResumedRun, wire


class InProcessRun(RunHandle):
    """Builds the job and its store (``prepare()``), then trains (``run()``); commands sent before either are kept."""

    def __init__(self, spec: NewRun | ResumedRun):
        super().__init__()
        self.spec = spec
        self.bus, self.inbox = EventBus(), Inbox()
        self.bus.subscribe(self.deliver)
        self.job = self.store = None

    @property
    def run_dir(self) -> Path | None:
        """The run's folder, once prepared."""
        return None if self.store is None else self.store.run_dir

    def prepare(self) -> None:
        """Build the model, optimizer and data, and open the run store (slow: imports torch)."""
        if self.job is None:
            self.job, self.store = wire(self.spec, self.bus, self.inbox, warn=lambda text: self.bus.emit(LogLine(text, "warning")))

    def send(self, command: Command) -> None:
        """Queue ``command``; callable from any thread, even before the job exists."""
        self.inbox.send(command)

    def history(self) -> list[Event]:
        """What the run store holds so far."""
        return [] if self.run_dir is None else stored_history(self.run_dir, self.bus.session)[0]

    def run(self) -> RunResult:
        """Prepare if needed, train to the end or a stop, close the store; how the run ended."""
        self.prepare()
        try:
            outcome = self.job.run()
        finally:
            if self.store is not None:  # a distributed run's ranks but 0 keep no store
                self.store.close()
        tracked = self.tracker.result()
        return RunResult(outcome.state, outcome.step, self.job.total_steps, self.job.session.steps_per_epoch, tracked.run_id,
                         str(self.run_dir or ""), self.job.config.to_dict(), self.job.dataset.summary.to_dict(),
                         self.job.run_schedule, outcome.best_val_accuracy, outcome.val_loss, outcome.val_accuracy,
                         outcome.message or tracked.message, outcome.train_seconds, self.job.session.group_names,
                         self.job.session.weights, tracked.start_step, tracked.fault)
