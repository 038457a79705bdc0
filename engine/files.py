"""Reading files that may be hostile: only regular files, never blocking on a FIFO, never more than a limit."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


CHUNK = 1024**2


class NotARegularFile(OSError):
    """The path names something other than a regular file; the message says what it is."""


class TooLarge(OSError):
    """The file holds more bytes than the caller reads."""


def open_regular(path: Path | str) -> BinaryIO:
    """``path`` opened for binary reading; NotARegularFile for a folder, FIFO, device or socket.

    The file is opened without blocking (opening a FIFO would otherwise wait for a writer forever)
    and its type is taken from the open descriptor, so a swap between check and use changes nothing.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(f"is {_kind(mode)}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    return next((name for test, name in KINDS if test(mode)), "not a regular file")


def refuse_unless_regular_or_absent(path: Path | str) -> None:
    """NotARegularFile when ``path`` exists as anything but a regular file, a symbolic link included.

    For a file about to be written in a folder that came from elsewhere: writing through a link
    would change the file it points to.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise NotARegularFile("is a symbolic link, not a regular file")
    if not stat.S_ISREG(mode):
        raise NotARegularFile(f"is {_kind(mode)}, not a regular file")


def refuse_to_replace(path: Path | str) -> None:
    """NotARegularFile when a new file written in ``path``'s place would remove what is not a file: a device, FIFO,
    socket or folder, or a link to one (run as root, an export to /dev/full replaced the device with a file). A file, or
    a link to a file, is replaced as an atomic write does."""
    for mode_of in (os.lstat, os.stat):  # the name, then what a link names
        try:
            mode = mode_of(path).st_mode
        except OSError:  # absent, a dangling link, or unreadable: the write itself says what is wrong
            return
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            raise NotARegularFile(f"is {_kind(mode)}, not a regular file")


def read_limited(path: Path | str, limit: int) -> bytes:
    """The bytes of the regular file ``path``; TooLarge when it holds more than ``limit`` (nothing more is read)."""
    chunks, total = [], 0
    with open_regular(path) as handle:
        # In blocks: read(limit) would reserve the whole limit even for a small file.
        while total <= limit and (chunk := handle.read(min(CHUNK, limit + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
    if total > limit:
        raise TooLarge(f"holds more than {limit:,} bytes")
    return b"".join(chunks)
