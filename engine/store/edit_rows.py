"""Which stored edit rows a schedule holds.

Every edit made is stored as a row, but a run's schedule holds only those in force: a rollback goes back past the edits
made since its last good state, and a resume past those made after its checkpoint. A schedule's edit records carry no
row id, so a row is matched to a record by its step and summary, the newest row of two alike being the one held.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from ..text import printable


def rows_not_held(rows: Iterable[tuple[int, int, str]], records: Iterable) -> set[int]:
    """The ids of the rows (id, step, summary), oldest first, that ``records`` (a schedule's edits) do not hold."""
    held = Counter((record.step, printable(record.summary)) for record in records)
    missing = set()
    for row, step, summary in reversed(list(rows)):
        if held[step, summary]:
            held[step, summary] -= 1
        else:
            missing.add(row)
    return missing
