"""Where a command's tuned schedule goes: the library, then the file the user named.

A run or a search costs minutes to hours and the file is written at its end, so a write that fails
there (a full disk, a folder that became read-only) must not cost the result: the library gets the
schedule first, the failure is said in one line and kept in the JSON, and the command's exit status
says it (STORE_FAILED) while its result is still printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..export import unmeasured_note
from .common import say


def write_export(path: Path, document: dict[str, Any], library_dir: Path | None, what: str) -> dict[str, str]:
    """Add ``document`` to the library and write it to ``path``; where it went, and ``export_error`` when a write failed."""
    from ..schedules.library import ScheduleLibrary
    from ..schedules.schedule_file import save_schedule
    from ..store.paths import library_root

    written: dict[str, str] = {}
    failures, done = [], ""
    try:
        library_file, done = ScheduleLibrary(library_root(library_dir)).add(document)
        written["library_file"] = str(library_file)
    except OSError as error:
        failures.append(f"the library ({error.strerror or error})")
    try:
        save_schedule(path, document)
        written["schedule_file"] = str(path)
    except OSError as error:
        failures.append(f"{path} ({error.strerror or error})")
    if note := unmeasured_note(document.get("metrics")):
        say(f"note: {note}")
    if not failures:
        say(f"{what} written to {path} and {done} the library")
        return written
    kept = f"; it is kept in the library at {written['library_file']}" if "library_file" in written else ""
    return {**written, "export_error": f"the {what} could not be written to {' or '.join(failures)}{kept}"}
