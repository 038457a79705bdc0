"""Which stored edit rows a schedule holds.

Every edit made is stored as a row, but a run's schedule holds only those in force: a rollback goes back past the edits
made since its last good state, and a resume past those made after its checkpoint. A schedule's edit records carry no
row id, so a row is matched to a record by its step and summary, the newest row of two alike being the one held.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..text import printable


def held_by(rows: Iterable[tuple[int, int, str]], records: Iterable) -> dict[int, object]:
    """For each of ``rows`` (id, step, summary; oldest first) that ``records`` (a schedule's edits) hold, the record
    holding it, by the row's id."""
    held: dict[tuple[int, str], list] = {}
    for record in records:
        held.setdefault((record.step, printable(record.summary)), []).append(record)
    found = {}
    for row, step, summary in reversed(list(rows)):
        if alike := held.get((step, summary)):
            found[row] = alike.pop()
    return found


def rows_not_held(rows: Iterable[tuple[int, int, str]], records: Iterable) -> set[int]:
    """The ids of the rows (id, step, summary), oldest first, that ``records`` (a schedule's edits) do not hold."""
    rows = list(rows)
    return {row for row, _, _ in rows} - set(held_by(rows, records))
