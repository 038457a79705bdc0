"""Shapes with a closed form in one line: constant, linear, exponential, step decays, polynomial."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import FACTOR, LR, POWER, RATE, STEP_LIST, STEPS, Shape, param


@dataclass(frozen=True, kw_only=True)
class Constant(Shape):
    """The same LR for every step."""

    kind = "constant"
    title = "Constant"
    start_field = "lr"
    lr: float = param(LR, "The learning rate held for the whole segment.", label="LR")

    def lrs(self, t):
        return np.full(np.shape(t), float(self.lr))


@dataclass(frozen=True, kw_only=True)
class Linear(Shape):
    """A straight line from start_lr to end_lr, reached when the segment ends (warmup, cooldown)."""

    kind = "linear"
    title = "Linear (warmup / cooldown)"
    start_lr: float = param(LR, "The LR of the segment's first step.", label="starting LR")
    end_lr: float = param(LR, "The LR the line reaches at the end of the segment.", label="final LR")

    def lrs(self, t):
        return self.start_lr + (self.end_lr - self.start_lr) * (np.asarray(t, float) / self.steps)


@dataclass(frozen=True, kw_only=True)
class Exponential(Shape):
    """Multiply the LR by gamma at every step (PyTorch's ExponentialLR)."""

    kind = "exponential"
    title = "Exponential decay"
    start_lr: float = param(LR, "The LR of the segment's first step.", label="starting LR")
    gamma: float = param(RATE, "The factor the LR is multiplied by at each step (below 1 decays).", 0.999)

    def lrs(self, t):
        return self.start_lr * self.gamma ** np.asarray(t, float)


@dataclass(frozen=True, kw_only=True)
class StepDecay(Shape):
    """Multiply the LR by gamma every step_size steps (PyTorch's StepLR)."""

    kind = "step"
    title = "Step decay"
    start_lr: float = param(LR, "The LR of the segment's first step.", label="starting LR")
    step_size: int = param(STEPS, "How many steps pass between two decays.")
    gamma: float = param(FACTOR, "The factor applied at each decay (0.1 divides the LR by ten).", 0.1)

    def lrs(self, t):
        return self.start_lr * self.gamma ** np.floor(np.asarray(t, float) / self.step_size)


@dataclass(frozen=True, kw_only=True)
class MultiStep(Shape):
    """Multiply the LR by gamma at each milestone step (PyTorch's MultiStepLR)."""

    kind = "multistep"
    title = "Multi-step decay"
    start_lr: float = param(LR, "The LR of the segment's first step.", label="starting LR")
    milestones: tuple[int, ...] = param(STEP_LIST, "The steps (counted from the segment's start) at which the LR decays.", ())
    gamma: float = param(FACTOR, "The factor applied at each milestone (0.1 divides the LR by ten).", 0.1)

    def lrs(self, t):
        passed = np.searchsorted(np.asarray(self.milestones, float), np.asarray(t, float), side="right")
        return self.start_lr * self.gamma ** passed.astype(float)

    def check(self):
        if not self.milestones:
            raise ValueError("milestones must name at least one step")
        if list(self.milestones) != sorted(self.milestones) or self.milestones[0] < 1:
            raise ValueError("milestones must be positive and in increasing order")


@dataclass(frozen=True, kw_only=True)
class Polynomial(Shape):
    """Decay from start_lr to end_lr along (1 - t/steps)^power (PyTorch's PolynomialLR)."""

    kind = "polynomial"
    title = "Polynomial decay"
    start_lr: float = param(LR, "The LR of the segment's first step.", label="starting LR")
    end_lr: float = param(LR, "The LR reached at the end of the segment.", 0.0, label="final LR")
    power: float = param(POWER, "The curve's exponent: 1 is a straight line, 2 decays faster early.", 1.0)

    def lrs(self, t):
        remaining = 1.0 - np.asarray(t, float) / self.steps
        return self.end_lr + (self.start_lr - self.end_lr) * remaining**self.power


__all__ = ["Constant", "Exponential", "Linear", "MultiStep", "Polynomial", "StepDecay"]
