"""A schedule: shapes laid end to end on the step axis; the LR is a pure function of the step."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .shapes import Shape


def partition(which: np.ndarray):
    """Yield (index, selector) for each index present in ``which``; one index selects everything.

    One sort for all indices (not one comparison per index): evaluating 100,000 pieces over
    100,000 steps costs a sort, not 10^10 comparisons.
    """
    flat = np.ravel(which)
    if len(flat) == 0:
        return
    if flat.min() == flat.max():
        yield int(flat[0]), ...
        return
    order = np.argsort(flat, kind="stable")
    bounds = np.flatnonzero(np.diff(flat[order])) + 1
    for chunk in np.split(order, bounds):
        yield int(flat[chunk[0]]), (chunk if np.ndim(which) == 1 else np.unravel_index(chunk, np.shape(which)))


@dataclass(frozen=True)
class Schedule:
    """Segments one after another from local step 0; past the end the last value holds."""

    segments: tuple[Shape, ...]

    def __post_init__(self):
        if not self.segments:
            raise ValueError("a schedule needs at least one segment")

    @cached_property
    def starts(self) -> np.ndarray:
        """The local step at which each segment begins."""
        return np.concatenate([[0], np.cumsum([s.steps for s in self.segments])[:-1]]).astype(np.int64)

    @property
    def total_steps(self) -> int:
        """Steps covered by all segments together."""
        return int(self.starts[-1] + self.segments[-1].steps)

    def segment_index(self, steps: np.ndarray) -> np.ndarray:
        """Index of the segment each local step falls in (the last one past the end)."""
        return np.searchsorted(self.starts, steps, side="right") - 1

    def _evaluate(self, steps: np.ndarray, momentum: bool) -> np.ndarray:
        steps = np.clip(np.asarray(steps, float), 0, self.total_steps)
        out = np.full(steps.shape, np.nan)
        for index, mask in partition(self.segment_index(steps)):
            segment = self.segments[index]
            local = np.minimum(steps[mask] - self.starts[index], segment.final_time)
            values = segment.momenta(local) if momentum else segment.lrs(local)
            if values is not None:
                out[mask] = values
        return out

    def lrs(self, steps: np.ndarray) -> np.ndarray:
        """LR at each local step, vectorized."""
        return self._evaluate(steps, momentum=False)

    def momenta(self, steps: np.ndarray) -> np.ndarray:
        """Momentum at each local step; NaN where no segment schedules it."""
        return self._evaluate(steps, momentum=True)

    def lr_at(self, step: float) -> float:
        """LR at one local step."""
        return float(self.lrs(np.asarray([step]))[0])

    def scaled(self, factor: float) -> Schedule:
        """Every LR multiplied by ``factor``."""
        return Schedule(tuple(s.scaled(factor) for s in self.segments))

    def stretched(self, factor: float) -> Schedule:
        """Every duration multiplied by ``factor``; boundaries are rounded so they stay in order."""
        ends = np.round((self.starts + [s.steps for s in self.segments]) * factor).astype(np.int64)
        lengths = np.maximum(np.diff(np.concatenate([[0], ends])), 1)
        return Schedule(tuple(s.with_steps(int(n)) for s, n in zip(self.segments, lengths)))

    def starting_at(self, lr: float) -> Schedule:
        """The first segment made to begin at ``lr``, so switching to this schedule causes no jump."""
        first, *rest = self.segments
        return Schedule((first.starting_at(lr), *rest))

    def fitted(self, total_steps: int) -> Schedule:
        """The schedule stretched to exactly ``total_steps`` (rounding lands on the last segment)."""
        stretched = self.stretched(total_steps / self.total_steps)
        return stretched.with_last_length(max(1, stretched.segments[-1].steps + total_steps - stretched.total_steps))

    def with_last_length(self, steps: int) -> Schedule:
        """The last segment resized to ``steps`` (its inner step parameters in proportion)."""
        *head, last = self.segments
        return Schedule((*head, last.with_steps(steps)))

    def replace_segment(self, index: int, **changes) -> Schedule:
        """Segment ``index`` with some parameters changed."""
        segments = list(self.segments)
        segments[index] = dataclasses.replace(segments[index], **changes)
        return Schedule(tuple(segments))

    def validate(self) -> None:
        """Raise ValueError naming the first invalid segment parameter."""
        for index, segment in enumerate(self.segments):
            try:
                segment.validate()
            except ValueError as error:
                raise ValueError(f"segments[{index}] ({segment.kind}): {error}") from None
