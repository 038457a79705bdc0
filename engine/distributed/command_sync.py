"""Commands reach every rank at the same step: a handler that runs one tiny broadcast per step.

Only rank 0 hears commands (from the window, `lrscope ctl`, Ctrl-C). They wait in its *incoming*
inbox; at the start of each step rank 0 broadcasts three numbers — the size of the commands waiting
(0 almost always), whether the step block is due to be read back and whether a timed checkpoint is
due — and only when something waits,
the commands themselves, as protocol JSON (plain data, never pickles). Every rank then puts them in
its own job inbox, so each applies them at the same step boundary. The broadcast travels while the
step trains (it is waited for at the next one), so it costs no waiting.

The same header keeps the step blocks in step: every rank reads its losses back at the step rank 0's
clock chose, averages them over the ranks there (one all-reduce per block, not per step), and so takes
the same fault decision. Its third number does the same for the timed checkpoint, which reads the block
back too: rank 0's clock says when, every rank flushes at that step (only rank 0 writes). While paused, the job waits on its inbox; ``SyncedInbox.wait`` runs the same
round then, so a resume or stop reaches everyone.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..commands import Command, Inbox
from ..protocol import from_data, to_data
from .world import World, control_group

# The header every step: payload bytes, block due, timed checkpoint due.
HEADER = 3


class CommandSync:
    """STEP_STARTED handler: one broadcast of (payload size, block due) from rank 0, then the payload if any.

    The broadcast is started at one step and waited for at the next, so its latency hides behind the step
    (whose gradient all-reduce has brought the ranks together anyway): commands sent during step k are
    applied at the boundary after step k + 1, on every rank.
    """

    def __init__(self, world: World, incoming: Inbox | None, inbox: Inbox, interval: float):
        self.world, self.incoming, self.inbox, self.interval = world, incoming, inbox, interval
        self.group = control_group()
        self._in_flight: tuple | None = None
        self._last_block = time.perf_counter()
        self._checkpoint_asked = -math.inf

    def __call__(self, job, info) -> None:
        due, checkpoint = self.round(job)
        # What the recorder's clock would say, decided once by rank 0: every rank reads back the same steps.
        job.recorder.interval = 0.0 if due else math.inf
        job.timed_checkpoint_due = checkpoint

    def round(self, job=None) -> tuple[bool, bool]:
        """Finish the round started at the last step (delivering its commands), start the next (rank 0 asking for a
        timed checkpoint of ``job`` when one is due); whether a block and a timed checkpoint are due now."""
        due = self.finish()
        self._start(job=job)
        return due

    def round_now(self, wait: float) -> None:
        """A whole round at once, rank 0 waiting up to ``wait`` s for a command first (while the run is paused)."""
        self.finish()
        self._start(wait)
        self.finish()

    def finish(self) -> tuple[bool, bool]:
        """Wait for the round in flight and deliver its commands to the job inbox; whether it said a block and a
        timed checkpoint are due."""
        if self._in_flight is None:
            return False, False
        work, header, payload = self._in_flight
        self._in_flight = None
        work.wait()
        size, due, checkpoint = int(header[0]), bool(header[1]), bool(header[2])
        if size:
            for command in self._share(payload, size):
                self.inbox.send(command)
        return due, checkpoint

    def _start(self, wait: float = 0.0, job=None) -> None:
        header = torch.zeros(HEADER, dtype=torch.int64)
        payload = b""
        if self.world.leader:
            payload = self._outgoing(wait)
            now = time.perf_counter()
            due = now - self._last_block >= self.interval
            if due:
                self._last_block = now
            header[0], header[1], header[2] = len(payload), int(due), int(self._checkpoint_due(job))
        self._in_flight = (dist.broadcast(header, 0, group=self.group, async_op=True), header, payload)

    def _checkpoint_due(self, job) -> bool:
        """Rank 0: whether the job's checkpoint_seconds passed since its last checkpoint (or since it was last asked for)."""
        seconds = 0.0 if job is None else job.config.checkpoint_seconds
        now = time.monotonic()
        if not seconds or now - max(job.checkpointed_at, self._checkpoint_asked) < seconds:
            return False
        self._checkpoint_asked = now
        return True

    def _outgoing(self, wait: float) -> bytes:
        commands = self.incoming.drain()
        if not commands and wait > 0:
            first = self.incoming.wait(wait)
            commands = [first, *self.incoming.drain()] if first is not None else []
        return json.dumps([to_data(command) for command in commands]).encode() if commands else b""

    def _share(self, payload: bytes, size: int) -> list[Command]:
        data = torch.frombuffer(bytearray(payload), dtype=torch.uint8) if payload else torch.empty(size, dtype=torch.uint8)
        dist.broadcast(data, 0, group=self.group)
        items = json.loads(bytes(data.numpy()).decode())
        return [from_data(item, Command, f"commands[{index}]") for index, item in enumerate(items)]


@dataclass
class SyncedInbox(Inbox):
    """A rank's job inbox in a distributed run: filled only by the command sync; waiting (while paused) runs its rounds."""

    sync: CommandSync | None = None

    def poll(self) -> None:
        """One whole round now (between a range test's iterations, which every rank runs in step)."""
        self.sync.round_now(0.0)

    def wait(self, timeout: float | None = None) -> Command | None:
        """A command already shared, else the next one rank 0 shares within ``timeout`` seconds (None if none)."""
        shared = self.drain()
        if not shared:
            self.sync.round_now(timeout or 0.0)
            shared = self.drain()
        for command in shared[1:]:  # back in order, for the next call
            self._queue.put(command)
        return shared[0] if shared else None
