"""Commands reach every rank at the same step, riding on the all-reduce each block of steps already has.

Only rank 0 hears commands (from the window, `lrscope ctl`, Ctrl-C). They wait in its *incoming*
inbox. Every rank reads its step losses back in blocks and averages them over the ranks with one
all-reduce; rank 0 adds three numbers to that all-reduce (the others add zeros): the size of the
commands waiting (0 almost always), whether a timed checkpoint is due, and how many steps the next
block holds (its clock's choice, about ``interval`` seconds of steps). Only when commands wait does a
broadcast carry them, as protocol JSON (plain data, never pickles). Every rank hands them to its job
when the next step starts, so each applies them at the same step boundary, and every rank flushes its
next block and its timed checkpoint at the same step.

A step costs nothing extra: no collective runs between blocks. (A broadcast every step, the first
design, cost 13-15 % of the steps/s of 2 CPU processes on 2 cores: its gloo thread wakes on every
step, on cores the training already fills.) Commands wait at most one block, about ``interval``.

While paused, the job waits on its inbox; ``SyncedInbox.wait`` then runs a round of its own (the size
of the commands waiting, then the commands), so a resume or stop reaches everyone.
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

# What rank 0 adds to each block's all-reduce: payload bytes, timed checkpoint due, steps in the next block.
HEADER = 3
MAX_BLOCK_STEPS = 1000


class CommandSync:
    """STEP_STARTED handler and the step recorder's reduce: blocks of steps agreed by every rank, commands with them."""

    def __init__(self, world: World, incoming: Inbox | None, inbox: Inbox, interval: float):
        self.world, self.incoming, self.inbox, self.interval = world, incoming, inbox, interval
        self.block_steps = 1  # the first block is one step: rank 0 has no step time yet to size it
        self._steps = 0  # steps since the last block
        self._job = None
        self._last_block = time.perf_counter()
        self._checkpoint_next = False
        self._checkpoint_asked = -math.inf
        self._arrived: list[Command] = []  # shared at the last block, handed to the job when the next step starts

    def __call__(self, job, info) -> None:
        """A step starts: the commands shared at the last block go to the job (applied at the step boundary after this
        step, on every rank); the recorder reads back when the agreed block is full; a checkpoint agreed then is due."""
        self._job = job
        self._steps += 1
        for command in self._arrived:
            self.inbox.send(command)
        self._arrived.clear()
        job.recorder.interval = 0.0 if self._steps >= self.block_steps else math.inf
        job.timed_checkpoint_due, self._checkpoint_next = self._checkpoint_next, False

    def hand_over(self, job, ended: str) -> None:
        """RUN_ENDED: the commands that will never reach a step (shared at the last block, or still waiting on rank 0)
        go to the job's inbox, which answers them as the run ends; no collective runs here, the ranks are parting."""
        for command in [*self._arrived, *(self.incoming.drain() if self.incoming is not None else [])]:
            self.inbox.send(command)
        self._arrived.clear()

    def reduce(self, losses: torch.Tensor) -> torch.Tensor:
        """The block's losses averaged over every rank, rank 0's header riding in the same all-reduce; commands it
        announced are shared now, and handed to the job when the next step starts."""
        header = torch.zeros(HEADER, dtype=torch.float64)
        payload = b""
        if self.world.leader:
            payload = self._outgoing(0.0)
            header[0], header[1], header[2] = len(payload), int(self._checkpoint_due()), self._next_block_steps()
        both = torch.cat([losses.detach().to("cpu", torch.float64), header])
        dist.all_reduce(both, group=control_group())
        size, checkpoint, steps = (int(value) for value in both[-HEADER:].tolist())
        if size:
            # Not into the job's inbox yet: a block is also read at an epoch's end, where a stop would cut the validation
            # short and go unanswered; from the next step on, every rank applies them at the same boundary.
            self._arrived.extend(self._share(payload, size))
        self.block_steps, self._steps, self._last_block = max(1, steps), 0, time.perf_counter()
        self._checkpoint_next = bool(checkpoint)
        return (both[:-HEADER] / self.world.size).to(losses.dtype)

    def round_now(self, wait: float) -> None:
        """Commands now, outside the blocks (while paused, between a range test's iterations): rank 0 waits up to
        ``wait`` s for one, broadcasts their size, then them."""
        payload = self._outgoing(wait) if self.world.leader else b""
        size = torch.tensor([len(payload)], dtype=torch.int64)
        dist.broadcast(size, 0, group=control_group())
        if int(size):
            for command in self._share(payload, int(size)):
                self.inbox.send(command)

    def _next_block_steps(self) -> int:
        """Rank 0: how many steps make about ``interval`` seconds, at the speed of the block just read."""
        per_step = (time.perf_counter() - self._last_block) / max(1, self._steps)
        return int(min(MAX_BLOCK_STEPS, max(1, round(self.interval / per_step)))) if per_step > 0 else 1

    def _checkpoint_due(self) -> bool:
        """Rank 0: whether the job's checkpoint_seconds passed since its last checkpoint (or since it was last asked for)."""
        job = self._job
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
        dist.broadcast(data, 0, group=control_group())
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
