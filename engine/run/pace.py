"""A run's training speed and its pace against the wall clock, smoothed; the time left at that pace. The window's status
bar and the command line's progress line both show them."""

from __future__ import annotations

import math

# The training speed is averaged over about this much training time, so that one slow block
# (a checkpoint, the GUI redrawing, another program) does not make the estimate jump.
HALF_LIFE_S = 20.0


class RemainingTime:
    """The training speed (samples/s as the engine measures it: training alone), and the time left from the run's pace
    against the wall clock, both exponentially smoothed.

    The time left counts what the user waits for besides training (validation, checkpoints, λmax measurements, a
    machine busy with other work): from the training speed alone it said "a few seconds left" at step 22 of 110 of a
    run that took a minute more. A pause or a range test is not the run's pace (``hold``)."""

    def __init__(self, half_life_s: float = HALF_LIFE_S):
        self.half_life_s = half_life_s
        self.reset()

    def reset(self) -> None:
        """Forget the speed and the pace (a new run)."""
        self.rate: float | None = None
        self.steps_per_s: float | None = None
        self._mark: tuple[int, float] | None = None
        self._trained_s = 0.0  # training time of the blocks observed since the mark

    def hold(self) -> None:
        """The run stopped training for a while (paused, a range test): the pace resumes from its next step."""
        self._mark = None
        self._trained_s = 0.0

    def observe(self, samples_per_s: float, samples: int) -> None:
        """A block of ``samples`` trained at ``samples_per_s``; weighs in by the training time it took."""
        if not (samples_per_s > 0 and math.isfinite(samples_per_s)) or samples <= 0:
            return
        self.rate = self._smoothed(self.rate, samples_per_s, samples / samples_per_s)
        self._trained_s += samples / samples_per_s

    def reached(self, step: int, now: float) -> None:
        """The run reached ``step`` at wall-clock time ``now`` (seconds)."""
        if self._mark is not None and step > self._mark[0] and now > self._mark[1]:
            # The steps took at least their training time: an attached run's history arrives in one burst, and its
            # hundreds of steps "in milliseconds" said "a few seconds left" for minutes.
            elapsed = max(now - self._mark[1], self._trained_s)
            self.steps_per_s = self._smoothed(self.steps_per_s, (step - self._mark[0]) / elapsed, elapsed)
        if self._mark is None or step > self._mark[0]:
            self._mark, self._trained_s = (step, now), 0.0

    def _smoothed(self, value: float | None, observed: float, seconds: float) -> float:
        """``value`` moved towards ``observed`` by the weight of ``seconds`` (the first observation is taken whole)."""
        if value is None:
            return observed
        return value + (1.0 - 0.5 ** (seconds / self.half_life_s)) * (observed - value)

    def seconds_left(self, steps_left: int) -> float | None:
        """Seconds to the end of the run at its pace, or None while the pace is unknown."""
        return steps_left / self.steps_per_s if self.steps_per_s else None
