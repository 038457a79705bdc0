"""A free-form schedule: keypoints (step, LR) joined by straight lines, linear or in log space."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .base import CHOICE, LR, POINTS, Shape, check_number, param


@dataclass(frozen=True, kw_only=True)
class Keypoints(Shape):
    """Keypoints joined linearly or log-linearly; before the first and after the last the LR holds."""

    kind = "keypoints"
    title = "Free-form keypoints"
    points: tuple[tuple[float, float], ...] = param(POINTS, "The (step, LR) points the curve passes through; steps count from the segment's start.", ())
    interpolation: str = param(CHOICE, "Join points by straight lines in LR (linear) or in log LR (log, for LRs spanning decades).", "linear", ("linear", "log"))

    def lrs(self, t):
        steps = np.asarray([p[0] for p in self.points], float)
        lrs = np.asarray([p[1] for p in self.points], float)
        if self.interpolation == "log":
            return np.exp(np.interp(np.asarray(t, float), steps, np.log(lrs)))
        return np.interp(np.asarray(t, float), steps, lrs)

    def scaled(self, factor):
        return dataclasses.replace(self, points=tuple((s, lr * factor) for s, lr in self.points))

    def stretched(self, factor):
        return dataclasses.replace(self, points=tuple((s * factor, lr) for s, lr in self.points))

    def peak_lr(self):
        # Points lie anywhere in the segment (a stretch moves them between steps), and the highest is one of them.
        return float(max(lr for _, lr in self.points))

    def starting_at(self, lr):
        (step, _), *rest = self.points
        return dataclasses.replace(self, points=((step, lr), *rest))

    def check(self):
        if not self.points:
            raise ValueError("points must hold at least one (step, LR) pair")
        for index, point in enumerate(self.points):
            if not isinstance(point, tuple) or len(point) != 2:
                raise ValueError(f"points[{index}] must be a (step, LR) pair")
            check_number(f"points[{index}] step", "steps_float", point[0])
            check_number(f"points[{index}] LR", LR, point[1])
            if point[0] < 0 or point[0] > self.steps:
                raise ValueError(f"points[{index}] step {point[0]:g} lies outside the segment (0 to {self.steps})")
            if self.interpolation == "log" and point[1] <= 0:
                raise ValueError(f"points[{index}] LR must be above 0 for log interpolation")
        steps = [p[0] for p in self.points]
        if any(b <= a for a, b in zip(steps, steps[1:])):
            raise ValueError("points must be in strictly increasing step order")

