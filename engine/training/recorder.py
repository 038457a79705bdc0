"""Per-step metrics kept on the device and read back in blocks.

Reading a loss with ``.item()`` every step would make the CPU wait for the GPU
at every step; instead losses stay as device tensors and one ``stack().cpu()``
every ``interval`` seconds brings a whole block back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from ..events import StepsLogged

MIN_TIMED_SECONDS = 0.05


class StepRecorder:
    """Buffers (step, loss, LRs, momentum) and emits StepsLogged blocks."""

    def __init__(self, emit: Callable, steps_per_epoch: int, groups: tuple[str, ...], *, interval: float = 0.1):
        self.emit, self.steps_per_epoch, self.groups = emit, steps_per_epoch, groups
        self.interval = interval
        # A distributed run averages each block's losses over the ranks and counts every rank's samples.
        self.reduce: Callable[[torch.Tensor], torch.Tensor] = lambda losses: losses
        self.processes = 1
        self._clear()
        self._samples, self._busy, self._rate = 0, 0.0, 0.0
        self._started: float | None = None  # the first step starts it
        self._epoch_total, self._epoch_count = 0.0, 0

    def _clear(self) -> None:
        self._steps: list[int] = []
        self._losses: list[torch.Tensor] = []
        self._lrs: list[list[float]] = []
        self._momenta: list[float] = []
        self._last_flush = time.perf_counter()

    def discard(self) -> None:
        """Drop the buffered steps unread (a distributed rank cannot join the block's all-reduce after out of memory)."""
        self._clear()

    def record(self, step: int, loss: torch.Tensor, lrs: list[float], momentum: float, samples: int) -> None:
        """Remember one step (the loss stays on the device; ``lrs`` as applied, one per group)."""
        self._steps.append(step)
        self._losses.append(loss)
        self._lrs.append(lrs)
        self._momenta.append(momentum)
        self._samples += samples * self.processes

    def due(self) -> bool:
        """Whether a block is ready to be read back."""
        return bool(self._steps) and time.perf_counter() - self._last_flush >= self.interval

    def start_clock(self) -> None:
        """A step begins: time it from here if the clock was paused. Restarted at ``record()``, after the step had
        computed, the first step after a pause (a λmax measurement, validation) counted no time: a resumed run that
        measured at its first step showed 8,836 samples/s while it trained 77."""
        if self._started is None:
            self._started = time.perf_counter()

    def pause_clock(self) -> None:
        """Exclude the time until the next step from samples/s (validation, pauses, range tests)."""
        if self._started is not None:
            self._busy += time.perf_counter() - self._started
            self._started = None

    def _samples_per_s(self) -> float:
        now = time.perf_counter()
        busy = self._busy + (now - self._started if self._started is not None else 0.0)
        # A block of a step or two right after a pause is too short to time: keep the last rate.
        if busy >= MIN_TIMED_SECONDS or self._rate == 0.0:
            self._rate = self._samples / busy if busy > 0 else 0.0
            self._samples, self._busy = 0, 0.0
        self._started = now
        return self._rate

    def flush(self) -> StepsLogged | None:
        """Read the buffered block back, emit it and return it (None when nothing was buffered)."""
        if not self._steps:
            return None
        losses = self.reduce(torch.stack(self._losses).float()).cpu().numpy().astype(np.float64)
        event = StepsLogged(np.asarray(self._steps, dtype=np.int64), losses, np.asarray(self._lrs, dtype=np.float64),
                            np.asarray(self._momenta, dtype=np.float64), self._samples_per_s(), self.steps_per_epoch,
                            self.groups)
        self._clear()
        self.emit(event)
        self._add_to_epoch(losses[np.isfinite(losses)].tolist())
        return event

    def _add_to_epoch(self, losses: list[float]) -> None:
        # One by one in step order, whatever the blocks: an epoch resumed from a checkpoint's running sum adds up
        # to the very value the uninterrupted run would have.
        for loss in losses:
            self._epoch_total += loss
        self._epoch_count += len(losses)

    def take_epoch_loss(self) -> float:
        """Mean training loss of the epoch's steps recorded so far (NaN if none); the next epoch starts empty."""
        value = self._epoch_total / self._epoch_count if self._epoch_count else float("nan")
        self.restore_epoch(None)
        return value

    def epoch_state(self) -> dict[str, float | int]:
        """The epoch's running sum of finite losses and their count, as plain data (kept in checkpoints)."""
        return {"total": self._epoch_total, "count": self._epoch_count}

    def restore_epoch(self, state: dict[str, float | int] | None) -> None:
        """Continue the epoch from ``state`` (an ``epoch_state()``; None: an epoch that starts empty)."""
        self._epoch_total, self._epoch_count = (float(state["total"]), int(state["count"])) if state else (0.0, 0)
