"""The per-dataset library of tuned schedules, and what differs between two datasets.

A schedule tuned on one dataset is not right for another, so files are kept in
one folder per dataset fingerprint; loading a dataset finds its own.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ScheduleFileError
from ..text import counted, listed, name_part, printable
from .describe import describe_timeline
from .schedule_file import ScheduleFile, exported_again, load_document, load_schedule, same_schedule, save_schedule

SUFFIX = ".lrschedule.json"
STAT_TOLERANCE = 0.05
MAX_NAMED_KINDS = 3  # a file name stays readable (a keypoints plan may hold dozens of segments)
# A dataset's folder name: a received file's fingerprint "../.." must not lead out of the library.
FINGERPRINT = re.compile(r"[0-9A-Za-z_-]{1,64}")
LISTED = "`lrscope schedule list` shows each one's file"
# What adding a schedule did, as a message says it: "… and added to the library".
ADDED, HELD, UPDATED = "added to", "already in", "updated in"


@dataclass(frozen=True)
class LibraryEntry:
    """One tuned schedule in the library."""

    path: Path
    dataset: str
    fingerprint: str
    created: str
    best_val_accuracy: float | None
    description: str
    run: str = ""  # the run it came from ("" for a file that does not say)
    so_far_at: int | None = None  # the step its run had reached when exported in progress; None for a run that was over

    @property
    def so_far(self) -> str:
        """" so far, at step 155" after the accuracy of a run exported in progress, else ""."""
        return f" so far, at step {self.so_far_at}" if self.so_far_at is not None else ""

    @property
    def local_time(self) -> str:
        """When it was exported, in local time to the minute, as runs are listed (the file says UTC: "…T17:46:51+00:00");
        the file's own text when it is no time."""
        try:
            return datetime.fromisoformat(self.created).astimezone().strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return self.created


def file_name(document: dict[str, Any]) -> str:
    """A readable file name: dataset, time and the kinds of the last piece's segments ("linear-cosine": a warmup cosine
    was named "linear" after its first)."""
    dataset = (document.get("dataset") or {}).get("name", "dataset")
    kinds = "-".join(dict.fromkeys(segment["kind"] for segment in document["timeline"][-1]["segments"][:MAX_NAMED_KINDS]))
    stamp = re.sub(r"[^0-9T]", "", document.get("created", ""))[:15]
    return f"{name_part(dataset)}-{stamp}-{name_part(kinds)}{SUFFIX}"


class ScheduleLibrary:
    """Schedule files under ``root/<fingerprint>/``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def add(self, document: dict[str, Any]) -> tuple[Path, str]:
        """Save a schedule document into its dataset's folder: (the file's path, what the library did, ADDED, HELD or
        UPDATED). The same schedule exported again is not copied: each Export of one run added an entry, and the list
        filled with twins; nor the same run's schedule exported again (from the window, then by `lrscope show RUN
        --export-schedule`, or as the run ended): its entry takes the later export, which knows the run further."""
        fingerprint = (document.get("dataset") or {}).get("fingerprint") or "unknown-dataset"
        if not FINGERPRINT.fullmatch(fingerprint):
            raise ScheduleFileError(f"dataset.fingerprint: {printable(fingerprint[:70])!r} is not a dataset fingerprint (letters "
                                    "and digits, as lrscope writes them); fix the file or export the schedule again")
        folder = self.root / fingerprint
        for held in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else ():
            again = exported_again(held, document)  # the same run's, with what the entry knew that it does not
            if same_schedule(held, again if again is not None else document):
                return held, HELD
            if again is not None:
                return save_schedule(held, again), UPDATED
        name = file_name(document)
        path, number = folder / name, 2
        while path.exists():
            path, number = folder / name.replace(SUFFIX, f"-{number}{SUFFIX}"), number + 1
        return save_schedule(path, document), ADDED

    def add_file(self, path: Path) -> tuple[Path, str, ScheduleFile]:
        """Add a schedule file received from elsewhere, checked as an import is (ScheduleFileError says why not), under
        the dataset it names: (the entry's path, what the library did (as ``add``), the file as loaded, whose warnings are worth
        saying)."""
        loaded, document = load_document(path)
        if not (loaded.dataset or {}).get("fingerprint"):
            raise ScheduleFileError(f"{path}: does not say which dataset it was tuned on (dataset.fingerprint), and the library "
                                    "keeps schedules by dataset; `lrscope train --schedule FILE --accept-mismatch` trains it as it is")
        try:
            # Its dataset and date as read: a field of the wrong type, ignored by the loader, must not make the entry's name.
            held, added = self.add({**document, "dataset": loaded.dataset, "created": loaded.created})
        except ScheduleFileError as error:
            raise ScheduleFileError(f"{path}: {error}") from None
        return held, added, loaded

    def find(self, entry: str) -> Path:
        """The library file ``entry`` names: its path, as `schedule list` prints it, or its file name alone
        (ScheduleFileError when no file or several match)."""
        path = Path(entry)
        if path.parent != Path("."):
            if not path.is_file():
                raise ScheduleFileError(f"{entry}: no such file; {LISTED}")
            return path
        matches = sorted(self.root.glob(f"*/{glob.escape(entry)}"))
        if not matches:
            raise ScheduleFileError(f"{entry}: no schedule of that name in the library {self.root}; {LISTED}")
        if len(matches) > 1:
            raise ScheduleFileError(f"{entry}: {len(matches)} datasets' schedules have that name; give its path ({LISTED})")
        return matches[0]

    def signature(self, fingerprint: str) -> frozenset[tuple[str, int, int]]:
        """What changes when a dataset's entries change (a file added, deleted or rewritten), found without reading them:
        the window reads its list again only then."""
        try:
            with os.scandir(self.root / fingerprint) as found:
                return frozenset((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in found if e.name.endswith(SUFFIX))
        except OSError:  # no folder yet (nothing exported), or one deleted meanwhile
            return frozenset()

    def remove(self, path: Path) -> None:
        """Delete one entry; ScheduleFileError for a path that is not a schedule file of this library (nothing else goes)."""
        path = Path(path)
        if path.parent.parent.resolve() != self.root.resolve() or not path.name.endswith(SUFFIX) or path.is_symlink():
            raise ScheduleFileError(f"{path}: is not a schedule in the library {self.root}; nothing was deleted")
        try:
            path.unlink()
        except FileNotFoundError:
            pass  # deleted already (by another window): the entry is gone, as asked
        except OSError as error:
            raise ScheduleFileError(f"{path}: could not be deleted ({error.strerror or error}); check its permissions") from None

    def entries(self, fingerprint: str | None = None) -> tuple[list[LibraryEntry], list[str]]:
        """Entries (newest first) for one dataset or all, and a note for each unreadable file."""
        folders = [self.root / fingerprint] if fingerprint else sorted(p for p in self.root.glob("*") if p.is_dir())
        found, problems = [], []
        for path in (p for folder in folders if folder.is_dir() for p in folder.glob(f"*{SUFFIX}")):
            try:
                loaded = load_schedule(path)
            except ScheduleFileError as error:
                problems.append(str(error))
                continue
            dataset = loaded.dataset or {}
            metrics = loaded.metrics or {}
            accuracy, run, steps = metrics.get("best_val_accuracy"), metrics.get("run"), metrics.get("steps")
            so_far_at = steps if metrics.get("in_progress") is True and isinstance(steps, int) else None
            # A run stopped at step 46 of 660 read as "over 660 steps, best val 68.5%", as if it had trained them all.
            stopped = (f" (its run stopped at step {steps})" if so_far_at is None and isinstance(steps, int)
                       and 0 <= steps < loaded.timeline.total_steps else "")
            found.append(LibraryEntry(path, str(dataset.get("name", "?")), str(dataset.get("fingerprint", "?")),
                                      loaded.created, accuracy if isinstance(accuracy, (int, float)) else None,
                                      describe_timeline(loaded.timeline) + stopped, printable(run) if isinstance(run, str) else "",
                                      so_far_at))
        return sorted(found, key=lambda e: e.created, reverse=True), problems


def differences(tuned: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """What differs between the dataset a schedule was tuned on and ``current`` (empty when they match)."""
    if not tuned:
        return ["the schedule file does not say which dataset it was tuned on"]
    if tuned.get("fingerprint") == current.get("fingerprint"):
        # The same images, seen at another resolution (--image-size): the data the LR was tuned on changed all the same.
        if tuned.get("resolution") not in (None, current.get("resolution")):
            return [f"resolution: tuned at {tuned['resolution']} px, this run trains at {current.get('resolution')} px "
                    "(--image-size, or the window's image size); the best LR moves with it"]
        return []
    lines = [f"tuned on {tuned.get('name', '?')!r} (fingerprint {tuned.get('fingerprint', '?')}), "
             f"this is {current.get('name', '?')!r} (fingerprint {current.get('fingerprint')})"]
    for key, label in (("image_count", "images"), ("resolution", "resolution (px)"), ("channels", "channels")):
        if tuned.get(key) != current.get(key):
            lines.append(f"{label}: {tuned.get(key)} when tuned, {current.get(key)} now")
    lines += _class_differences(tuned, current)
    lines += _stat_differences(tuned, current)
    lines += _unreadable_difference(tuned, current)
    if len(lines) == 1:
        lines.append("the same classes and counts, but different files: the images themselves changed")
    return lines


def _class_differences(tuned: dict, current: dict) -> list[str]:
    before, after = list(tuned.get("classes") or []), list(current.get("classes") or [])
    if before != after:
        added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
        parts = ([f"added {listed(added)}"] if added else []) + ([f"removed {listed(removed)}"] if removed else [])
        return [f"classes: {'; '.join(parts) or 'a different order'}"]
    counts_before, counts_after = tuned.get("class_counts") or {}, current.get("class_counts") or {}
    changed = [name for name in after if counts_before.get(name) != counts_after.get(name)]
    if changed:
        name = changed[0]
        return [f"images per class differ in {counted(len(changed), 'class')} (e.g. {name!r}: {counts_before.get(name)} → {counts_after.get(name)})"]
    return []


def _unreadable_difference(tuned: dict, current: dict) -> list[str]:
    """Files the folder holds that cannot be read: the counts above leave them out, as they do not train (files from
    before this was kept counted them in, and had none apart)."""
    before, after = tuned.get("unreadable", 0), current.get("unreadable", 0)
    return [f"unreadable files (skipped, they do not train): {before} when tuned, {after} now"] if before != after else []


def _stat_differences(tuned: dict, current: dict) -> list[str]:
    lines = []
    for key, label in (("mean", "channel mean"), ("std", "channel std")):
        old, new = tuned.get(key) or [], current.get(key) or []
        if len(old) == len(new) and any(abs(a - b) > STAT_TOLERANCE * max(abs(a), 1e-3) for a, b in zip(old, new)):
            lines.append(f"{label}: {', '.join(f'{v:.3f}' for v in old)} when tuned, {', '.join(f'{v:.3f}' for v in new)} now")
    return lines
