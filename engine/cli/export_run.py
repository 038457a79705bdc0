"""`lrscope show RUN --export-schedule FILE`: a stored run's tuned schedule, written from its store.

The end of `train --export-schedule` is not the only chance: when that write failed (a full disk, and the library
full too) the schedule was lost, since nothing else could write it, and a run trained without the option had no way
to export it from the command line (the window's Runs tab has its Export…).
"""

from __future__ import annotations

from pathlib import Path

from ..stored_export import stored_run_document
from .export_file import write_export


def export_stored_run(run_dir: Path, path: Path, library_dir: Path | None) -> dict[str, str]:
    """Add the run's schedule, with its edits, dataset and metrics, to the library and write it to ``path``: the
    document `train --export-schedule` writes at the run's end (``write_export``'s answer)."""
    return write_export(path, stored_run_document(run_dir), library_dir, "tuned schedule")
