"""A run's training speed and its pace against the wall clock over the last seconds; the time left at that pace. The
window's status bar and the command line's progress line both show them."""

from __future__ import annotations

import math
from collections import deque

# The speed is measured over about the last this many seconds, so that one slow block (a checkpoint, the GUI redrawing,
# another program) moves it by a tenth, and a lasting change is followed whole once this much time has passed. An
# exponential average with a 20 s half-life still said 502 samples/s ("about 3 min left") 21 s after a machine got 12
# times busier and trained 73 (8 min left).
WINDOW_S = 10.0
# The share of the wall clock spent training (the rest: validation, checkpoints, λmax measurements) is measured over a
# longer window: these come now and then, and one λmax measurement of 17 s, filling the speed's window alone, said "ETA
# 4:02:55" beside a speed that left 6 minutes (helper-127).
BUSY_WINDOW_S = 120.0


class Recent:
    """A quantity per second over the last ``window_s`` seconds of observations: the total of their amounts over the
    total of their durations (a mean of rates would weigh a fast block of 0.1 s as much as a slow one of 2 s)."""

    def __init__(self, window_s: float):
        self.window_s = window_s
        self._parts: deque[tuple[float, float]] = deque()  # (amount, seconds), oldest first
        self._amount = self._seconds = 0.0

    def add(self, amount: float, seconds: float) -> None:
        """``amount`` done in ``seconds``; parts older than the window are let go (the newest window's worth stays)."""
        self._parts.append((amount, seconds))
        self._amount += amount
        self._seconds += seconds
        while len(self._parts) > 1 and self._seconds - self._parts[0][1] >= self.window_s:
            old_amount, old_seconds = self._parts.popleft()
            self._amount -= old_amount
            self._seconds -= old_seconds

    @property
    def per_second(self) -> float | None:
        """The amount per second over the window; None before anything was observed."""
        return self._amount / self._seconds if self._seconds > 0 else None


class RemainingTime:
    """The training speed (samples/s as the engine measures it: training alone), and the time left from the run's pace
    against the wall clock: its training speed over the last seconds, slowed by the share of the wall clock that went to
    other work over the last minutes.

    The time left counts what the user waits for besides training (validation, checkpoints, λmax measurements, a
    machine busy with other work): from the training speed alone it said "a few seconds left" at step 22 of 110 of a
    run that took a minute more. A pause or a range test is not the run's pace (``hold``)."""

    def __init__(self, window_s: float = WINDOW_S, busy_window_s: float = BUSY_WINDOW_S):
        self.window_s, self.busy_window_s = window_s, busy_window_s
        self.reset()

    def reset(self) -> None:
        """Forget the speed and the pace (a new run)."""
        self._speed = Recent(self.window_s)  # samples per second of training
        self._steps = Recent(self.window_s)  # steps per second of training
        self._busy = Recent(self.busy_window_s)  # seconds of training per second of wall clock
        self._mark: tuple[int, float] | None = None
        self._trained_s = 0.0  # training time of the blocks observed since the mark

    @property
    def rate(self) -> float | None:
        """Samples per second of training, over the window (None while unknown)."""
        return self._speed.per_second

    @property
    def steps_per_s(self) -> float | None:
        """The run's steps per second of wall clock (None while unknown): its steps per second of training over the
        window, times the share of the wall clock it spent training over the longer one."""
        steps, busy = self._steps.per_second, self._busy.per_second
        return steps * busy if steps and busy else None

    def hold(self) -> None:
        """The run stopped training for a while (paused, a range test): the pace resumes from its next step."""
        self._mark = None
        self._trained_s = 0.0

    def observe(self, samples_per_s: float, samples: int) -> None:
        """A block of ``samples`` trained at ``samples_per_s``."""
        if not (samples_per_s > 0 and math.isfinite(samples_per_s)) or samples <= 0:
            return
        self._speed.add(samples, samples / samples_per_s)
        self._trained_s += samples / samples_per_s

    def reached(self, step: int, now: float) -> None:
        """The run reached ``step`` at wall-clock time ``now`` (seconds)."""
        if self._mark is not None and step > self._mark[0] and now > self._mark[1] and self._trained_s > 0:
            # The steps took at least their training time: an attached run's history arrives in one burst, and its
            # hundreds of steps "in milliseconds" said "a few seconds left" for minutes.
            self._steps.add(step - self._mark[0], self._trained_s)
            self._busy.add(self._trained_s, max(now - self._mark[1], self._trained_s))
        if self._mark is None or step > self._mark[0]:
            self._mark, self._trained_s = (step, now), 0.0

    def seconds_left(self, steps_left: int) -> float | None:
        """Seconds to the end of the run at its pace, or None while the pace is unknown."""
        return steps_left / self.steps_per_s if self.steps_per_s else None
