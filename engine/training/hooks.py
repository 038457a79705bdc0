"""Where handlers attach to a training job, and how often they run (Ignite-style events with a cadence).

    job.add_handler(Hook.AFTER_BACKWARD, grad_norms, every=50)

A handler is called as ``handler(job, payload)`` on the training thread; what the
payload is depends on the hook (below). ``every=N`` runs it on every N-th step
(epoch, block): the check is one modulo, so a handler costs nothing on the other
steps. Handlers must not read tensors back to the host on every step (that waits
for the GPU); keep them on the device and read them in blocks, as the recorder does.
An exception in a handler fails the run like any other bug.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


class Hook(enum.Enum):
    """Points of a run where handlers are called; the comment says what each receives."""

    RUN_STARTED = "run_started"  # None: RunStarted and the schedule were emitted, no step trained yet
    STEP_STARTED = "step_started"  # StepInfo (loss None): the batch is in hand, the step's LRs not yet set
    AFTER_BACKWARD = "after_backward"  # StepInfo: gradients exist (unscaled under AMP), the weights have not moved
    STEP_COMPLETED = "step_completed"  # StepInfo: the weights are updated; job.step already counts this step
    BLOCK_FLUSHED = "block_flushed"  # StepsLogged: a block of steps read back from the device and emitted
    EPOCH_COMPLETED = "epoch_completed"  # EpochEnded: validation of the epoch is done and emitted
    RUN_ENDED = "run_ended"  # str: the state the run is about to end in (finished, stopped, failed)


# How a hook's cadence counts: steps (1-based), epochs (1-based), blocks flushed; the run hooks fire once.
PER_RUN = (Hook.RUN_STARTED, Hook.RUN_ENDED)


@dataclass
class StepInfo:
    """The step being trained: its index, its batch and (from AFTER_BACKWARD on) its loss, detached, on the device."""

    step: int
    images: torch.Tensor
    labels: torch.Tensor
    loss: torch.Tensor | None = None

    @property
    def samples(self) -> int:
        """Images in the batch."""
        return len(self.labels)


Handler = Callable[[Any, Any], None]


class Handlers:
    """The handlers of each hook, in the order they were added, with their cadence."""

    def __init__(self):
        self._table: dict[Hook, list[tuple[int, Handler]]] = {hook: [] for hook in Hook}

    def add(self, hook: Hook, handler: Handler, every: int = 1) -> None:
        """Call ``handler`` at ``hook`` every ``every``-th time it comes (ValueError for a bad cadence)."""
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a whole number from 1, got {every!r}")
        if hook in PER_RUN and every != 1:
            raise ValueError(f"{hook.name} comes once per run; it takes no cadence")
        self._table[Hook(hook)].append((every, handler))

    def has(self, hook: Hook) -> bool:
        """Whether any handler is attached at ``hook``."""
        return bool(self._table[hook])

    def fire(self, hook: Hook, job, payload: Any, count: int = 1) -> None:
        """Call the handlers of ``hook`` whose cadence divides ``count``."""
        for every, handler in self._table[hook]:
            if count % every == 0:
                handler(job, payload)
