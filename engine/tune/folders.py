"""A tune's folder (its record and initial weights): found by name, its state read, deleted with its trials.

A tune that a process is running holds the folder's lock (``engine.store.lock``, released by the OS however the
process ends), so "running" in a record whose lock is free means the process was killed.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import LrscopeError, RunStoreError
from ..files import read_limited
from ..store.delete import delete_locked
from ..store.lock import RunInUse, RunLock
from .budget import larger_budget

RECORD, WEIGHTS = "tune.json", "initial-weights.pt"
RECORD_LIMIT = 64 * 1024 * 1024  # a record of thousands of trials is a few MB


class CannotResume(LrscopeError):
    """A tune that cannot go on: why, and what to do instead."""


def find_tune(name: str, tunes_root: Path) -> Path:
    """The folder of tune ``name`` (a folder name under ``tunes_root``, or a path); CannotResume when there is none."""
    for folder in (Path(name), Path(tunes_root) / name):
        if (folder / RECORD).is_file() or (folder / WEIGHTS).is_file():
            return folder.resolve()
    raise CannotResume(f"no tune {name!r} in {tunes_root} (each tune is a folder there; `lrscope runs` names those with trials)")


def read_record(folder: Path) -> dict:
    """The tune's record as plain data; OSError or ValueError when it cannot be read."""
    record = json.loads(read_limited(Path(folder) / RECORD, RECORD_LIMIT))
    if not isinstance(record, dict):
        raise ValueError("not an lrscope tune record")
    return record


def go_on_line(folder: Path, resume: str = "lrscope tune --resume") -> str:
    """How a tune that can go on stopped, and the command that goes on with it (``resume`` and the folder's name; "" for
    one that finished, runs now, or kept nothing to go on from); with " --budget N" when the steps it spent leave no
    room for a trial."""
    try:
        record = read_record(folder)
        budget = record["budget"]
        runs = larger_budget(int(budget["spent_steps"]), int(budget["steps"]), int(budget["run_steps"]))
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    if record.get("state") == "cancelled":
        why = "stopped before its budget was spent"
    elif record.get("state") == "running" and not _held(folder):
        why = "cut off (its process ended) before its budget was spent"
    else:
        return ""
    return f"{why}: `{resume} {folder.name}{'' if runs is None else f' --budget {runs}'}` goes on with it"


def _held(folder: Path) -> bool:
    try:
        RunLock(folder, "tune").acquire().release()
    except RunInUse:
        return True
    except RunStoreError:  # a folder it cannot lock: not running here, as far as anyone can tell
        return False
    return False


def record_folder(name: str, tunes_root: Path) -> Path | None:
    """The folder of tune ``name``'s search record under ``tunes_root``, to delete with its trials; None when there is
    none (a link is not one: deleting would reach where it points)."""
    folder = Path(tunes_root) / name
    return folder if folder.is_dir() and not folder.is_symlink() else None


def delete_tune_folder(folder: Path) -> None:
    """Remove a tune's record and initial weights (its trials are runs, deleted as runs); RunStoreError says why not."""
    delete_locked(folder, RunLock(folder, "tune"))
