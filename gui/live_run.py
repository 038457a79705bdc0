"""Follows a run through the bridge's signals: plots, progress, schedule, faults. GUI thread only."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QLabel, QProgressBar

from engine.commands import Resume, RollBack, Stop
from engine.events import LOSS_FAULTS, StoreFailed
from engine.export import run_metrics
from engine.run.handle import TERMINAL
from engine.run.history import stored_run_schedule
from engine.run.pace import RemainingTime
from engine.store.reader import effective_state, read_epochs, read_meta, read_steps
from engine.text import at_size, counted, duration_text

from . import dialogs
from .bridge import EngineBridge
from .panels.log_panel import LogPanel
from .panels.schedule_editor import ScheduleEditor
from .plots.accuracy_plot import AccuracyPlot
from .plots.loss_plot import LossPlot
from .plots.lr_plot import LrPlot, MomentumPlot
from .remaining import remaining_text
from .run_controller import WINDOW_CLIENT

LIVE = ("starting", "running", "paused", "range_test")
STALL_SECONDS = 5.0  # no step for this long while running: the status line says it is waiting
FOLLOWING = LIVE[1:]  # the run's own events came: what the window shows is that run's
COULD_NOT_TRAIN = "could not train: "  # the status line after a run that never trained: said of the configuration as it was
# What the status bar calls the job's states.
STATE_NAMES = {"starting": "starting", "running": "training", "paused": "paused", "range_test": "range test (training paused)",
               "finished": "finished", "stopped": "stopped", "failed": "failed", "idle": "idle"}


def state_name(state) -> str:
    """A job state in the user's words."""
    state = getattr(state, "value", state)
    return STATE_NAMES.get(state, str(state).replace("_", " "))


class LiveRun(QObject):
    """Everything the window shows about the run in progress (or a past run opened read-only)."""

    def __init__(self, bridge: EngineBridge, send, loss: LossPlot, lr: LrPlot, momentum: MomentumPlot, accuracy: AccuracyPlot,
                 editor: ScheduleEditor, log: LogPanel, progress: QProgressBar, status: QLabel, parent=None):
        super().__init__(parent)
        self.send = send
        self.loss, self.lr, self.momentum, self.accuracy = loss, lr, momentum, accuracy
        self.editor, self.log, self.progress, self.status = editor, log, progress, status
        self.total = self.per_epoch = self.step = 0
        self.batch_size = 1
        self.remaining = RemainingTime()
        self.last_news = time.monotonic()  # when a step (or a change of state) last came: a long wait is said
        self.state = "idle"
        self.paused_under_test = False  # a range test in a paused run: the run stays paused after it
        self.testing = ""  # how far a range test in the run is ("40% done, about 20 s left"), for the status line
        self.measuring = False  # a λmax measurement asked for has not come yet: the status line says what training waits for
        self.store_failed = False  # the run's store cannot be written: the run paused for it, and the status line says so
        self.run_schedule = None
        self.run_dir = None
        self.run_id = ""
        self.config: dict = {}
        self.dataset: dict = {}
        self.groups: tuple[str, ...] = ()  # the model's parameter groups, input to output
        self.fault_box = None  # the non-blocking "Training paused" box (dialogs.offer), while shown
        self.fault_event = None  # the fault it answers
        self.resume_asked = False  # the run starting is a resume: its first line says the step, 0 included
        for signal, slot in ((bridge.runStarted, self.started), (bridge.stepsLogged, self.steps), (bridge.epochEnded, self.epoch),
                             (bridge.scheduleChanged, self.schedule), (bridge.stateChanged, self.state_changed),
                             (bridge.faultRaised, self.fault), (bridge.rolledBack, self.rolled_back), (bridge.editRefused, self.refused),
                             (bridge.curvatureMeasured, self.measured), (bridge.storeEvent, self.store_event)):
            signal.connect(slot)

    @property
    def plots(self):
        """The step plots."""
        return (self.loss, self.lr, self.momentum, self.accuracy)

    @Slot(object)
    def started(self, event) -> None:
        """A run began or resumed: reset the plots (filling in the stored past when resuming; an attached run's
        past came as its history, just before)."""
        # Resuming the run shown (an attached run's history just replayed it): keep its past, drop what came after. Only
        # while the plots still hold it: another dataset opened meanwhile cleared them, and the resumed run was drawn from
        # its resume step on, its past missing (helper-93).
        same_run = event.start_step > 0 and event.run_id == self.run_id and len(self.loss.points) > 0
        self.total, self.per_epoch, self.step = event.total_steps, event.steps_per_epoch, event.start_step
        self.config, self.dataset, self.groups = event.config, event.dataset, tuple(event.groups)
        processes = int(event.config.get("world_size", 1))
        self.batch_size = int(event.config.get("batch_size", 1)) * processes  # the global batch: what one step sees
        self.remaining.reset()
        self.measuring = self.store_failed = False  # asked of, or met by, a run that stopped: not this run's
        self.last_news = time.monotonic()
        self.run_dir, self.run_id = event.run_dir, event.run_id
        self.show_run_name(event.run_id)
        self.lr.set_groups(event.groups)
        for plot in self.plots:
            plot.clear_readout()
            if same_run:
                plot.truncate(event.start_step)
            else:
                plot.clear()
            plot.set_total(self.total)
        if event.start_step and event.run_dir and not same_run and Path(event.run_dir).is_dir():
            self.load_past(event.run_dir, event.start_step)
        self.editor.run_edits.forget_history()  # edits a rollback of another run, or of this one before a resume, undid
        self.editor.run_started(self.total)
        resumed = f", resumed at step {event.start_step}" if event.start_step or self.resume_asked else ""
        self.resume_asked = False
        self.log.add(f"run {event.run_id} on {event.device}: {event.dataset['name']}{at_size(event.dataset)}, {self.total} steps "
                     f"({self.per_epoch} per epoch){resumed}")
        if processes > 1:
            self.log.add(f"{processes} processes (DistributedDataParallel) × batch {self.batch_size // processes} "
                         f"= global batch {self.batch_size} per step")

    def starting(self, what: str, resume: bool = False) -> None:
        """A run was asked for (``resume``: a stored run resumed): say so at once (building the model and the first
        batches take seconds)."""
        self.state, self.resume_asked = "starting", resume
        self.progress.reset()
        self.status.setText(f"{what}: building the model and loading the first batches…")

    def could_not_train(self, message: str) -> None:
        """The run failed before or while training (its state events may never have come), or the window lost contact
        with an attached run: it went on saying "training", with Apply and Set LR sending to nobody."""
        if self.state == "starting":
            self.state = "idle"
            self.status.setText(f"{COULD_NOT_TRAIN}{message}")
            return
        if self.state not in ("idle", *TERMINAL):
            self._no_longer_followed()
            self.remaining.hold()
            self._close_fault_box()
            self.progress.reset()  # "5%" stayed beside "no longer following run …" (helper-68), as after Detach it does not
        self.status.setText(f"no longer following run {self.run_id}: {message}")

    def forget(self) -> None:
        """Show no run: empty plots, no progress, no edit history (another dataset was opened)."""
        self.total = self.per_epoch = self.step = 0
        self.state, self.testing, self.measuring = "idle", "", False
        self.remaining.reset()
        self.run_schedule, self.run_dir, self.config, self.dataset, self.groups = None, None, {}, {}, ()
        for plot in self.plots:
            plot.clear()
            plot.clear_readout()
            plot.set_total(0)
        self.loss.name_run([self.loss.title])
        self.progress.reset()
        self.editor.run_edits.forget_history()

    def show_run_name(self, name: str, note: str = "") -> None:
        """Say which run the plots show (they stay after another dataset is opened), and ``note`` on it: on a line of its
        own when the plot is too narrow for both."""
        self.loss.name_run([f"Loss · {name}", *([note] if note else [])])

    def load_past(self, run_dir: str, before: int | None = None) -> int:
        """Draw a stored run's steps and epochs (a resumed run's past, or a past run opened read-only); how many steps."""
        steps = read_steps(run_dir)
        keep = steps["step"] < before if before is not None else slice(None)
        if np.size(steps["step"][keep]):
            self.loss.add_steps(steps["step"][keep], steps["loss"][keep])
            self.lr.add_steps(steps["step"][keep], steps["lrs"][keep], steps["groups"])
            self.momentum.add_steps(steps["step"][keep], steps["momentum"][keep])
        for row in read_epochs(run_dir):
            if before is None or row["step"] <= before:
                self.loss.add_epoch(row["step"], row["val_loss"])
                self.accuracy.add_epoch(row["step"], row["epoch"], row["val_accuracy"])
        return int(np.size(steps["step"][keep]))

    def show_stored(self, run_dir: str) -> None:
        """A past run, read-only: its curves, its own plan and where it ended. The plots kept the editor's plan, and the
        status bar the last run's "finished · step 110/110", beside a run stopped at step 1003 of 2200."""
        for plot in self.plots:
            plot.clear()
        name = Path(run_dir).name
        self.show_run_name(f"{name} (read-only)")
        done = self.load_past(run_dir)
        meta = read_meta(Path(run_dir))
        run_schedule = stored_run_schedule(meta)
        self.editor.run_edits.forget_history()  # it listed the last run's edits beside this one's curves
        if run_schedule is not None:
            self._draw_plan(run_schedule.timeline)
            self.editor.run_edits.show_history(run_schedule)
            self.editor.run_edits.undo.setEnabled(False)  # nothing to undo or redo in a run that is over
            self.editor.run_edits.redo.setEnabled(False)
        self.progress.reset()
        self.status.setText(f"{name} (read-only): {effective_state(meta)} · {done}/{meta.get('total_steps', '?')} steps")

    @Slot(object)
    def steps(self, event) -> None:
        """New steps: append to the curves (drawn at the next refresh)."""
        self.loss.add_steps(event.steps, event.losses)
        self.lr.add_steps(event.steps, event.lrs, event.groups)
        self.momentum.add_steps(event.steps, event.momenta)
        self.step = int(event.steps[-1]) + 1
        self.last_news = time.monotonic()
        self.remaining.observe(event.samples_per_s, len(event.steps) * self.batch_size)
        self.remaining.reached(self.step, time.monotonic())
        self.editor.set_step(self.step)

    @Slot(object)
    def epoch(self, event) -> None:
        """An epoch ended: validation loss and accuracy."""
        self.loss.add_epoch(event.step, event.val_loss)
        self.accuracy.add_epoch(event.step, event.epoch, event.val_accuracy)
        self.log.add(f"epoch {event.epoch + 1}: train loss {event.train_loss:.4f}, val loss {event.val_loss:.4f}, "
                     f"val accuracy {100 * event.val_accuracy:.2f}%")

    def metrics_so_far(self) -> dict:
        """The run's id and metrics at the step it has reached, read from the validations drawn (a rollback or a resume
        takes back those after it there too): an export of a run in progress named no run and said "no validation"."""
        accuracies, losses = self.accuracy.points.view(2) / 100, self.loss.validation.view(1)
        measured = accuracies[np.isfinite(accuracies)]
        best = float(measured.max()) if len(measured) else math.nan
        last_accuracy, last_loss = (float(accuracies[-1]), float(losses[-1])) if len(accuracies) and len(losses) else (math.nan, math.nan)
        return run_metrics(self.run_id, best, last_accuracy, last_loss, self.step, in_progress=True)

    @Slot(object)
    def schedule(self, event) -> None:
        """The run's schedule changed: new planned curves, the editor follows, the edit is logged."""
        self.run_schedule = event.run_schedule
        self.total = event.run_schedule.timeline.total_steps
        self._draw_plan(event.run_schedule.timeline)
        self.editor.follow(event.run_schedule, event.step)
        self._edited_in_the_pause(event)
        if event.reason != "start":
            source = f", from {event.source}" if event.source else ""
            self.log.add(f"step {event.step} ({event.reason}{source}): {event.summary}")

    def _draw_plan(self, timeline) -> None:
        """The planned LR and momentum of every step of ``timeline``, over its length."""
        for plot in self.plots:
            plot.set_total(timeline.total_steps)
        grid = np.arange(timeline.total_steps + 1)
        self.lr.set_plan(grid, timeline.group_lrs(grid, self.lr.groups), groups=self.lr.groups)
        self.momentum.set_plan(grid, timeline.momenta(grid))
        self.momentum.setVisible(self.momentum.scheduled)

    @property
    def paused(self) -> bool:
        """Whether the run is paused, or will be again once the range test in it ends (its button offered Pause)."""
        return self.state == "paused" or (self.state == "range_test" and self.paused_under_test)

    @Slot(object)
    def measured(self, event) -> None:
        """A λmax measurement came. One asked for is no part of the run's pace: after one of 115 s the line said "about
        78 min left" of two minutes' work (helper-77); the automatic cadence's recur, and stay in it."""
        if event.trigger == "request":
            self.measuring = False
            self.remaining.hold()

    @Slot(object)
    def store_event(self, event) -> None:
        """The store could not be written (the run pauses for it) or writes again. The status line said only "paused",
        the reason being in the log alone (helper-81)."""
        self.store_failed = isinstance(event, StoreFailed)
        self._show_progress()

    @Slot(object)
    def state_changed(self, event) -> None:
        """Show the state; a finished or stopped run hands the editor back for planning."""
        if event.state == "range_test":  # it returns to this state after the test
            self.paused_under_test = self.state == "paused"
        self.state = event.state
        self.last_news = time.monotonic()
        if event.state != "running":  # paused, testing, ended: that time is not the run's pace
            self.remaining.hold()
        fault = self.fault_box is not None and event.message == self.fault_box.text()
        if event.message and not fault:  # a fault's pause repeats its message, already logged with its advice
            self.log.add(event.message, "error" if event.state == "failed" else "info")
        if event.state in TERMINAL:
            self.editor.run_ended()
        if event.state in ("running", *TERMINAL):  # answered, here or by another client (a run's own rollback policy):
            self._close_fault_box()                 # its Roll back rolled an attached run back a second time
        self._show_progress()

    def _close_fault_box(self) -> None:
        """Its buttons would act on a run that is over (or no longer followed)."""
        if self.fault_box is not None:
            self.fault_box.close()
            self.fault_box = None

    def let_go(self) -> None:
        """The window stopped following the run (it ended, or the window detached while it trains on)."""
        if self.state not in ("idle", *TERMINAL):
            self.log.add(f"no longer following run {self.run_id} (it was {self.state} at step {self.step})")
            self._no_longer_followed()
            self._show_progress()

    def _no_longer_followed(self) -> None:
        """The run trains on (or may) where the window no longer sees it: its curves stay, for what Export writes, and say
        where they stop. After Detach they read as a run that ended at that step."""
        self.state = "detached"
        self.editor.run_ended()
        self.show_run_name(self.run_id, f"(no longer followed since step {self.step})")

    @Slot(object)
    def fault(self, event) -> None:
        """Training paused itself: say what happened and offer what to do, without blocking the window."""
        self.log.add(f"{event.message} {event.advice}", "error")
        choices = [("Roll back", RollBack())] if event.can_roll_back else []  # the advice says to which step and LR
        # At the LR that blew the loss up, a resume blows it up again: said so; after out of memory it retries the step.
        blown_up = event.can_roll_back or event.kind in LOSS_FAULTS
        choices += [("Resume anyway" if blown_up else "Resume", Resume()), ("Stop", Stop())]
        self.fault_box = dialogs.offer(self.editor.window(), "Training paused", event.message, event.advice,
                                       [(label, lambda command=command: self.send(command)) for label, command in choices])
        self.fault_event = event

    def _edited_in_the_pause(self, event) -> None:
        """An edit made while the fault's box is open: its advice, written at the fault, said "go on at LR 5" beside
        a Set LR 0.05, whose LR a rollback now keeps as its ceiling (engine/training/control.py)."""
        fault = self.fault_event
        if self.fault_box is None or fault is None or not fault.can_roll_back or event.reason in ("start", "rollback"):
            return
        now = float(event.run_schedule.timeline.group_lrs(np.array([event.step]), self.lr.groups).max())
        self.fault_box.setInformativeText(f"{fault.advice}\n\nEdited since (step {event.step}: {event.summary}): Roll back "
                                          f"undoes the edit and goes on at the lower of the LR above and {now:.3g}.")

    @Slot(object)
    def rolled_back(self, event) -> None:
        """The run went back: forget what came after."""
        for plot in self.plots:
            plot.truncate(event.step)
        self.step = event.step
        self.editor.run_edits.rolled_back(event.step)
        self.log.add(event.message)

    @Slot(object)
    def refused(self, event) -> None:
        """A schedule edit was invalid. One sent from elsewhere (`lrscope ctl`) is logged with its sender, and not shown
        beside the editor's buttons as if this window's user had pressed one."""
        if event.source and not event.source.startswith(WINDOW_CLIENT):
            self.log.add(f"edit from {event.source} refused at step {event.step}: {event.message}", "warning")
            return
        self.log.add(f"edit refused at step {event.step}: {event.message}", "warning")
        self.editor.run_edits.show_problem(event.message)

    def test_says(self, text: str) -> None:
        """What the range test in the run does now, on the status line at once (its timer redraws it only while live)."""
        self.testing = text
        if self.state == "range_test":
            self._show_progress()

    @Slot()
    def refresh(self) -> None:
        """Once per redraw tick: redraw the visible plots whose data changed; update the progress line."""
        self.lr.set_now(self.step if self.state in LIVE else None)
        for plot in self.plots:
            if plot.isVisible():
                plot.refresh()
        if self.state in LIVE:  # an ended run's line is written once: rewritten 4 times a second, it hid a tune's
            self._show_progress()

    def show_planned(self, total: int, per_epoch: int, note: str = "") -> None:
        """Before a run: the length the next run will have, and ``note`` on it (also once a run is no longer followed: a
        cancelled range test's "8% done" stayed on the status bar after contact with an attached run was lost)."""
        if self.state in ("idle", "detached", *TERMINAL):
            if self.state == "idle":  # empty plots span the run to come
                for plot in self.plots:
                    plot.set_total(total)
            epochs = -(-total // max(1, per_epoch))
            self.status.setText(f"{state_name(self.state)} · next run: {counted(total, 'step')} ({counted(epochs, 'epoch')} × "
                                f"{counted(per_epoch, 'step')})" + (f" · {note}" if note else ""))
            self.progress.reset()  # the last run's 67% beside the next run's plan read as that plan's progress

    def _show_progress(self) -> None:
        if self.state in ("idle", "starting"):  # nothing trained yet: the status says what is being done
            return
        total = max(1, self.total)
        self.progress.setRange(0, total)
        self.progress.setValue(min(self.step, total))
        epochs = -(-total // max(1, self.per_epoch))
        epoch = min(epochs, self.step // max(1, self.per_epoch) + 1)
        # Steps done, not a step's number: "step 10/2200" beside a fault "at step 9" (the tenth) read as two steps.
        parts = [state_name(self.state), self.testing if self.state == "range_test" else "", f"epoch {epoch}/{epochs}",
                 f"{self.step}/{total} steps"]
        waited = time.monotonic() - self.last_news
        if self.state == "running" and self.measuring and waited > STALL_SECONDS:
            # It read "waiting 70 s for the next step", nothing said of the λmax measurement it waited for (helper-77).
            parts.append(f"measuring λmax as asked, {duration_text(waited)} so far (training waits for it)")
        elif self.state == "running" and waited > STALL_SECONDS:
            # A λmax measurement (or a slow batch) holds the step: the line said "training · 362 samples/s · about 20 min
            # left" for a minute, and a Pause seemed to do nothing.
            parts.append(f"waiting {duration_text(waited)} for the next step (commands apply when it comes)")
        elif self.state == "paused" and self.store_failed:
            parts.append("its store cannot be written (the log says why and what to do): Resume once it can")
        elif self.state == "running" and self.remaining.rate:  # a speed and a time left mean something only once training goes on
            # The smoothed speed: the last block's said 76 samples/s beside "60 s left" for 190 s of work at that speed.
            parts += [f"{self.remaining.rate:,.0f} samples/s", remaining_text(self.remaining.seconds_left(total - self.step))]
        self.status.setText(" · ".join(part for part in parts if part))
