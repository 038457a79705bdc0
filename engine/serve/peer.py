"""One client of a served run, and the bounded, coalescing queue of what it has yet to receive.

A client that reads slowly (or has vanished without closing) must never slow training: what it has not
taken stays here, bounded. Consecutive step blocks merge into one; a schedule change supersedes an older
one still waiting; past the bound the oldest message is dropped, and the client sees the gap in the event
numbers.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field

from ..events import Event, ScheduleChanged, StepsLogged, merge_steps
from ..protocol import to_data

MAX_PENDING = 10_000
MAX_MERGED_STEPS = 100_000


@dataclass
class Item:
    """An event to send, covering event numbers ``first``..``last`` (more than one when merged)."""

    first: int
    last: int
    event: Event
    _json: bytes | None = None

    def body(self) -> bytes:
        """The event as JSON, written once however many clients get it."""
        if self._json is None:
            self._json = json.dumps(to_data(self.event), separators=(",", ":")).encode()
        return self._json

    def frame(self) -> bytes:
        """The whole ``event`` message."""
        return b'{"op":"event","first":%d,"last":%d,"event":%s}' % (self.first, self.last, self.body())


@dataclass
class Peer:
    """A connected client: who it is, what it has been sent up to (``covered``) and what waits for it."""

    identity: bytes
    number: int
    name: str
    address: str
    live: bool = False
    covered: int = 0
    dropped: int = 0
    pending: deque = field(default_factory=deque)

    @property
    def source(self) -> str:
        """How the run records commands from this client."""
        return f"{self.name} ({self.address})" if self.address else self.name

    def push(self, item: Item) -> None:
        """Queue ``item`` unless this client already has it, coalescing with what still waits."""
        if not self.live or item.last <= self.covered:
            return
        self.covered = item.last
        tail = self.pending[-1] if self.pending else None
        if tail is not None and _mergeable(tail, item):
            self.pending[-1] = Item(tail.first, item.last, merge_steps([tail.event, item.event]))
            return
        if isinstance(item.event, ScheduleChanged):
            item = self._supersede(item)
        self.pending.append(item)
        while len(self.pending) > MAX_PENDING:
            lost = self.pending.popleft()
            self.dropped += lost.last - lost.first + 1

    def _supersede(self, item: Item) -> Item:
        """Remove an older schedule change still waiting; what follows it (or ``item``) covers its numbers."""
        for index in range(len(self.pending) - 1, -1, -1):
            old = self.pending[index]
            if isinstance(old.event, ScheduleChanged):
                del self.pending[index]
                if index < len(self.pending):
                    after = self.pending[index]
                    self.pending[index] = Item(old.first, after.last, after.event, after._json)
                    return item
                return Item(old.first, item.last, item.event, item._json)
        return item


def _mergeable(tail: Item, item: Item) -> bool:
    return (isinstance(tail.event, StepsLogged) and isinstance(item.event, StepsLogged) and tail.last + 1 == item.first
            and len(tail.event.steps) + len(item.event.steps) <= MAX_MERGED_STEPS)
