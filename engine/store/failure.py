"""Why a run store could not write, and what the user can do about it, in one line."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from ..errors import first_line

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


def describe_failure(run_dir: Path, error: BaseException) -> str:
    """'the run store at … cannot be written (reason): what to do' for an OSError or an SQLite error."""
    run_dir = Path(run_dir)
    reason = first_line(error)
    code = getattr(error, "errno", None)
    lowered = reason.lower()
    # torch.save reports a short write as "unexpected pos …" with no errno: the disk or a file-size limit refused it.
    if code in FULL or any(word in lowered for word in ("full", "too large", "unexpected pos")):
        advice = f"free space on the disk that holds {run_dir.parent} ({_free_space(run_dir.parent)})"
    elif code in DENIED or "readonly" in lowered or "read-only" in lowered:
        advice = f"make {run_dir} writable"
    elif not run_dir.is_dir():
        advice = f"its folder {run_dir} was removed or its disk unmounted; put it back"
    else:
        advice = f"check the disk that holds {run_dir}"
    return f"the run store at {run_dir} cannot be written ({reason}): {advice}; what was written stays resumable"
