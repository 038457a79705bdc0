"""A dataset's stable id, from its class names and file list (names and sizes), without decoding."""

from __future__ import annotations

import hashlib

from .folder import FolderScan


def fingerprint(scan: FolderScan) -> str:
    """16 hex digits that change when a class, a file name or a file size changes."""
    digest = hashlib.sha256(b"lrscope-dataset-v1\n")
    digest.update(("\x1f".join(scan.classes) + "\n").encode())
    for entry in sorted(scan.entries, key=lambda e: (e.split, e.path)):
        digest.update(f"{entry.split}\x1f{entry.path}\x1f{entry.size}\n".encode())
    return digest.hexdigest()[:16]
