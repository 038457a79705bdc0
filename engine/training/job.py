"""The training job: a plain object that trains on whichever thread calls ``run()``.

It emits events to an EventBus and takes commands from an Inbox, which it reads
only at step boundaries (and between batches of validation and range tests for
stop and cancel), so every command sees a consistent state. Everything a step
does beyond training — recording, fault checks, checkpoints, the plateau rule —
is a handler attached at a hook (``add_handler``; see ``hooks.py``), so the loop stays short.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import torch

from ..commands import Command, Inbox
from ..config import TrainConfig
from ..data.dataset import PreparedDataset
from ..device import describe_device
from ..distributed.world import lost_peer
from ..errors import ConfigError, LrscopeError, RankOutOfMemory
from ..events import (
    DAMAGED_WEIGHTS,
    LOSS_FAULTS,
    EditRefused,
    EpochEnded,
    EventBus,
    FaultRaised,
    LogLine,
    RunStarted,
    ScheduleChanged,
    StateChanged,
)
from ..schedules.edits import Edit, RunSchedule, Unfreeze
from ..schedules.timeline import Timeline
from ..store.failure import none_left
from ..text import counted, printable
from .checkpoint import checkpoint_payload, restore_checkpoint, snapshot_payload
from .control import StopRequested, answer_left, handle_commands
from .evaluate import Interrupted, evaluate
from .freezing import Freezer
from .handlers import attach_builtins
from .hooks import Handler, Handlers, Hook, StepInfo
from .plan import Plan, StepSettings
from .recorder import StepRecorder
from .session import build_session
from .start_schedule import starting_timeline
from .state import capture
from .step import apply_hyperparameters, forward_backward, is_out_of_memory, optimizer_step

EMPTY_BATCHES_LIMIT = 3


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
        self.session = build_session(config, dataset, log=self.log, on_skip=self._skipped, load_weights=resume is None)
        self.run_schedule = run_schedule or default_run_schedule(config, self.session.steps_per_epoch, self.session.group_names)
        if resume is None:  # refused before a run is stored: one whose schedule cannot be read back could not be shown
            try:
                self.run_schedule.timeline.validate()
            except ValueError as error:
                raise ConfigError("schedule", f"over this run's {counted(self.total_steps, 'step')}, {error}") from None
        self.step, self.state = 0, "starting"
        self.epoch_end_pending = False
        self.metrics = {"best_val_accuracy": float("nan"), "val_loss": float("nan"), "val_accuracy": float("nan")}
        self.recorder = StepRecorder(self.bus.emit, self.session.steps_per_epoch, self.session.group_names, interval=flush_interval)
        self.range_tests_run = self.blocks_flushed = self.faults_raised = 0
        self.cut_range_test = False  # the last range test ended on a cancel, whose command is answered after it
        self.excluded_seconds = 0.0
        self.handlers = Handlers()
        self._stateful: dict[str, Any] = {}
        self._saved_states: dict[str, Any] = {}
        self.freezer = Freezer(self.session.model, self.session.optimizer, config.frozen_bn)
        self._pending: tuple | None = None
        self._batches = None
        self.checkpointed_at = time.monotonic()
        self.timed_checkpoint_due: bool | None = None  # a distributed run: rank 0's clock decides (command_sync.py)
        # a distributed run's rank cannot pause alone on out of memory (engine/distributed/replicas.py turns this off)
        self.pauses_on_out_of_memory = True
        # these weights must not be checkpointed: a loss fault waits for a rollback, or the last epoch end's validation
        # said they are damaged (a sound epoch end clears it)
        self.diverged = False
        self._empty_batches = self._skipped_images = 0
        attach_builtins(self)
        if resume is not None:
            restore_checkpoint(self, resume)
        self._plan = self._plan_for(self.run_schedule.timeline)
        self.last_good = self.snapshot()

    # -- public ------------------------------------------------------------------

    def send(self, command: Command) -> None:
        """Queue a command; safe from any thread."""
        self.inbox.send(command)

    def add_handler(self, when: Hook, handler: Handler, every: int = 1) -> None:
        """Call ``handler(job, payload)`` at hook ``when``, every ``every``-th step (epoch, block); attach before ``run()``.

        A handler (or the object whose bound method it is) with a ``state_key`` and
        ``state_dict()``/``load_state_dict(state)`` has its plain-data state kept in
        checkpoints and in the state a rollback returns to.
        """
        self.handlers.add(when, handler, every)
        owner = getattr(handler, "__self__", handler)  # a bound method's object holds the state
        key = getattr(owner, "state_key", None)
        if key is not None and self._stateful.get(key) is not owner:
            self._stateful[key] = owner
            if key in self._saved_states:
                owner.load_state_dict(self._saved_states[key])

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
            device=describe_device(self.session.device, self.session.amp_dtype), start_step=self.step,
            run_dir=str(self.store.run_dir) if self.store is not None else None))
        self.bus.emit(ScheduleChanged(self.step, self.run_schedule, "schedule at start", "start"))
        started = time.perf_counter()
        try:
            self.handlers.fire(Hook.RUN_STARTED, self, None)
            self.set_state("running")
            self._loop()
            # the last epoch end's validation said the weights are damaged (a loss fault pauses: it never gets here)
            self._end("finished", fault=DAMAGED_WEIGHTS if self.diverged else "")
        except (Interrupted, StopRequested):
            self.flush()
            self._end("stopped", self._stopped_message(), fault=self.inbox.stop_fault)
        except Exception as error:  # a bug or an unexpected fault: report it, keep the app alive
            message = (str(error) if isinstance(error, LrscopeError)
                       else lost_peer(error, getattr(self.store, "run_dir", None)) or f"{type(error).__name__}: {error}")
            self._fail(message)
        train_seconds = time.perf_counter() - started - self.excluded_seconds
        return RunOutcome(self.state, self.step, self.metrics["best_val_accuracy"], self.metrics["val_loss"],
                          self.metrics["val_accuracy"], message, train_seconds)

    def _stopped_message(self) -> str:
        """Where a resume of the stopped run goes on. A store that cannot be written keeps only what it wrote before:
        stopped by a full disk before its first checkpoint, the run said "the run can be resumed" right after "no
        checkpoint was written yet"."""
        # A stop sent from another terminal or a window read, at the run's own terminal, as if Ctrl-C had been pressed there.
        asked = f" by {self.inbox.stop_source}" if self.inbox.stop_source else ""
        stopped = f"stopped at step {self.step}{asked}"
        if self.store is not None and self.store.failure is not None:
            if (on_disk := self.store.resumable_step()) is None:
                return f"{stopped}; {none_left(self.store.checkpoint_step)}: start the run again"
            return f"{stopped}; the run can be resumed from step {on_disk}, its last checkpoint on disk"
        # damaged weights are not written: a resume goes back to the last good state (stop_checkpoint)
        back = f" from step {self.last_good['step']}, the last good state" if self.diverged else ""
        return f"{stopped}; the run can be resumed{back}"

    def flush(self) -> bool:
        """Read the buffered steps back, emit them and run the block handlers; False if one of them raised a fault."""
        block = self.recorder.flush()
        if block is None:
            return True
        faults = self.faults_raised
        self.blocks_flushed += 1
        self.handlers.fire(Hook.BLOCK_FLUSHED, self, block, self.blocks_flushed)
        return self.faults_raised == faults

    def edit(self, edit: Edit) -> tuple[bool, str]:
        """Apply a schedule edit at the current step: (True, its summary); an invalid one is refused with an
        EditRefused event: (False, why)."""
        current = self.run_schedule.timeline.lr_at(max(0, self.step - 1))
        try:
            if isinstance(edit, Unfreeze):  # a name the schedule covers by 'all' only would read "not frozen"
                self._check_model_has(edit.groups)
            edited = self.run_schedule.apply(edit, self.step, current)
            plan = self._plan_for(edited.timeline)
        except (ValueError, TypeError, OverflowError) as error:  # an edit from another process is data: refuse it, never crash
            self.bus.emit(EditRefused(self.step, str(error), edit.source))
            return False, str(error)
        self.run_schedule, self._plan = edited, plan
        record = self.run_schedule.edits[-1]
        self.bus.emit(ScheduleChanged(self.step, self.run_schedule, record.summary, edit.reason, edit.source))
        return True, record.summary

    def _check_model_has(self, names: tuple[str, ...]) -> None:
        """ValueError naming the groups this model lacks, with the ones it has."""
        unknown = [name for name in names if name not in self.session.group_names]
        if unknown:
            raise ValueError(f"this model has no group {', '.join(unknown)} (its groups: {', '.join(self.session.group_names)})")

    def raise_fault(self, fault: FaultRaised) -> None:
        """Report ``fault`` and pause until the user rolls back, resumes or stops."""
        self.faults_raised += 1
        self.diverged = self.diverged or fault.can_roll_back or fault.kind in LOSS_FAULTS
        self.bus.emit(fault)
        self.recorder.pause_clock()
        self.set_state("paused", fault.message)

    def snapshot(self, state: dict | None = None) -> dict[str, Any]:
        """The whole state of the run now, in memory (what a rollback returns to; ``state``: a capture made just now)."""
        return {"step": self.step, "state": state if state is not None else capture(self.session),
                "epoch_end_pending": self.epoch_end_pending, "run_schedule": self.run_schedule,
                "handlers": self.handler_states(), "metrics": dict(self.metrics), "epoch_loss": self.recorder.epoch_state()}

    def save_checkpoint(self, state: dict | None = None) -> None:
        """Queue a checkpoint of the current step to the store, if there is one (``state``: a capture made just now)."""
        if self.store is not None:
            self.store.save_checkpoint(self.checkpoint_payload(state), self.step)
            self.checkpointed_at = time.monotonic()

    def save_last_good(self) -> None:
        """Queue the last good state as the run's newest checkpoint: those written after it go. A step checkpoint
        between it and a fault found later holds weights already on the way up (a resume from one met the fault again,
        and its rollback had nothing better to return to)."""
        if self.store is not None:
            self.store.save_checkpoint(snapshot_payload(self.last_good), self.last_good["step"], newest=True)

    def checkpoint_payload(self, state: dict | None = None) -> dict[str, Any]:
        """Everything needed to resume exactly at the current step."""
        return checkpoint_payload(self, state)

    def handler_states(self) -> dict[str, Any]:
        """The plain-data state of every stateful handler, by its key."""
        return {key: handler.state_dict() for key, handler in self._stateful.items()}

    def load_handler_states(self, states: dict[str, Any]) -> None:
        """Give stateful handlers their saved states (handlers added later get theirs when added)."""
        self._saved_states = dict(states)
        for key, handler in self._stateful.items():
            if key in states:
                handler.load_state_dict(states[key])

    def forget_batches(self) -> None:
        """Draw the next batch afresh from the data position of ``step`` (after the step moved back)."""
        self._pending = self._batches = None

    def log(self, text: str, level: str = "info") -> None:
        """A line for the user's log ("info" or "warning")."""
        self.bus.emit(LogLine(text, level))

    # -- the loop ----------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            handle_commands(self)
            if self.epoch_end_pending:
                self._end_epoch()
            elif self.step >= self.total_steps:
                self.flush()
                return
            else:
                self._train_one()

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._pending is not None and self._pending[0] == self.step:
            return self._pending[1]
        epoch, index = divmod(self.step, self.session.steps_per_epoch)
        if self._batches is None or self._batches[0] != self.step:
            self._batches = (self.step, self.session.train.iterate(epoch, index))
        batch = next(self._batches[1])
        self._batches = (self.step + 1, self._batches[1]) if index + 1 < self.session.steps_per_epoch else None
        return batch

    def _train_one(self) -> None:
        """Train the current step, with its handlers (out of memory pauses; a batch with no usable image is skipped)."""
        self.recorder.start_clock()
        images, labels = self._next_batch()
        self._pending = (self.step, (images, labels))
        if len(labels) == 0:
            self._empty_batch()
            return
        self._empty_batches = 0
        info = StepInfo(self.step, images, labels)
        count = self.step + 1
        plan = self._plan
        self._apply(plan.at(self.step))
        self.handlers.fire(Hook.STEP_STARTED, self, info, count)
        if self._plan is not plan:  # a handler edited the schedule: the edit applies to this step already
            self._apply(self._plan.at(self.step))
        self.recorder.start_clock()  # again: a handler may have measured λmax, its time left out
        try:
            info.loss = forward_backward(self.session, images, labels, self.step)
            if self.handlers.has(Hook.AFTER_BACKWARD):
                if self.session.scaler is not None:
                    self.session.scaler.unscale_(self.session.optimizer)  # handlers see true gradients
                self.handlers.fire(Hook.AFTER_BACKWARD, self, info, count)
            optimizer_step(self.session)
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            self._out_of_memory()
            return
        self.step += 1
        self.epoch_end_pending = self.step % self.session.steps_per_epoch == 0 or self.step == self.total_steps
        self._pending = None
        self.handlers.fire(Hook.STEP_COMPLETED, self, info, count)

    def set_next_step_hyperparameters(self) -> None:
        """Put the LRs, momentum and frozen groups of the next step to train into the optimizer, as it would. A λmax
        asked for in a pause was weighed against the last step's: an edit's new LR and momentum left out (helper-73)."""
        if self.step < self.total_steps:
            self._apply(self._plan.at(self.step))

    def _apply(self, settings: StepSettings) -> None:
        """Set the step's LRs and momentum; freeze or thaw the groups whose state changes here."""
        apply_hyperparameters(self.session.optimizer, settings)
        self.freezer.apply(settings.frozen)

    def _end_epoch(self) -> None:
        if not self.flush():
            return
        self.recorder.pause_clock()
        started = time.perf_counter()
        try:
            val_loss, val_accuracy = evaluate(self.session, self.session.val, self.inbox.stop_requested)
        finally:
            self.excluded_seconds += time.perf_counter() - started
        epoch = max(0, math.ceil(self.step / self.session.steps_per_epoch) - 1)
        self._update_metrics(val_loss, val_accuracy)
        ended = EpochEnded(epoch, self.step, self.recorder.take_epoch_loss(), val_loss, val_accuracy, time.perf_counter() - started)
        self.bus.emit(ended)
        self.epoch_end_pending = False
        self.handlers.fire(Hook.EPOCH_COMPLETED, self, ended, epoch + 1)

    def _update_metrics(self, val_loss: float, val_accuracy: float) -> None:
        best = self.metrics["best_val_accuracy"]
        self.metrics.update(val_loss=val_loss, val_accuracy=val_accuracy,
                            best_val_accuracy=val_accuracy if math.isnan(best) else max(best, val_accuracy))

    def _plan_for(self, timeline: Timeline) -> Plan:
        """The per-step settings of ``timeline`` for this model's groups (GroupMismatch when it does not fit)."""
        return Plan(timeline, self.session.group_names, self.config.momentum)

    # -- faults ------------------------------------------------------------------------

    def _out_of_memory(self) -> None:
        self.session.optimizer.zero_grad(set_to_none=True)
        if self.session.device.type == "cuda":
            torch.cuda.empty_cache()
        size = self.config.batch_size
        lr = max(self._plan.at(self.step).lrs.values())
        message = f"{describe_device(self.session.device)} ran out of memory at step {self.step} with batch size {size}."
        advice = f"Lower the batch size to {max(1, size // 2)} or less (or turn on mixed precision) and start again, or resume to retry; the run is paused and nothing is lost."
        if not self.pauses_on_out_of_memory:
            self._out_of_memory_on_rank(message)
        if self.flush():  # else a fault in the last block paused the run already; resuming retries this step
            self.raise_fault(FaultRaised("out_of_memory", self.step, lr, message, advice))

    def _out_of_memory_on_rank(self, message: str) -> None:
        """End this rank's run at once: the other ranks wait in this step's gradient all-reduce, which it cannot join,
        so its process ending is what stops them (torchrun stops the run); nothing is read back (a collective)."""
        from ..distributed.world import current

        self.recorder.discard()
        raise RankOutOfMemory(f"rank {current().rank}: {message} Every process of the run stops; it keeps its last checkpoint: resume it on more "
                              "processes (a smaller batch on each) or start again with a smaller --batch-size.")

    def _empty_batch(self) -> None:
        """Skip a step whose images all failed to load; when the dataset itself is gone, pause instead."""
        self._empty_batches += 1
        root = self.dataset.scan.root
        if root.is_dir() and self._empty_batches < EMPTY_BATCHES_LIMIT:
            self.log(f"step {self.step}: every image of the batch was unreadable; the step was skipped", "warning")
            self.step += 1
            self.epoch_end_pending = self.step % self.session.steps_per_epoch == 0 or self.step == self.total_steps
            self._pending = None  # the epoch still ends (validation, checkpoint) when its last step is skipped
            return
        what = "is gone (deleted, moved or unmounted)" if not root.is_dir() else \
            f"gave {self._empty_batches} batches in a row with no readable image"
        message = f"The dataset folder {printable(str(root))} {what} at step {self.step}."
        advice = "Put the images back and resume (the step is retried), or stop: the run stays resumable."
        self.forget_batches()
        self._empty_batches = 0
        if self.flush():  # else a fault in the last block paused the run already
            self.raise_fault(FaultRaised("data_missing", self.step, max(self._plan.at(self.step).lrs.values()), message, advice))

    # -- ending ------------------------------------------------------------------------

    def _end(self, state: str, message: str = "", fault: str = "") -> None:
        """Let the RUN_ENDED handlers act (a stopped run is checkpointed there; a distributed run's command sync hands
        over what it still holds), answer the commands left, then say how the run ended."""
        self.handlers.fire(Hook.RUN_ENDED, self, state)
        answer_left(self, state)
        self.set_state(state, message, fault)

    def _fail(self, message: str) -> None:
        try:
            self.flush()
            self.handlers.fire(Hook.RUN_ENDED, self, "failed")
            answer_left(self, "failed")
        except Exception as error:  # the run failed already; say so rather than fail again
            if not lost_peer(error):  # a lost peer already is the reason the run failed, said once
                self.log(f"while ending the failed run: {type(error).__name__}: {error}", "warning")
        self.set_state("failed", message)

    def set_state(self, state: str, message: str = "", fault: str = "") -> None:
        """Move the run to ``state`` (one of events.STATES) and say so (``fault``: StateChanged's)."""
        self.state = state
        self.bus.emit(StateChanged(state, self.step, message, fault))

    def _skipped(self, paths: list[str]) -> None:
        before, self._skipped_images = self._skipped_images, self._skipped_images + len(paths)
        if before.bit_length() != self._skipped_images.bit_length():  # 1, 2, 4, 8… so a vanished folder is no flood
            self.log(f"{self._skipped_images} unreadable image(s) skipped so far during training, e.g. {printable(paths[0])}",
                     "warning")
