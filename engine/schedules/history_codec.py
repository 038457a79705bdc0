"""A run schedule with its whole edit record (undo included) as plain data, for checkpoints."""

from __future__ import annotations

from typing import Any

from .codec import check_type, legacy_groups, need, piece_from_dict, piece_to_dict, timeline_from_dict, timeline_to_dict, whole
from .edits import EditRecord, LoggedEdit, RunSchedule, edit_details


def record_to_dict(record: EditRecord, with_before: bool = True) -> dict[str, Any]:
    """One edit record as plain data; ``with_before`` keeps the replaced piece (needed for undo)."""
    data = {"id": record.id, "step": record.step, "kind": record.edit.kind, "reason": record.edit.reason,
            "summary": record.summary, "details": edit_details(record.edit), "undoes": record.undoes}
    if record.edit.source:
        data["source"] = record.edit.source
    if record.redoes is not None:
        data["redoes"] = record.redoes
    if with_before:
        data["before"] = piece_to_dict(record.before)
        if record.later:
            data["later"] = [piece_to_dict(piece) for piece in record.later]
    return data


def run_schedule_to_dict(run_schedule: RunSchedule) -> dict[str, Any]:
    """The timeline and every edit record, including the piece each edit replaced."""
    return {**timeline_to_dict(run_schedule.timeline), "edits": [record_to_dict(r) for r in run_schedule.edits]}


def run_schedule_from_dict(data: dict[str, Any]) -> RunSchedule:
    """The inverse of ``run_schedule_to_dict``; ScheduleFileError names the field at fault."""
    timeline = timeline_from_dict(data, "run_schedule")
    # A checkpoint written before groups moved into pieces: every replaced piece had the run-wide groups.
    old_groups = legacy_groups(data, "run_schedule") if "param_groups" in data else None
    records = []
    for i, item in enumerate(check_type(data.get("edits", []), list, "run_schedule.edits")):
        where = f"run_schedule.edits[{i}]"
        piece = piece_from_dict(need(item, "before", dict, where), f"{where}.before", old_groups)
        edit = LoggedEdit(logged_kind=need(item, "kind", str, where), details=need(item, "details", dict, where),
                          reason=need(item, "reason", str, where), source=str(item.get("source", ""))[:200])
        undoes, redoes = item.get("undoes"), item.get("redoes")
        # Checkpoints before 2026-12-05 lack "later": their undo restores the piece in force alone, as it did then.
        later = tuple(piece_from_dict(p, f"{where}.later[{j}]", old_groups)
                      for j, p in enumerate(check_type(item.get("later", []), list, f"{where}.later")))
        records.append(EditRecord(whole(item, "id", where, 1), whole(item, "step", where), edit,
                                  need(item, "summary", str, where), piece, undoes if isinstance(undoes, int) else None, later,
                                  redoes if isinstance(redoes, int) else None))
    return RunSchedule(timeline, tuple(records))
