"""A one-line progress display for the terminal, fed by engine events."""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from ..events import (
    CurvatureMeasured,
    EpochEnded,
    Event,
    FaultRaised,
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
)
from ..run.pace import RemainingTime
from ..text import counted, estimate, images_used
from .common import write


def clock(seconds: float) -> str:
    """Seconds as h:mm:ss or m:ss."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def describe_curvature(m: CurvatureMeasured) -> str:
    """One line about a curvature measurement."""
    return f"step {m.step}: {curvature_words(m)}"


def curvature_words(m: CurvatureMeasured) -> str:
    """λmax against the bound, and what measuring it cost."""
    edge = f"{m.edge_words()} ({m.formula}, theory)" if m.edge == m.edge else "no bound yet"
    return f"λmax {m.lambda_max:.4g}, {edge}; {m.iterations} products in {m.seconds:.2f} s"


def describe_warning(w: StabilityWarning) -> str:
    """A stability warning as a line (the window's banner words it as a sentence: "The schedule will…")."""
    return f"warning: {w.message[:1].lower()}{w.message[1:]} {w.advice}".rstrip()


def group_lrs(groups: tuple[str, ...], lrs) -> str:
    """``lr 0.1`` when every group has the same LR, else each group's by name: ``lr stem 0.01 … head 0.1``."""
    if len(set(lrs.tolist())) == 1:
        return f"lr {lrs[0]:.3g}"
    return "lr " + " ".join(f"{name} {lr:.3g}" for name, lr in zip(groups, lrs))


def range_test_progress(mode: str, event: RangeTestProgress) -> str:
    """``sweep: 40% done, about 0:12 left``: the first estimate is timed on one step, and a busier machine outdates it."""
    left = f", about {clock(event.seconds_left)} left" if math.isfinite(event.seconds_left) else ""
    return f"{mode}: {100 * event.done:.0f}% done{left}"


def edit_line(step: int, reason: str, source: str, summary: str) -> str:
    """``step 120 (user, from lrscope ctl): set LR to 0.05 for the rest``."""
    return f"step {step} ({reason}{f', from {source}' if source else ''}): {summary}"


class StatusLine:
    """Lines for the user: one redrawn in place on a terminal; elsewhere (a log file) only the lines that end."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()

    def show(self, text: str, end: bool = False) -> None:
        """Show ``text``; ``end`` keeps it (the next line goes below), else the next one replaces it."""
        if self.tty:
            write(self.stream, "\r\033[K" + text + ("\n" if end else ""))
        elif end:
            write(self.stream, text + "\n")

    def clear(self) -> None:
        """Take away a line that was not kept."""
        if self.tty:
            write(self.stream, "\r\033[K")


class ProgressPrinter:
    """Prints epoch, step, loss, LR, speed and ETA; redraws one line on a terminal, one line per epoch otherwise (and,
    with ``log_every``, a step line every that many steps)."""

    def __init__(self, stream=None, failure_said_after: bool = False, log_every: int | None = None):
        """``failure_said_after``: a failed run's message is left to the caller's error line (it was printed twice).
        ``log_every``: where the stream is not a terminal, keep a line of every this many steps (0: about ten an epoch;
        None: none, the epoch lines alone)."""
        self.status = StatusLine(stream)
        self.failure_said_after = failure_said_after
        self.log_every = log_every
        self.batch_size = 1
        self.total = self.per_epoch = 1
        self.last = 0.0
        self.lrs = ""
        self.fault = ""  # the last fault's message: the pause it causes repeats it
        self.past_edits: list = []  # a joined or resumed run's edits so far, each printed where it happened among the epochs
        self.state = ""
        self.rolled_back = False  # the next resume goes on from the rollback's step, not from where it paused
        self.range_test = "range test"
        self.pace = RemainingTime()

    def __call__(self, event: Event) -> None:
        self._past_edits_before(event)
        if isinstance(event, RunStarted):
            self.total, self.per_epoch = event.total_steps, event.steps_per_epoch
            self.batch_size = int(event.config.get("batch_size", 1))
            # Runs stored before the summary counted the images used gave the files found, and the used ones apart (or not).
            dataset = event.dataset
            used = dataset.get("usable_images", dataset["image_count"])
            images = images_used(dataset["image_count"] + dataset.get("unreadable", 0), used)
            self._line(f"training on {event.device}: {images}, {counted(self.total, 'step')}", end=True)
        elif isinstance(event, StepsLogged):
            self._steps(event)
        elif isinstance(event, EpochEnded):
            epochs = -(-self.total // self.per_epoch)
            self._line(f"epoch {event.epoch + 1}/{epochs}: train loss {event.train_loss:.4f}  val loss {event.val_loss:.4f}  "
                       f"val accuracy {100 * event.val_accuracy:.2f}%  {self.lrs}", end=True)
        elif isinstance(event, FaultRaised):
            # Without the window's advice ("Roll back … or stop"): on the command line --on-fault decides, and says so.
            self.fault = event.message
            self._line(event.message, end=True)
        elif isinstance(event, LogLine):  # the few lines that are not warnings matter too ("loaded 32 tensors from …")
            self._line(f"warning: {event.text}" if event.level == "warning" else event.text, end=True)
        elif isinstance(event, CurvatureMeasured):
            self._line(describe_curvature(event), end=True)
        elif isinstance(event, StabilityWarning):
            self._line(describe_warning(event), end=True)
        elif isinstance(event, RangeTestStarted):
            self.range_test = f"range test ({event.mode})"
            self._line(f"{self.range_test} will take {estimate(event.estimated_seconds)}", end=True)
        elif isinstance(event, RangeTestProgress):
            self._line(range_test_progress(self.range_test, event))
        elif isinstance(event, RangeTestFinished):
            # Only the one who asked (`lrscope ctl … range-test`) saw the result; the run's own log and `watch` did not.
            self._line(f"{self.range_test} {'cancelled' if event.cancelled else 'finished'}: {event.message}", end=True)
        elif isinstance(event, RolledBack):
            self.rolled_back = True
        elif isinstance(event, StateChanged):
            self._state(event)
        elif isinstance(event, ScheduleChanged):
            self._schedule(event)

    def _state(self, event: StateChanged) -> None:
        """A pause and a resume carry no message: a watcher joining a paused run, or seeing it paused or resumed, saw a
        silent run."""
        text = event.message
        if not text and event.state == "paused":
            text = f"paused at step {event.step}"
        elif not text and event.state == "running" and self.state == "paused":
            # After a rollback "resumed at step 0" read as a resume where the run had paused, at the LR that blew it up.
            text = f"went on from step {event.step}, where the rollback returned" if self.rolled_back else f"resumed at step {event.step}"
            self.rolled_back = False
        self.state = event.state
        if event.state != "running":  # paused, testing, ended: that time is not the run's pace
            self.pace.hold()
        if text and text != self.fault and not (event.state == "failed" and self.failure_said_after):
            self._line(text, end=True)

    def _schedule(self, event: ScheduleChanged) -> None:
        """A restretch changes the run's length, and so the epochs shown."""
        self.total = event.run_schedule.timeline.total_steps
        if event.reason != "start":
            self._line(edit_line(event.step, event.reason, event.source, event.summary), end=True)
            return
        # A resumed or joined run's edits so far: the history carries no events of them, only the schedule that has them.
        self.past_edits = sorted(event.run_schedule.edits, key=lambda record: record.step)

    def _past_edits_before(self, event: Event) -> None:
        """Print the past edits that happened before ``event``: before the steps and epoch ends after them (the history
        replays those in order), all of them before the run's state."""
        if not self.past_edits:
            return
        if isinstance(event, StepsLogged) and len(event.steps):
            until = int(event.steps[-1]) + 1
        elif isinstance(event, EpochEnded):
            until = event.step  # an epoch ending at step 22 ran steps 0 … 21: an edit at 22 comes after its line
        elif isinstance(event, StateChanged):
            until = None
        else:
            return
        while self.past_edits and (until is None or self.past_edits[0].step < until):
            record = self.past_edits.pop(0)
            self._line(edit_line(record.step, record.edit.reason, record.edit.source, record.summary), end=True)

    def _steps(self, event: StepsLogged) -> None:
        self.lrs = f"(last {group_lrs(event.groups, event.lrs[-1])})"
        step = int(event.steps[-1]) + 1
        now = time.perf_counter()
        # Smoothed, and the ETA from the run's pace: one block's speed swung from line to line under load, and left out
        # validation, checkpoints and measurements.
        self.pace.observe(event.samples_per_s, len(event.steps) * self.batch_size)
        self.pace.reached(step, now)
        if not self.status.tty:
            self._log_steps(event)
            return
        if now - self.last < 0.1:
            return
        self.last = now
        width = 24
        filled = int(width * step / max(1, self.total))
        self._line(f"[{'#' * filled}{'.' * (width - filled)}] {self._step_text(event, len(event.steps) - 1)}")

    def _log_steps(self, event: StepsLogged) -> None:
        """The block's steps that end a stretch of ``log_every``, each a kept line: a log piped to a file or ``tee``
        held the epoch lines alone, an hour apart on a large dataset, while every step would be thousands of lines."""
        if self.log_every is None:
            return
        every = self.log_every or max(1, self.per_epoch // 10)
        for i in np.flatnonzero((event.steps + 1) % every == 0):
            self._line(self._step_text(event, int(i)), end=True)

    def _step_text(self, event: StepsLogged, i: int) -> str:
        """``epoch 3 step 60/220  loss 0.1234  lr 0.05  1,234 samples/s  ETA 0:42`` for the block's ``i``-th step."""
        step = int(event.steps[i]) + 1
        rate, left = self.pace.rate or 0.0, self.pace.seconds_left(self.total - step)
        eta = clock(left) if left is not None else "--:--"
        epoch = step // self.per_epoch + (1 if step % self.per_epoch else 0)
        return (f"epoch {epoch} step {step}/{self.total}  loss {event.losses[i]:.4f}  {group_lrs(event.groups, event.lrs[i])}  "
                f"{rate:,.0f} samples/s  ETA {eta}")

    def _line(self, text: str, end: bool = False) -> None:
        self.status.show(text, end)
