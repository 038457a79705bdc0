"""Whether a process, named by its host and pid, still runs."""

from __future__ import annotations

import os
import socket


def process_alive(host: str | None, pid: int) -> bool:
    """Whether process ``pid`` of ``host`` still runs (assumed when it is another host's)."""
    if host != socket.gethostname():
        return True
    if pid <= 0:  # 0 and -1 would ask about the whole process group
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has ended and waits for its parent to collect it: a rank killed with SIGKILL stays one until
    torchrun's agent next looks, and signals still reach it (Linux; elsewhere False)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"  # the name, in parentheses, may hold spaces
    except (OSError, IndexError):
        return False
