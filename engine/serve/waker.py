"""Wake a thread that waits in zmq's poll from any other thread (a socket pair: works on every platform)."""

from __future__ import annotations

import socket


class Waker:
    """``wake()`` from anywhere; register ``fileno()`` in the poller; ``clear()`` after it fired."""

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)

    def fileno(self) -> int:
        """The end to poll."""
        return self._reader.fileno()

    def wake(self) -> None:
        """Make the poll return; never blocks (a full pipe already means a wake-up is pending)."""
        try:
            self._writer.send(b"\0")
        except (BlockingIOError, OSError):
            pass

    def clear(self) -> None:
        """Forget the wake-ups received so far."""
        try:
            while self._reader.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        """Release both ends."""
        self._reader.close()
        self._writer.close()
