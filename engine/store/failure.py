"""Why a run store could not write, and what the user can do about it, in one line."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from ..errors import first_line
from ..text import printable
from .folder_guard import FolderMoved

FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return ""


def _free_space(folder: Path) -> str:
    for place in (folder, *folder.parents):
        try:
            return f"{_size(shutil.disk_usage(place).free)} free now"
        except OSError:
            continue
    return "free space unknown"


def _shown(run_dir: Path, path: Path) -> str:
    return printable(str(path.relative_to(run_dir) if path.is_relative_to(run_dir) else path))


def _file_in_the_way(error: BaseException) -> Path | None:
    """The file that stands where the store needs a folder (the user or a sync tool made ``checkpoints`` a file), if
    that is what ``error`` met: the disk is fine, and "check the disk" sent the user the wrong way."""
    if getattr(error, "errno", None) not in (errno.EEXIST, errno.ENOTDIR) or not getattr(error, "filename", None):
        return None
    path = Path(error.filename)
    return next((place for place in (path, *path.parents) if place.exists() and not place.is_dir()), None)


def _reason(run_dir: Path, error: BaseException) -> str:
    """What went wrong in the system's words, with the file it was writing when known (not "[Errno 28] …: '…'")."""
    if (blocking := _file_in_the_way(error)) is not None:
        return f"{_shown(run_dir, blocking)} is a file, not a folder"
    if not (isinstance(error, OSError) and error.strerror and error.filename):
        return first_line(error)
    return f"{_shown(run_dir, Path(error.filename))}: {printable(error.strerror)}"


def none_left(written: int | None) -> str:
    """Why nothing can be resumed, given the newest checkpoint the store wrote (``written``) and none on disk: none
    written yet, or those written gone since (their folder emptied or a file put in its place), where the run said
    "what was written stays resumable" and named the step it remembered writing."""
    return "no checkpoint was written yet" if written is None else "no checkpoint is left on disk"


def describe_failure(run_dir: Path, error: BaseException, kept: str = "what was written stays resumable") -> str:
    """'the run store at … cannot be written (reason): what to do; ``kept``' for an OSError or an SQLite error; ``kept``
    says what a resume can go on from."""
    run_dir = Path(run_dir)
    return f"the run store at {run_dir} cannot be written ({_reason(run_dir, error)}): {_advice(run_dir, error)}; {kept}"


def stop_note(run_dir: Path, error: BaseException, written: int | None, on_disk: int | None) -> str:
    """What a run stopped by its store's failure keeps as the reason (``lrscope runs`` prints it under the run): why,
    what to do, and where a resume goes on (``on_disk``, the newest checkpoint on disk; ``written``, the newest the store
    wrote). The free space is left out: it is read when the run stops, not when this is."""
    run_dir = Path(run_dir)
    then = f"a resume continues from step {on_disk}" if on_disk is not None else f"{none_left(written)}: start it again"
    return f"stopped: its store could not be written ({_reason(run_dir, error)}): {_advice(run_dir, error, free=False)}; {then}"


def _advice(run_dir: Path, error: BaseException, free: bool = True) -> str:
    """What the user can do about ``error``: free space, make the folder writable, put it back."""
    lowered = _reason(run_dir, error).lower()
    code = getattr(error, "errno", None)
    if code in FULL or any(word in lowered for word in ("full", "too large")):
        return f"free space on the disk that holds {run_dir.parent}" + (f" ({_free_space(run_dir.parent)})" if free else "")
    if code in DENIED or "readonly" in lowered or "read-only" in lowered:
        return f"make {run_dir} writable"
    if (blocking := _file_in_the_way(error)) is not None:
        return f"move or rename the file {blocking} (the run keeps a folder there)"
    if isinstance(error, FolderMoved):
        return f"put it back at {run_dir}"
    if not run_dir.is_dir():
        return f"its folder {run_dir} was removed or its disk unmounted; put it back"
    return f"check the disk that holds {run_dir}"
