"""Per-step metrics kept on the device and read back in blocks, with fault checks on each block.

Reading a loss with ``.item()`` every step would make the CPU wait for the GPU
at every step; instead losses stay as device tensors and one ``stack().cpu()``
every ``interval`` seconds brings a whole block back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..events import StepsLogged

EMA_BETA = 0.9
WARMUP_STEPS = 10
MIN_TIMED_SECONDS = 0.05


@dataclass(frozen=True)
class Fault:
    """A problem found in the losses: ``kind`` is "nan_loss" or "exploding_loss"; ``lr`` the highest group LR."""

    kind: str
    step: int
    lr: float
    loss: float


class StepRecorder:
    """Buffers (step, loss, LRs, momentum) and emits StepsLogged blocks."""

    def __init__(self, emit: Callable, steps_per_epoch: int, groups: tuple[str, ...], *, interval: float = 0.1,
                 explode_factor: float = 10.0):
        self.emit, self.steps_per_epoch, self.groups = emit, steps_per_epoch, groups
        self.interval, self.explode_factor = interval, explode_factor
        self._clear()
        self._samples, self._busy, self._rate = 0, 0.0, 0.0
        self._started = time.perf_counter()
        self._ema: float | None = None
        self._first_ema: float | None = None
        self._min_ema = math.inf
        self._seen = 0
        self.epoch_losses: list[float] = []

    def _clear(self) -> None:
        self._steps: list[int] = []
        self._losses: list[torch.Tensor] = []
        self._lrs: list[list[float]] = []
        self._momenta: list[float] = []
        self._last_flush = time.perf_counter()

    def record(self, step: int, loss: torch.Tensor, lrs: list[float], momentum: float, samples: int) -> None:
        """Remember one step (the loss stays on the device; ``lrs`` as applied, one per group)."""
        if self._started is None:
            self._started = time.perf_counter()
        self._steps.append(step)
        self._losses.append(loss)
        self._lrs.append(lrs)
        self._momenta.append(momentum)
        self._samples += samples

    def due(self) -> bool:
        """Whether a block is ready to be read back."""
        return bool(self._steps) and time.perf_counter() - self._last_flush >= self.interval

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

    def flush(self) -> Fault | None:
        """Emit the buffered block; return the first fault in it, if any."""
        if not self._steps:
            return None
        losses = torch.stack(self._losses).float().cpu().numpy().astype(np.float64)
        steps, lrs = np.asarray(self._steps, dtype=np.int64), np.asarray(self._lrs, dtype=np.float64)
        event = StepsLogged(steps, losses, lrs, np.asarray(self._momenta, dtype=np.float64), self._samples_per_s(),
                            self.steps_per_epoch, self.groups)
        self._clear()
        self.emit(event)
        self.epoch_losses.extend(losses[np.isfinite(losses)].tolist())
        return self._check(steps, losses, lrs)

    def _check(self, steps: np.ndarray, losses: np.ndarray, lrs: np.ndarray) -> Fault | None:
        bad = np.flatnonzero(~np.isfinite(losses))
        if len(bad):
            i = bad[0]
            return Fault("nan_loss", int(steps[i]), float(lrs[i].max()), float(losses[i]))
        for i, loss in enumerate(losses):
            self._ema = loss if self._ema is None else EMA_BETA * self._ema + (1 - EMA_BETA) * loss
            self._seen += 1
            if self._first_ema is None:
                self._first_ema = self._ema
            if self._seen < WARMUP_STEPS:
                continue
            self._min_ema = min(self._min_ema, self._ema)
            if self.explode_factor and self._ema > self.explode_factor * self._min_ema and self._ema > 1.5 * self._first_ema:
                return Fault("exploding_loss", int(steps[i]), float(lrs[i].max()), float(loss))
        return None

    def take_epoch_loss(self) -> float:
        """Mean training loss since the last call (NaN if none)."""
        value = float(np.mean(self.epoch_losses)) if self.epoch_losses else float("nan")
        self.epoch_losses = []
        return value

    def forget_trend(self) -> None:
        """Restart the explosion check (after a rollback the old trend no longer applies)."""
        self._ema, self._first_ema, self._min_ema, self._seen = None, None, math.inf, 0
