"""Text safe to print, store and show: what a hostile file or folder name cannot break."""

from __future__ import annotations

import re

# Lone surrogates (bytes of a file name that are not UTF-8, as os.fsdecode keeps them, or a "\ud800" in JSON)
# cannot be encoded to print or store; control characters would break a one-line message or drive the terminal.
_UNSHOWABLE = re.compile("[\ud800-\udfff\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with undecodable bytes and control characters shown as U+FFFD (the identity for ordinary text)."""
    return _UNSHOWABLE.sub("\ufffd", text)


def name_bytes(text: str) -> bytes:
    """The bytes of a file name as the OS gave them (``os.fsencode`` on POSIX), for hashing."""
    return text.encode("utf-8", "surrogateescape")
