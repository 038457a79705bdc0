"""The per-dataset schedule file: versioned JSON, written atomically, read strictly as data."""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import write_text_atomically
from ..errors import ScheduleFileError
from ..files import NotARegularFile, TooLarge, read_limited
from ..text import counted, printable
from .codec import check_type, fail, timeline_from_dict, timeline_to_dict
from .edits import RunSchedule, fates, taken_back
from .groups import GroupMismatch
from .history_codec import record_to_dict
from .left_out import left_out
from .sections import CONTEXT, DATASET, EDIT, METRICS, RANGE_TEST, SEARCH, items, section, string
from .timeline import Timeline

FORMAT = "lrscope.schedule"
# 2: group settings (multiplier, freeze span) per piece, by name; 1: one run-wide param_groups list.
VERSION = 2
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_EDITS = 100_000


@dataclass(frozen=True)
class ScheduleFile:
    """A loaded schedule file: the timeline plus what it was tuned on and how."""

    timeline: Timeline
    dataset: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    range_test: dict[str, Any] | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] | None = None
    search: dict[str, Any] | None = None
    created: str = ""
    lrscope_version: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def total_steps(self) -> int:
        """The length in steps of the run the schedule was tuned on: what ``torch_scheduler(optimizer)`` lasts."""
        return self.timeline.total_steps

    @property
    def group_names(self) -> tuple[str, ...]:
        """The parameter groups of the model the schedule was tuned on (empty when the file does not say)."""
        groups = (self.context or {}).get("groups")
        return tuple(groups) if isinstance(groups, list) and all(isinstance(g, str) for g in groups) else ()

    @property
    def tuned_weight_decay(self) -> float | None:
        """The weight decay a tune that searched it chose (None when the file holds no such search, or a value no run takes)."""
        winner = (self.search or {}).get("winner")
        value = (winner.get("params") or {}).get("weight_decay") if isinstance(winner, dict) else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1 else None

    @property
    def range_test_doubt(self) -> str:
        """Why the range test this schedule's LR came from was of low confidence ("" when it was not, none made it, or
        a tune then chose the schedule by training it): said at export time alone, it was lost once the file was used."""
        recommended = (self.range_test or {}).get("recommended")
        if self.search or not isinstance(recommended, dict) or recommended.get("low_confidence") is not True:
            return ""
        # Each note begins "low confidence: ", which every place that says the doubt says first ("low confidence: low
        # confidence: …").
        notes = [note.removeprefix("low confidence: ") for note in recommended.get("notes") or () if isinstance(note, str)]
        return printable("; ".join(notes) or "its repeats disagreed")[:300]

    @property
    def plateau_cuts(self) -> int:
        """How many of the recorded edits the plateau rule made (each is a piece of the timeline)."""
        return sum(isinstance(edit, dict) and edit.get("reason") == "plateau" for edit in self.edits)

    @property
    def _records(self) -> list[tuple[int, int, int | None, int | None]]:
        """(id, step, undoes, redoes) of each recorded edit (checked whole numbers when read; one without its id or
        step is left out)."""
        records = [(e.get("id"), e.get("step"), e.get("undoes"), e.get("redoes")) for e in self.edits]
        return [r for r in records if r[0] is not None and r[1] is not None]

    @property
    def taken_back(self) -> list[tuple[int, int]]:
        """The step ranges between an edit and what reversed it (edits.taken_back)."""
        return taken_back(self._records)

    @property
    def fates(self) -> dict[int, str]:
        """What became of each edit later undone, by its id (edits.fates)."""
        return fates(self._records)

    def for_run(self, total_steps: int) -> Timeline:
        """The timeline to train, re-stretched to a run of ``total_steps`` steps."""
        timeline = self.timeline.to_train_again(self.plateau_cuts, self.taken_back)
        return timeline if total_steps == timeline.total_steps else timeline.stretched(total_steps)

    def stretch_note(self, total_steps: int) -> str:
        """" (tuned over 2200 steps, stretched to this run)" when a run of ``total_steps`` stretches it, else ""."""
        tuned = self.timeline.total_steps
        return f" (tuned over {counted(tuned, 'step')}, stretched to this run)" if tuned != total_steps else ""

    @property
    def tuned_batch(self) -> tuple[int, int] | None:
        """(batch per process, processes) of the run the schedule was tuned on; None when the file does not say."""
        context = self.context or {}
        batch, processes = context.get("batch_size"), context.get("processes", 1)
        return (batch, processes) if isinstance(batch, int) and isinstance(processes, int) and batch > 0 and processes > 0 else None

    def batch_note(self, global_batch: int) -> str:
        """"; tuned at a global batch of 32 (16 × 2 processes), this run's is 16 …" when the two differ, else "". A file
        from a 2-process run said "batch 16", and a 1-process run at batch 16 took it without a word (helper-68)."""
        tuned = self.tuned_batch
        if tuned is None or tuned[0] * tuned[1] == global_batch:
            return ""
        batch, processes = tuned
        split = f" ({batch} × {processes} processes)" if processes > 1 else ""
        return (f"; tuned at a global batch of {batch * processes}{split}, this run's is {global_batch}: the LR that fits a "
                "batch changes with it (a range test or a tune checks it)")

    def torch_scheduler(self, optimizer, total_steps: int | None = None):
        """A standard PyTorch LR scheduler driving ``optimizer``; step it once per batch. ``total_steps``: the run's
        length to re-stretch the schedule to (None: the tuned run's); ValueError for anything but a positive int."""
        from .torch_adapter import TimelineLR

        if total_steps is None:  # trained again as lrscope trains a file: without the steps of an undone edit
            return TimelineLR(optimizer, self.for_run(self.timeline.total_steps))
        # bool is an int to Python, and 1.5 or -5 once stretched the schedule to nonsense without a word.
        if isinstance(total_steps, bool) or not isinstance(total_steps, numbers.Integral) or total_steps < 1:
            raise ValueError(f"total_steps must be a positive whole number of steps (an int), got {total_steps!r}")
        return TimelineLR(optimizer, self.for_run(int(total_steps)))


def schedule_document(
    run_schedule: RunSchedule,
    *,
    dataset: dict | None = None,
    context: dict | None = None,
    range_test: dict | None = None,
    metrics: dict | None = None,
    search: dict | None = None,
) -> dict[str, Any]:
    """The JSON document of a run's schedule, its edits and what it was tuned on."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "lrscope_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **timeline_to_dict(run_schedule.timeline),
        "dataset": dataset,
        "context": context,
        "range_test": range_test,
        "edits": [record_to_dict(r, with_before=False) for r in run_schedule.edits],
        "metrics": metrics,
        "search": search,
    }


def save_schedule(path: Path, document: dict[str, Any]) -> Path:
    """Write ``document`` to ``path`` atomically; returns the path."""
    write_text_atomically(Path(path), document_text(document) + "\n")
    return Path(path)


def document_text(document: dict[str, Any]) -> str:
    """``document`` as a schedule file holds it."""
    return json.dumps(document, indent=1, allow_nan=False, default=_plain)


def same_schedule(path: Path, document: dict[str, Any]) -> bool:
    """Whether the file at ``path`` holds ``document`` but for when it was written (False when it cannot be read)."""
    held = _held(path)
    return held is not None and {**held, "created": None} == {**json.loads(document_text(document)), "created": None}


# What one export of a run may know that another of the same run does not: the window's records the range test that
# advised the run, `lrscope show RUN --export-schedule` none.
KEPT_WHEN_ABSENT = ("range_test", "search")


def exported_again(path: Path, document: dict[str, Any]) -> dict[str, Any] | None:
    """``document`` with what the file at ``path`` adds, when both are the same run's schedule (its run named in both,
    their timelines equal): the later export knows the run further (its end, its metrics); None when they are not."""
    held, wanted = _held(path), json.loads(document_text(document))
    run = ((wanted.get("metrics") or {}).get("run")) or None
    if held is None or run is None or (held.get("metrics") or {}).get("run") != run or held.get("timeline") != wanted.get("timeline"):
        return None
    return {**document, **{key: held[key] for key in KEPT_WHEN_ABSENT if document.get(key) is None and held.get(key) is not None}}


def _held(path: Path) -> dict[str, Any] | None:
    """The JSON object of the file at ``path``; None when it cannot be read or is no object."""
    try:
        held = json.loads(read_limited(path, MAX_FILE_BYTES).decode("utf-8"))
    except (OSError, NotARegularFile, TooLarge, ValueError):
        return None
    return held if isinstance(held, dict) else None


def _plain(value: Any) -> Any:
    """JSON for values json does not know (tuples inside edit details, numpy scalars)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to a schedule file")


def load_schedule(path: Path | str) -> ScheduleFile:
    """Read and validate a schedule file; ScheduleFileError names the path and the field at fault."""
    return load_document(path)[0]


def load_document(path: Path | str) -> tuple[ScheduleFile, dict[str, Any]]:
    """Read and validate a schedule file as ``load_schedule`` does; also returns its JSON as read (what a copy of the
    file holds: the library keeps a file received from elsewhere whole)."""
    path = Path(path)
    try:
        text = read_limited(path, MAX_FILE_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise ScheduleFileError(f"{path}: no such file") from None
    except NotARegularFile as error:
        raise ScheduleFileError(f"{path}: {error}; a schedule file is a JSON file") from None
    except TooLarge:
        raise ScheduleFileError(f"{path}: is too large for a schedule file (at most {MAX_FILE_BYTES:,} bytes)") from None
    except UnicodeDecodeError:
        raise ScheduleFileError(f"{path}: is not a text file (a schedule file is UTF-8 JSON)") from None
    except OSError as error:
        raise ScheduleFileError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        loaded = parse_schedule(text)
    except ScheduleFileError as error:
        raise ScheduleFileError(f"{path}: {error}") from None
    return loaded, json.loads(text.removeprefix("\ufeff"))  # parsed strictly above: read as plain JSON, it is the same


def _context(data: dict, timeline: Timeline, warn) -> dict | None:
    """The context section; its model groups are kept only if the timeline drives exactly them."""
    context = section(data, "context", CONTEXT, warn)
    if context and context.get("groups"):
        try:
            timeline.check_groups(tuple(context["groups"]))
        except GroupMismatch as error:
            warn(f"context.groups: {error}; ignored")
            del context["groups"]
    return context


class _BadNumber(ValueError):
    """Valid JSON, but a number no schedule can hold: said as such, not as a syntax error."""


def _loads(text: str, **hooks) -> Any:
    """``json.loads(text, **hooks)``, with what makes it fail said as of a schedule file (_BadNumber passes through)."""
    try:
        return json.loads(text, **hooks)
    except RecursionError:
        raise ScheduleFileError("the JSON is nested too deeply to be a schedule file") from None
    except _BadNumber:
        raise
    except ValueError as error:
        raise ScheduleFileError(f"not valid JSON ({str(error)[:200]})") from None


def _reject_constant(name: str) -> float:
    raise _BadNumber(f"{name} is not a number a schedule can hold (numbers must be finite)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber(f"the number {text[:30]} is too large (numbers must be finite)")
    return value


def _sane_int(text: str) -> int:
    # JSON integers have no bound: 10**400 would overflow every float conversion downstream
    if len(text.lstrip("-")) > 18:
        raise _BadNumber(f"the number {text[:12]}… ({len(text.lstrip('-'))} digits) is too large")
    return int(text)


_UNHOLDABLE = object()  # where a number no schedule can hold was, in a second, permissive reading


def _unholdable_path(text: str) -> str:
    """Where in the document the first number no schedule can hold is ("schedule.timeline[0].segments[0].lr"), so
    that its message says which field to fix, as every other refused value's does ("" when it cannot be told)."""
    def finite(value: float):
        return value if math.isfinite(value) else _UNHOLDABLE
    # A syntax error after the number, which the first reading stopped short of, is what to fix first: it is said.
    data = _loads(text, parse_constant=lambda _name: _UNHOLDABLE, parse_float=lambda t: finite(float(t)),
                  parse_int=lambda t: _UNHOLDABLE if len(t.lstrip("-")) > 18 else int(t))

    def find(value, path: str) -> str | None:
        if value is _UNHOLDABLE:
            return path
        children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in children:
            found = find(child, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
        return None
    return find(data, "") or ""


def parse_schedule(text: str) -> ScheduleFile:
    """Validate a schedule document given as JSON text."""
    # A byte order mark (Windows editors save one) is no part of the JSON: it was refused in Python's words.
    text = text.removeprefix("\ufeff")
    try:
        data = _loads(text, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_sane_int)
    except _BadNumber as error:
        where = _unholdable_path(text)
        raise ScheduleFileError(f"{where}: {error}" if where else str(error)) from None
    return document_from_data(data)


def document_from_data(data: Any) -> ScheduleFile:
    """Validate a parsed schedule document."""
    check_type(data, dict, "file")
    if data.get("format") != FORMAT:
        found = f"format is {str(data.get('format'))[:40]!r}" if "format" in data else "no format field"  # not "format is 'None'"
        raise ScheduleFileError(f"not an lrscope schedule file ({found}, expected {FORMAT!r})")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise fail("version", "must be a whole number")
    if version > VERSION:
        raise ScheduleFileError(f"made by a newer lrscope (format version {version}; this one reads up to {VERSION}): update lrscope")
    if version < 1:
        raise fail("version", f"must be 1 or more, got {version}")
    timeline = timeline_from_dict(data, "schedule", version)
    declared = data.get("total_steps")
    if declared is not None and declared != timeline.total_steps:
        check_type(declared, int, "total_steps")
        raise fail("total_steps", f"says {declared} but the timeline lasts {counted(timeline.total_steps, 'step')}")
    warnings = left_out(data, timeline)
    return ScheduleFile(
        timeline=timeline,
        dataset=section(data, "dataset", DATASET, warnings.append),
        context=_context(data, timeline, warnings.append),
        range_test=section(data, "range_test", RANGE_TEST, warnings.append),
        edits=section(data, "edits", items(EDIT, MAX_EDITS), warnings.append) or [],
        metrics=section(data, "metrics", METRICS, warnings.append),
        search=section(data, "search", SEARCH, warnings.append),
        created=section(data, "created", string, warnings.append) or "",
        lrscope_version=section(data, "lrscope_version", string, warnings.append) or "",
        warnings=tuple(warnings),
    )
