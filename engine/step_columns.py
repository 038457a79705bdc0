"""The columns `show RUN --csv` and `range-test --csv` both write: step, loss, then each group's LR by name.

Written by one function, so a reader that takes one file (pandas, a spreadsheet) takes the other alike: the range
test's curve once had one `lr` column where a run had `lr_<group>`, in another order.
"""

from __future__ import annotations

from collections.abc import Iterable

from .text import printable


def step_header(groups: Iterable[str]) -> list[str]:
    """step, loss, lr_<group> for each group in ``groups`` (the order they train in, input to output)."""
    return ["step", "loss", *(f"lr_{printable(name)}" for name in groups)]


def step_cells(step: int | None, loss: float, lrs: Iterable[float]) -> list[object]:
    """One row's cells under ``step_header``: floats in full (repr), nan where a value is missing, the step empty when
    it is not known yet (a probe's, until it ends)."""
    return ["" if step is None else int(step), repr(float(loss)), *(repr(float(lr)) for lr in lrs)]
