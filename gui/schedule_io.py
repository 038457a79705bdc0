"""Export the tuned schedule (file and library) and import one, warning when it was tuned on another dataset."""

from __future__ import annotations

from pathlib import Path

from engine.config import TrainConfig
from engine.data.dataset import PreparedDataset
from engine.export import tuned_document
from engine.schedules.edits import RunSchedule
from engine.schedules.library import ScheduleLibrary, differences
from engine.schedules.schedule_file import ScheduleFile, load_schedule, save_schedule
from engine.store.paths import library_root


def export_schedule(path: Path, run_schedule: RunSchedule, config: TrainConfig, dataset: dict, steps_per_epoch: int,
                    metrics: dict | None, range_test: dict | None, search: dict | None = None,
                    groups: tuple[str, ...] = (), weights: str = "") -> tuple[Path, str]:
    """Write the schedule file (for the dataset ``dataset`` summarizes) and add it to the library; returns (file, what the
    library did).
    ``groups``: the model's parameter groups; ``weights``: what it started from ("" for a random initialization)."""
    return write_document(path, tuned_document(run_schedule, config, dataset, steps_per_epoch, metrics, range_test,
                                               groups=groups, weights=weights, search=search))


def write_document(path: Path, document: dict) -> tuple[Path, str]:
    """Write a schedule file and add it to the library; returns (file, what the library did, for the log)."""
    save_schedule(path, document)
    held, done = ScheduleLibrary(library_root()).add(document)
    return Path(path), f"{done} the library ({held.parent.name})"


def read_schedule(path: Path, dataset: dict | None) -> tuple[ScheduleFile, list[str]]:
    """Load a schedule file and say how its dataset differs from ``dataset``, a dataset summary's plain data
    (ScheduleFileError if unusable)."""
    loaded = load_schedule(path)
    lines = differences(loaded.dataset, dataset) if dataset is not None else []
    return loaded, lines


def delete_library_entry(path: Path) -> None:
    """Remove one schedule from the library (ScheduleFileError says why not)."""
    ScheduleLibrary(library_root()).remove(path)


def library_entries(dataset: PreparedDataset):
    """Library entries tuned for ``dataset`` and notes on unreadable files."""
    return ScheduleLibrary(library_root()).entries(dataset.summary.fingerprint)


def library_signature(dataset: PreparedDataset) -> frozenset:
    """What changes when ``dataset``'s library entries change, found without reading them."""
    return ScheduleLibrary(library_root()).signature(dataset.summary.fingerprint)


def add_to_library(path: Path) -> tuple[Path, str, ScheduleFile]:
    """Add a schedule file to the library of the dataset it names: (the entry, whether it is new, the file as loaded)."""
    return ScheduleLibrary(library_root()).add_file(path)
