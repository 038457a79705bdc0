"""Data-loading workers that end with the process they load for.

A worker forked by multiprocessing's forkserver is the forkserver's child, not the training process's, and PyTorch's
own watchdog checks the worker's parent: after a ``kill -9`` (or the out-of-memory killer) of a run that streamed its
images, its two workers stayed behind for good, about 525 MB each, with the forkserver that had forked them.
"""

from __future__ import annotations

import os
import select
import threading
import time

POLL_S = 1.0  # where the kernel has no pidfd (before Linux 5.3): how often the worker looks for its process


def die_with(pid: int, worker_id: int = 0) -> None:
    """DataLoader ``worker_init_fn``: a daemon thread ends this worker as soon as process ``pid`` is gone."""
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux, or an old kernel: look every POLL_S
        threading.Thread(target=_poll, args=(pid,), name="lrscope-die-with-poll", daemon=True).start()
        return
    threading.Thread(target=_wait, args=(handle,), name="lrscope-die-with", daemon=True).start()


def _wait(handle: int) -> None:
    select.select([handle], [], [])  # readable once the process has exited
    os._exit(0)  # no cleanup to run: the process the worker loaded for is gone


def _poll(pid: int) -> None:
    while _alive(pid):
        time.sleep(POLL_S)
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user took the number: ours is gone
        return False
    return True
