"""How long the run has left, from a smoothed training speed (no Qt: tested alone)."""

from __future__ import annotations

import math

# The training speed is averaged over about this much training time, so that one slow block
# (a checkpoint, the GUI redrawing, another program) does not make the estimate jump.
HALF_LIFE_S = 20.0


class RemainingTime:
    """An exponentially smoothed speed in samples per second; the time left at that speed."""

    def __init__(self, half_life_s: float = HALF_LIFE_S):
        self.half_life_s = half_life_s
        self.rate: float | None = None

    def reset(self) -> None:
        """Forget the speed (a new run)."""
        self.rate = None

    def observe(self, samples_per_s: float, samples: int) -> None:
        """A block of ``samples`` trained at ``samples_per_s``; weighs in by the training time it took."""
        if not (samples_per_s > 0 and math.isfinite(samples_per_s)) or samples <= 0:
            return
        if self.rate is None:
            self.rate = samples_per_s
            return
        weight = 1.0 - 0.5 ** ((samples / samples_per_s) / self.half_life_s)
        self.rate += weight * (samples_per_s - self.rate)

    def seconds_left(self, samples_left: int) -> float | None:
        """Seconds to train ``samples_left`` more samples, or None while the speed is unknown."""
        return samples_left / self.rate if self.rate else None


def duration_text(seconds: float) -> str:
    """"40 s", "7 min", "2 h 05 min": a duration rounded as an estimate deserves."""
    if seconds < 90:
        return f"{max(10, int(round(seconds / 10)) * 10)} s"
    minutes = int(round(seconds / 60))
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def remaining_text(seconds: float | None) -> str:
    """"about 40 s left", "about 7 min left", "about 2 h 05 min left"; "a few seconds left" at the very end (where the
    tens that round the rest would say "about 10 s" for the last second); "" while the speed is unknown."""
    if seconds is None:
        return ""
    return "a few seconds left" if seconds < 5 else f"about {duration_text(seconds)} left"
