"""Atomic file writes: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .files import NotARegularFile, refuse_to_replace


def _mode_of_new_files() -> int:
    """The mode open() gives a new file here (0o666 less the umask). Read once, at import: reading the umask means
    setting it, which another thread creating a file meanwhile would feel."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


# mkstemp makes its file 0600; a schedule file or a CSV is meant to be shared as any file the user writes is.
NEW_FILE_MODE = _mode_of_new_files()


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)``, fsync, and rename onto ``path``; a crash leaves the old file or the new one.
    NotARegularFile (an OSError) when ``path`` is a device, FIFO, socket or folder, or a link to one."""
    path = Path(path)
    try:
        refuse_to_replace(path)
    except NotARegularFile as error:
        raise NotARegularFile(errno.EEXIST, str(error), str(path)) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from error
    os.close(fd)
    try:
        os.chmod(tmp, NEW_FILE_MODE)
        write(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:  # said of the file asked for, not of the temporary one nobody named
        Path(tmp).unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror, str(path)) from error
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
