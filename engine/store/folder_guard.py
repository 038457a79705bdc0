"""Whether a live run's folder is still where its store writes, and writing it back when it was deleted.

An `rm -rf` of a training run's folder left the run training to its end into a deleted database: every client said
"finished", and its record was gone (helper-127). The store's connection still reads the deleted database, so its
record can be written back whole, with the folder's small files (config.json, a served run's address and token) as they
were last read. A folder moved away (to the bin, say) still holds the record: the user puts it back.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from ..atomic import write_atomically
from .database import DB_NAME
from .lock import LOCK_NAME

SMALL = 64 * 1024  # a run folder's own files are a few hundred bytes; a large one is not the run's to keep
NOT_KEPT = {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", LOCK_NAME}  # the database is copied from the connection


class FolderMoved(OSError):
    """The run's database is no longer at its path, but lives on elsewhere (its folder was moved or renamed)."""


class FolderGuard:
    """Watches one run folder from its store's writer thread."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.db_path = self.run_dir / DB_NAME
        self._fd = os.open(self.db_path, os.O_RDONLY)  # the database file itself, wherever its name goes
        self._files: dict[str, tuple[bytes, int]] = {}
        self._read_at: int | None = None
        self.keep_files()

    def keep_files(self) -> None:
        """Read the folder's small files again when its entries changed since the last read (a served run writes its
        address once it listens). One stat when nothing changed."""
        changed = os.stat(self.run_dir).st_mtime_ns
        if changed == self._read_at:
            return
        files = {}
        for entry in os.scandir(self.run_dir):
            try:
                if entry.name not in NOT_KEPT and entry.is_file(follow_symlinks=False) and entry.stat().st_size <= SMALL:
                    files[entry.name] = (Path(entry.path).read_bytes(), entry.stat().st_mode & 0o777)
            except OSError:  # gone meanwhile: the next read takes the folder as it is then
                continue
        self._files, self._read_at = files, changed

    def deleted(self) -> bool:
        """True when the database was deleted; FolderMoved when it lives on under another name or another file took its
        place; False while it is in place."""
        try:
            if os.path.samestat(os.stat(self.db_path), os.fstat(self._fd)):
                return False
        except FileNotFoundError:
            pass
        if os.fstat(self._fd).st_nlink > 0:
            where = self._moved_to()
            raise FolderMoved(errno.ENOENT, "its folder was moved away while the run trained" + (f", to {where}" if where else ""),
                              str(self.db_path))
        if self.db_path.exists():  # never written over: that file is someone's
            raise FolderMoved(errno.ENOENT, "replaced by another file while the run trained; move that file away",
                              str(self.db_path))
        return True

    def _moved_to(self) -> str:
        """Where the database's folder is now, when the system says ("" when it does not: /proc is Linux's)."""
        try:
            return str(Path(os.readlink(f"/proc/self/fd/{self._fd}")).parent)
        except OSError:
            return ""

    def write_back(self, db: sqlite3.Connection) -> None:
        """Make the folder again with its small files and a copy of the database read through ``db`` (not in a
        transaction); from then on this guard watches the copy."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for name, (data, mode) in self._files.items():
            path = self.run_dir / name
            if not path.exists():  # its mode set before its bytes go in: a token is never readable by others
                write_atomically(path, lambda tmp, data=data, mode=mode: (os.chmod(tmp, mode), tmp.write_bytes(data)))
        copy = self.run_dir / f".{DB_NAME}.written-back"
        copy.unlink(missing_ok=True)
        db.execute("VACUUM INTO ?", (str(copy),))
        os.replace(copy, self.db_path)
        self.close()
        self._fd = os.open(self.db_path, os.O_RDONLY)
        self._read_at = None

    def close(self) -> None:
        os.close(self._fd)
