"""One owner per run: an OS lock on the run folder, naming the process that holds it.

filelock takes an ``flock`` on Linux and macOS and a ``msvcrt`` lock on Windows: the OS releases it
when the owner exits, however it exits (even SIGKILL), so a lock is never left stale the way a pid
file is; and it is the library pip, virtualenv and torch's hub already rely on. The owner writes its
pid and host into the lock file once it holds the lock, so a refusal can say who owns the run.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import RunStoreError
from ..files import NotARegularFile, read_limited, refuse_unless_regular_or_absent

LOCK_NAME = "lock"


class RunInUse(RunStoreError):
    """Another process owns the run (it is training or resuming it)."""


def _write_owner(fd: int) -> None:
    owner = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, owner, 0)


def owner_of(run_dir: Path) -> dict:
    """What the lock file says about its holder ({} when it cannot be read)."""
    try:
        owner = json.loads(read_limited(Path(run_dir) / LOCK_NAME, 4096))
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


class RunLock:
    """The lock of one run folder; ``acquire`` refuses at once (RunInUse) when another process holds it."""

    def __init__(self, run_dir: Path, what: str = "run"):
        self.run_dir, self.what = Path(run_dir), what  # what: "tune" for a tune's folder, which a resumed tune locks too
        self._lock = FileLock(self.run_dir / LOCK_NAME, timeout=0, thread_local=False, on_acquired=_write_owner)

    def acquire(self, then: str = "resume again") -> RunLock:
        """Take the lock; RunInUse names the owner and says to stop it, ``then`` what to do."""
        path = self.run_dir / LOCK_NAME
        try:
            refuse_unless_regular_or_absent(path)  # filelock truncates what it opens: never another file through a link
        except NotARegularFile as error:
            raise RunStoreError(f"{path}: {error}; an lrscope lock is a plain file, delete this one and try again") from None
        try:
            self._lock.acquire()
        except Timeout:
            raise RunInUse(self._refusal(then)) from None
        except OSError as error:
            raise RunStoreError(f"{self.run_dir}: cannot be locked ({error.strerror}); check the folder's permissions") from None
        return self

    def release(self) -> None:
        """Give the run up (nothing happens when it is not held)."""
        if self._lock.is_locked:
            self._lock.release()

    def _refusal(self, then: str) -> str:
        owner = owner_of(self.run_dir)
        pid, host = owner.get("pid", "?"), owner.get("host", "?")
        where = "" if host == socket.gethostname() else f" on {host}"
        doing = "training or resuming this run" if self.what == "run" else f"running this {self.what}"
        return (f"{self.run_dir.name}: is in use by process {pid}{where} (it is {doing}); "
                f"wait for it to end, or stop it (Ctrl-C in its terminal, or kill {pid}) and {then}")


def ensure_free(run_dir: Path) -> None:
    """RunInUse at once when another process owns ``run_dir`` (a check before slow work; the store locks for real)."""
    lock = RunLock(run_dir).acquire()
    lock.release()
