"""Why a run store could not write, and what the user can do about it, in one line."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from ..errors import first_line
from ..text import printable

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


def _reason(run_dir: Path, error: BaseException) -> str:
    """What went wrong in the system's words, with the file it was writing when known (not "[Errno 28] …: '…'")."""
    if not (isinstance(error, OSError) and error.strerror and error.filename):
        return first_line(error)
    path = Path(error.filename)
    return printable(f"{path.relative_to(run_dir) if path.is_relative_to(run_dir) else path}: {error.strerror}")


def describe_failure(run_dir: Path, error: BaseException, resumable: bool = True) -> str:
    """'the run store at … cannot be written (reason): what to do' for an OSError or an SQLite error; ``resumable``:
    whether a checkpoint was written before it (else nothing can be resumed, which it says)."""
    run_dir = Path(run_dir)
    reason = _reason(run_dir, error)
    code = getattr(error, "errno", None)
    lowered = reason.lower()
    if code in FULL or any(word in lowered for word in ("full", "too large")):
        advice = f"free space on the disk that holds {run_dir.parent} ({_free_space(run_dir.parent)})"
    elif code in DENIED or "readonly" in lowered or "read-only" in lowered:
        advice = f"make {run_dir} writable"
    elif not run_dir.is_dir():
        advice = f"its folder {run_dir} was removed or its disk unmounted; put it back"
    else:
        advice = f"check the disk that holds {run_dir}"
    kept = "what was written stays resumable" if resumable else "no checkpoint was written yet"
    return f"the run store at {run_dir} cannot be written ({reason}): {advice}; {kept}"
