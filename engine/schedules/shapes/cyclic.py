"""One-cycle and cyclical (CLR) schedules, which also cycle momentum inversely to the LR."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .base import CHOICE, FACTOR, FLAG, FRACTION, LR, MOMENTUM, RATE, STEPS, Shape, param


def anneal(start: np.ndarray | float, end: np.ndarray | float, pct: np.ndarray, how: str) -> np.ndarray:
    """Interpolate from start (pct=0) to end (pct=1), by cosine or straight line, as OneCycleLR does."""
    if how == "cos":
        return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1)
    return (end - start) * pct + start


@dataclass(frozen=True, kw_only=True)
class OneCycle(Shape):
    """Leslie Smith's one-cycle policy, as PyTorch's OneCycleLR (two or three phases)."""

    kind = "one_cycle"
    title = "One-cycle"
    start_field = "max_lr"
    max_lr: float = param(LR, "The peak LR, reached after the warmup fraction of the segment.", label="peak LR")
    div_factor: float = param(FACTOR, "The starting LR is max_lr divided by this.", 25.0)
    final_div_factor: float = param(FACTOR, "The final LR is the starting LR divided by this.", 1e4)
    pct_start: float = param(FRACTION, "The fraction of the segment spent rising to max_lr.", 0.3)
    anneal: str = param(CHOICE, "How the LR moves between its points: cosine or a straight line.", "cos", ("cos", "linear"))
    three_phase: bool = param(FLAG, "Come back down to the starting LR symmetrically before the final decay.", False)
    cycle_momentum: bool = param(FLAG, "Lower the momentum while the LR rises, and raise it back after (not in a run "
                                       "with momentum 0).", True)
    base_momentum: float = param(MOMENTUM, "The momentum at the LR's peak.", 0.85)
    max_momentum: float = param(MOMENTUM, "The momentum at the start and the end of the cycle.", 0.95)

    def _phases(self) -> list[tuple[float, float, float, float, float]]:
        """(end_step, start_lr, end_lr, start_momentum, end_momentum) of each phase."""
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor
        top, low, high = self.max_lr, self.base_momentum, self.max_momentum
        rise_end = float(self.pct_start * self.steps) - 1
        if self.three_phase:
            return [(rise_end, initial, top, high, low),
                    (float(2 * self.pct_start * self.steps) - 2, top, initial, low, high),
                    (self.steps - 1, initial, final, high, high)]
        return [(rise_end, initial, top, high, low), (self.steps - 1, top, final, low, high)]

    def _evaluate(self, t: np.ndarray, start_col: int) -> np.ndarray:
        t = np.asarray(t, float)
        phases = self._phases()
        ends = np.asarray([p[0] for p in phases])
        index = np.minimum(np.searchsorted(ends, t, side="left"), len(phases) - 1)
        phase_start = np.concatenate([[0.0], ends[:-1]])[index]
        pct = (t - phase_start) / (ends[index] - phase_start)
        starts = np.asarray([p[start_col] for p in phases])[index]
        finals = np.asarray([p[start_col + 1] for p in phases])[index]
        return anneal(starts, finals, pct, self.anneal)

    def lrs(self, t):
        return self._evaluate(t, 1)

    def momenta(self, t):
        return self._evaluate(t, 3) if self.cycle_momentum else None

    def starting_at(self, lr):
        return dataclasses.replace(self, div_factor=self.max_lr / lr) if lr > 0 else self

    def peak_lr(self):
        # The top is at pct_start × steps, between two steps in a short segment: 0.2 was shown as 0.198.
        return float(self.max_lr)

    @property
    def final_time(self):
        # OneCycleLR reaches its final LR at step total_steps - 1 and is undefined after it.
        return float(self.steps - 1)

    def _phases_have_steps(self) -> bool:
        ends = [p[0] for p in self._phases()]
        return ends[0] > 0 and all(b > a for a, b in zip(ends, ends[1:]))

    def check(self):
        if not self._phases_have_steps():
            # The length it needs, in words: a 1-epoch run at a batch above the images (one step) was refused in the
            # window with "pct_start leaves a phase with no steps: lengthen the segment", a word its user never set.
            # The warm-up ends at pct_start × steps - 1, which must be past step 0.
            inverse = 1 / self.pct_start if self.pct_start > 0 else math.inf
            needed = math.floor(inverse) + 1 if inverse < 1e9 else None  # a pct_start of 1e-320 needs no count in words
            fits = needed is not None and needed > self.steps and dataclasses.replace(self, steps=needed)._phases_have_steps()
            at_least = f"; it needs at least {needed} steps" if fits else ""
            raise ValueError(f"pct_start {self.pct_start:g} leaves a phase of this {self.steps}-step one-cycle with no steps"
                             f"{at_least}: lengthen the run (more epochs, a smaller batch) or the segment, or change pct_start")


CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


@dataclass(frozen=True, kw_only=True)
class Cyclic(Shape):
    """Cyclical LR between base_lr and max_lr (PyTorch's CyclicLR, three modes)."""

    kind = "cyclic"
    title = "Cyclical (CLR)"
    start_field = "base_lr"
    base_lr: float = param(LR, "The bottom of each cycle.", label="lowest LR")
    max_lr: float = param(LR, "The top of the first cycle.", label="peak LR")
    step_size_up: int = param(STEPS, "Steps from the bottom of a cycle to its top.")
    step_size_down: int = param(STEPS, "Steps from the top of a cycle back to its bottom.")
    mode: str = param(CHOICE, "triangular keeps the height; triangular2 halves it each cycle; exp_range shrinks it by gamma every step.", "triangular", CYCLIC_MODES)
    gamma: float = param(RATE, "For exp_range: the height is multiplied by gamma at every step.", 1.0)
    cycle_momentum: bool = param(FLAG, "Move the momentum opposite to the LR (not in a run with momentum 0).", True)
    base_momentum: float = param(MOMENTUM, "The momentum at the top of a cycle.", 0.8)
    max_momentum: float = param(MOMENTUM, "The momentum at the bottom of a cycle.", 0.9)

    def _shape(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per step: how far up the cycle (0..1) and the height multiplier of the mode."""
        total = float(self.step_size_up + self.step_size_down)
        ratio = float(self.step_size_up) / total
        cycle = np.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        rising = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        if self.mode == "triangular":
            return rising, np.ones_like(t)
        if self.mode == "triangular2":
            return rising, 1 / (2.0 ** (cycle - 1))
        return rising, self.gamma**t

    def lrs(self, t):
        rising, height = self._shape(np.asarray(t, float))
        return self.base_lr + (self.max_lr - self.base_lr) * rising * height

    def momenta(self, t):
        if not self.cycle_momentum:
            return None
        rising, height = self._shape(np.asarray(t, float))
        return self.max_momentum - (self.max_momentum - self.base_momentum) * rising * height
