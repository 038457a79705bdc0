"""The training job: a plain object that trains on whichever thread calls ``run()``.

It emits events to an EventBus and takes commands from an Inbox, which it reads
only at step boundaries (and between batches of validation and range tests for
stop and cancel), so every command sees a consistent state.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import torch

from ..commands import CancelRangeTest, Command, EditSchedule, Inbox, Pause, Resume, RollBack, StartRangeTest
from ..config import TrainConfig
from ..data.dataset import PreparedDataset
from ..device import describe_device
from ..events import (
    EditRefused,
    EpochEnded,
    EventBus,
    FaultRaised,
    LogLine,
    RolledBack,
    RunStarted,
    ScheduleChanged,
    StateChanged,
)
from ..optim import applied_lrs
from ..schedules.edits import Edit, RunSchedule, ScaleRest
from ..schedules.history_codec import run_schedule_from_dict, run_schedule_to_dict
from ..schedules.plateau import PlateauTracker
from .evaluate import Interrupted, evaluate
from .freezing import Freezer
from .plan import Plan
from .recorder import Fault, StepRecorder
from .session import build_session
from .start_schedule import starting_timeline
from .state import capture, restore
from .step import apply_hyperparameters, is_out_of_memory, train_step

CHECKPOINT_FORMAT = "lrscope.checkpoint"


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended."""

    state: str
    step: int
    best_val_accuracy: float
    val_loss: float
    val_accuracy: float
    message: str = ""
    train_seconds: float = 0.0


def default_run_schedule(config: TrainConfig, steps_per_epoch: int, names: tuple[str, ...] = ()) -> RunSchedule:
    """The config's preset (or fine-tuning preset over the groups ``names``) over its epochs, with its group multipliers."""
    return RunSchedule(starting_timeline(config, steps_per_epoch, names))


class TrainingJob:
    """Trains ``config`` on ``dataset``; send it commands from any thread, call ``run()`` on one."""

    def __init__(self, config: TrainConfig, dataset: PreparedDataset, *, run_schedule: RunSchedule | None = None,
                 bus: EventBus | None = None, store: Any = None, resume: dict | None = None,
                 flush_interval: float = 0.1, inbox: Inbox | None = None):
        self.config, self.dataset = config, dataset
        self.bus = bus or EventBus()
        self.inbox = inbox or Inbox()
        self.store = store
        # A resumed run restores its own weights: pretrained ones are not read again.
        self.session = build_session(config, dataset, log=self._log, on_skip=self._skipped, load_weights=resume is None)
        self.run_schedule = run_schedule or default_run_schedule(config, self.session.steps_per_epoch, self.session.group_names)
        self.step, self.state = 0, "starting"
        self.epoch_end_pending = False
        self.metrics = {"best_val_accuracy": float("nan"), "val_loss": float("nan"), "val_accuracy": float("nan")}
        rule = self.run_schedule.timeline.plateau
        self.plateau = PlateauTracker(rule) if rule else None
        self.recorder = StepRecorder(self.bus.emit, self.session.steps_per_epoch, self.session.group_names,
                                     interval=flush_interval, explode_factor=config.explode_factor)
        self.freezer = Freezer(self.session.model, self.session.optimizer, config.frozen_bn)
        self.range_tests_run = 0
        self.excluded_seconds = 0.0
        self._pending: tuple | None = None
        self._batches = None
        if resume is not None:
            self._restore_checkpoint(resume)
        self._plan = self._new_plan()
        self.last_good = self._snapshot()

    # -- public ------------------------------------------------------------------

    def send(self, command: Command) -> None:
        """Queue a command; safe from any thread."""
        self.inbox.send(command)

    @property
    def total_steps(self) -> int:
        """The run's length in steps, as the schedule now says."""
        return self.run_schedule.timeline.total_steps

    def run(self) -> RunOutcome:
        """Train until the schedule ends or a stop; never raises for training problems."""
        message = ""
        self.bus.emit(RunStarted(
            run_id=getattr(self.store, "run_id", "") or uuid.uuid4().hex[:8], config=self.config.to_dict(),
            dataset=self.dataset.summary.to_dict(), total_steps=self.total_steps,
            steps_per_epoch=self.session.steps_per_epoch, groups=self.session.group_names,
            device=describe_device(self.session.device), start_step=self.step,
            run_dir=getattr(self.store, "run_dir", None)))
        self.bus.emit(ScheduleChanged(self.step, self.run_schedule, "schedule at start", "start"))
        started = time.perf_counter()
        try:
            self._set_state("running")
            self._loop()
            self._set_state("finished")
        except (Interrupted, StopRequested):
            self._stop()
        except Exception as error:  # a bug or an unexpected fault: report it, keep the app alive
            message = f"{type(error).__name__}: {error}"
            self.recorder.flush()
            self._set_state("failed", message)
        train_seconds = time.perf_counter() - started - self.excluded_seconds
        return RunOutcome(self.state, self.step, self.metrics["best_val_accuracy"], self.metrics["val_loss"],
                          self.metrics["val_accuracy"], message, train_seconds)

    # -- the loop ----------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            self._handle_commands()
            if self.epoch_end_pending:
                self._end_epoch()
            elif self.step >= self.total_steps:
                self.recorder.flush()
                return
            elif self._train_one() and not self.epoch_end_pending:
                if self.config.checkpoint_every and self.step % self.config.checkpoint_every == 0:
                    self._checkpoint_if_healthy()
                elif self.recorder.due():
                    self._flush()

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._pending is not None and self._pending[0] == self.step:
            return self._pending[1]
        epoch, index = divmod(self.step, self.session.steps_per_epoch)
        if self._batches is None or self._batches[0] != self.step:
            self._batches = (self.step, self.session.train.iterate(epoch, index))
        batch = next(self._batches[1])
        self._batches = (self.step + 1, self._batches[1]) if index + 1 < self.session.steps_per_epoch else None
        return batch

    def _train_one(self) -> bool:
        """Train the current step; False if it could not (out of memory, or no usable image in its batch)."""
        images, labels = self._next_batch()
        self._pending = (self.step, (images, labels))
        if len(labels) == 0:
            self._log(f"step {self.step}: every image of the batch was unreadable; the step was skipped", "warning")
            self.step += 1
            return False
        settings = self._plan.at(self.step)
        optimizer = self.session.optimizer
        apply_hyperparameters(optimizer, settings)
        self.freezer.apply(settings.frozen)
        try:
            loss = train_step(self.session, images, labels, self.step)
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            self._out_of_memory()
            return False
        self.recorder.record(self.step, loss, applied_lrs(optimizer), settings.momentum, len(labels))
        self.step += 1
        self.epoch_end_pending = self.step % self.session.steps_per_epoch == 0 or self.step == self.total_steps
        self._pending = None
        return True

    def _end_epoch(self) -> None:
        if self._flush():
            return
        self.recorder.pause_clock()
        started = time.perf_counter()
        try:
            val_loss, val_accuracy = evaluate(self.session, self.session.val, self.inbox.stop_requested)
        finally:
            self.excluded_seconds += time.perf_counter() - started
        epoch = max(0, math.ceil(self.step / self.session.steps_per_epoch) - 1)
        self._update_metrics(val_loss, val_accuracy)
        self.bus.emit(EpochEnded(epoch, self.step, self.recorder.take_epoch_loss(), val_loss, val_accuracy,
                                 time.perf_counter() - started))
        self.epoch_end_pending = False
        running_on = self.step < self.total_steps
        if self.plateau is not None and running_on and math.isfinite(val_loss) and self.plateau.observe(val_loss):
            self._plateau_fired()
        self.last_good = self._snapshot()
        self._save_checkpoint(self.last_good["state"])

    def _update_metrics(self, val_loss: float, val_accuracy: float) -> None:
        best = self.metrics["best_val_accuracy"]
        self.metrics.update(val_loss=val_loss, val_accuracy=val_accuracy,
                            best_val_accuracy=val_accuracy if math.isnan(best) else max(best, val_accuracy))

    def _flush(self) -> bool:
        """Emit buffered metrics; on a fault, pause and return True."""
        fault = self.recorder.flush()
        if fault is None:
            return False
        self._raise_fault(fault)
        return True

    # -- commands ----------------------------------------------------------------

    def _handle_commands(self) -> None:
        """Apply queued commands and wait while paused; that time is not training time."""
        commands = self.inbox.drain()
        if commands or self.state == "paused":
            started = time.perf_counter()
            try:
                for command in commands:
                    self._apply(command)
                while self.state == "paused" and not self.inbox.stop_requested.is_set():
                    command = self.inbox.wait(timeout=0.25)
                    if command is not None:
                        self._apply(command)
            finally:
                self.excluded_seconds += time.perf_counter() - started
        if self.inbox.stop_requested.is_set():
            raise StopRequested

    def _apply(self, command: Command) -> None:
        if isinstance(command, Pause) and self.state == "running":
            self.recorder.flush()
            self.recorder.pause_clock()
            self._set_state("paused")
        elif isinstance(command, Resume) and self.state == "paused":
            self._set_state("running")
        elif isinstance(command, EditSchedule):
            self._edit(command.edit)
        elif isinstance(command, StartRangeTest):
            self._range_test(command.settings)
        elif isinstance(command, RollBack):
            self._roll_back(command.lr_factor)
        elif isinstance(command, CancelRangeTest):
            self.inbox.cancel_requested.clear()

    def _edit(self, edit: Edit) -> bool:
        current = self.run_schedule.timeline.lr_at(max(0, self.step - 1))
        try:
            edited = self.run_schedule.apply(edit, self.step, current)
            plan = Plan(edited.timeline, self.session.group_names, self.config.momentum)
        except ValueError as error:
            self.bus.emit(EditRefused(self.step, str(error)))
            return False
        self.run_schedule, self._plan = edited, plan
        record = self.run_schedule.edits[-1]
        self.bus.emit(ScheduleChanged(self.step, self.run_schedule, record.summary, edit.reason))
        return True

    def _new_plan(self) -> Plan:
        return Plan(self.run_schedule.timeline, self.session.group_names, self.config.momentum)

    def _plateau_fired(self) -> None:
        factor = self.plateau.factor_for(self.run_schedule.timeline.lr_at(self.step - 1))
        if factor is not None:
            self._edit(ScaleRest(factor, reason="plateau"))

    def _range_test(self, settings) -> None:
        from ..range_test.runner import run_range_test

        if self._flush():
            self._log("the range test was not started because training hit a fault; roll back first", "warning")
            return
        self.recorder.pause_clock()
        previous = self.state
        self.inbox.cancel_requested.clear()
        self._set_state("range_test")
        try:
            run_range_test(self.session, settings, self.bus.emit, self.run_schedule.timeline,
                           cancelled=self._range_test_cancelled, index=self.range_tests_run, step=self.step,
                           run_steps=self.total_steps - self.step)
        finally:
            self.range_tests_run += 1
            self._set_state(previous if previous == "paused" else "running")

    def _range_test_cancelled(self) -> bool:
        return self.inbox.cancel_requested.is_set() or self.inbox.stop_requested.is_set()

    # -- faults and rollback ---------------------------------------------------------

    def _raise_fault(self, fault: Fault) -> None:
        good = self.last_good["step"]
        if fault.kind == "nan_loss":
            message = f"The loss became {fault.loss} at step {fault.step} (LR {fault.lr:.3g}): the LR is probably too high for this model and data."
        else:
            message = f"The loss is exploding ({fault.loss:.3g} at step {fault.step}, LR {fault.lr:.3g}): the LR is probably too high."
        advice = f"Roll back to step {good} (the last good state) with the LR ×0.1, or stop and lower the LR."
        self.bus.emit(FaultRaised(fault.kind, fault.step, fault.lr, message, advice, can_roll_back=True))
        self.recorder.pause_clock()
        self._set_state("paused", message)

    def _out_of_memory(self) -> None:
        self.session.optimizer.zero_grad(set_to_none=True)
        if self.session.device.type == "cuda":
            torch.cuda.empty_cache()
        size = self.config.batch_size
        lr = max(self._plan.at(self.step).lrs.values())
        message = f"{describe_device(self.session.device)} ran out of memory at step {self.step} with batch size {size}."
        advice = f"Lower the batch size to {max(1, size // 2)} or less (or turn on mixed precision) and start again, or resume to retry; the run is paused and nothing is lost."
        self.recorder.flush()
        self.bus.emit(FaultRaised("out_of_memory", self.step, lr, message, advice))
        self.recorder.pause_clock()
        self._set_state("paused", message)

    def _snapshot(self) -> dict[str, Any]:
        return {"step": self.step, "state": capture(self.session), "run_schedule": self.run_schedule,
                "plateau": self.plateau.state() if self.plateau else None, "metrics": dict(self.metrics)}

    def _roll_back(self, lr_factor: float) -> None:
        good = self.last_good
        restore(self.session, good["state"])
        self.step, self.run_schedule, self.metrics = good["step"], good["run_schedule"], dict(good["metrics"])
        self.epoch_end_pending = False
        if self.plateau is not None and good["plateau"] is not None:
            self.plateau = PlateauTracker.restore(self.plateau.rule, good["plateau"])
        self._pending = self._batches = None
        self.recorder.flush()
        self.recorder.forget_trend()
        self.recorder.take_epoch_loss()
        self.bus.emit(RolledBack(self.step, f"rolled back to step {self.step}"))
        self._edit(ScaleRest(lr_factor, reason="rollback"))
        self._set_state("running")

    # -- checkpoints ---------------------------------------------------------------

    def checkpoint_payload(self, state: dict | None = None) -> dict[str, Any]:
        """Everything needed to resume exactly at the current step (``state``: a capture made just now)."""
        return {
            "format": CHECKPOINT_FORMAT, "version": 1, "step": self.step, "epoch_end_pending": self.epoch_end_pending,
            "state": state if state is not None else capture(self.session),
            "run_schedule": json.dumps(run_schedule_to_dict(self.run_schedule)),
            "plateau": json.dumps(self.plateau.state() if self.plateau else None),
            "metrics": json.dumps(self.metrics),
        }

    def _checkpoint_if_healthy(self) -> None:
        if not self._flush():
            self._save_checkpoint()

    def _save_checkpoint(self, state: dict | None = None) -> None:
        if self.store is not None:
            self.store.save_checkpoint(self.checkpoint_payload(state), self.step)

    def _restore_checkpoint(self, payload: dict) -> None:
        if payload.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not an lrscope checkpoint")
        restore(self.session, payload["state"])
        self.step = int(payload["step"])
        self.epoch_end_pending = bool(payload["epoch_end_pending"])
        self.run_schedule = run_schedule_from_dict(json.loads(payload["run_schedule"]))
        plateau = json.loads(payload["plateau"])
        rule = self.run_schedule.timeline.plateau
        self.plateau = PlateauTracker.restore(rule, plateau) if rule and plateau else (PlateauTracker(rule) if rule else None)
        self.metrics.update(json.loads(payload["metrics"]))

    def _stop(self) -> None:
        self.recorder.flush()
        self._save_checkpoint()
        self._set_state("stopped", f"stopped at step {self.step}; the run can be resumed")

    # -- small helpers ---------------------------------------------------------------

    def _set_state(self, state: str, message: str = "") -> None:
        self.state = state
        self.bus.emit(StateChanged(state, self.step, message))

    def _log(self, text: str, level: str = "info") -> None:
        self.bus.emit(LogLine(text, level))

    def _skipped(self, paths: list[str]) -> None:
        self._log(f"skipped {len(paths)} unreadable image(s) during training, e.g. {paths[0]}", "warning")


class StopRequested(Exception):
    """Raised at a step boundary when a stop was requested."""
