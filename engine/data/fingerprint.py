"""A dataset's stable id, from its class names and file list (names and sizes), without decoding."""

from __future__ import annotations

import hashlib

from ..text import name_bytes
from .folder import FolderScan


def fingerprint(scan: FolderScan) -> str:
    """16 hex digits that change when a class, a file name or a file size changes.

    Names are hashed as the bytes the OS gave (a name that is not UTF-8 is legal on Linux); for
    UTF-8 names those are the bytes hashed since the first version, so fingerprints did not change.
    """
    digest = hashlib.sha256(b"lrscope-dataset-v1\n")
    digest.update(name_bytes("\x1f".join(scan.classes) + "\n"))
    for entry in sorted(scan.entries, key=lambda e: (e.split, e.path)):
        digest.update(name_bytes(f"{entry.split}\x1f{entry.path}\x1f{entry.size}\n"))
    return digest.hexdigest()[:16]
