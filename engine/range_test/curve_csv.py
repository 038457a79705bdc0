"""The columns a range test's curve is saved in, by `range-test --csv` and by the window's Range test plot alike.

Written by one function, so one reader takes both files: the window wrote lr, loss, smoothed, repeat where the command
line wrote step, loss, each group's LR, repeat, swept_lr, smoothed (README, "CSV columns").
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from ..step_columns import step_cells, step_header

# A part of a curve: its step of each point (None: counted from 0), swept LRs, losses and the test's second column.
Part = tuple[Iterable[int] | None, np.ndarray, np.ndarray, Iterable[float]]


def curve_header(groups: Iterable[str], mode: str) -> list[str]:
    """step, loss, lr_<group> of each group, then repeat, swept_lr, and smoothed (a sweep) or loss_half_way (a probe)."""
    return [*step_header(groups), "repeat", "swept_lr", "smoothed" if mode == "sweep" else "loss_half_way"]


def curve_rows(multipliers: Mapping[str, float], parts: Iterable[Part]) -> Iterator[list[object]]:
    """The rows under ``curve_header``, each repeat's in turn: a group's LR is the swept LR × its multiplier (0 frozen)."""
    factors = np.array(list(multipliers.values()), dtype=float)
    for repeat, (steps, lrs, losses, second) in enumerate(parts):
        steps = range(len(lrs)) if steps is None else steps
        for step, lr, loss, other in zip(steps, np.asarray(lrs, float).tolist(), np.asarray(losses, float).tolist(), second):
            yield [*step_cells(step, loss, lr * factors), repeat, repr(lr), repr(float(other))]


def result_parts(result) -> list[Part]:
    """A finished test's parts: a sweep's steps count from 0 with its smoothed fit; a probe's step is how many steps each
    candidate trained, with its loss half way."""
    return [(None, part.lrs, part.losses, part.smoothed) if part.mode == "sweep" else
            ([part.measured["steps"]] * len(part.lrs), part.lrs, part.losses, part.measured["midway"])
            for part in result.repeats or (result,)]


def write_curve_csv(path: str | Path, multipliers: Mapping[str, float], mode: str, parts: Iterable[Part]) -> Path:
    """Save the curve's ``parts`` at ``path`` under ``curve_header`` (OSError when it cannot be written)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(curve_header(multipliers, mode))
        writer.writerows(curve_rows(multipliers, parts))
    return Path(path)


def write_result_csv(path: str | Path, result) -> Path:
    """Save a finished test's curve, every repeat, each group's LR as it trained (one 'all' group when none was named)."""
    return write_curve_csv(path, result.measured.get("groups") or {"all": 1.0}, result.mode, result_parts(result))
