"""Run a range test on a training session: snapshot, test, restore (in ``finally``), report."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from itertools import count

import torch

from ..curvature.probe import measure_at_start, sweep_bound
from ..events import Event, RangeTestFinished, RangeTestProgress, RangeTestStarted
from ..schedules.timeline import Timeline
from ..schedules.torch_adapter import group_multipliers
from ..training.evaluate import evaluate
from ..training.session import Session
from ..training.state import capture, preserved, restore
from ..training.step import train_step
from .probe import run_probe
from .result import RangeTestResult
from .settings import RangeTestSettings
from .sweep import run_sweep

# Augmentation of range-test batches is drawn from steps no run reaches.
STEP_OFFSET = 10**12


def _batches(session: Session, index: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless training batches in an order of their own, so the run's data position is untouched."""
    for round_ in count():
        yield from session.train.iterate(-1 - index * 1000 - round_)


def _trainer(session: Session, multipliers: list[float], batches: Iterator) -> Callable[[float, int], torch.Tensor]:
    def train_at(lr: float, iteration: int) -> torch.Tensor:
        for group, multiplier in zip(session.optimizer.param_groups, multipliers):
            group["lr"] = lr * multiplier
        images, labels = next(batches)
        return train_step(session, images, labels, STEP_OFFSET + iteration)
    return train_at


def _estimate(settings: RangeTestSettings, step_seconds: float, eval_seconds: float) -> float:
    if settings.mode == "probe":
        return settings.probe_count * (settings.probe_steps * step_seconds + settings.probe_eval_batches * eval_seconds)
    return settings.iterations * (step_seconds + (settings.val_batches * eval_seconds if settings.validation else 0.0))


def _announcing(train_at, announce: Callable[[float], None]) -> Callable[[float, int], torch.Tensor]:
    """``train_at`` that times its first call and announces it, so a sweep spends no step on its estimate."""
    first = [True]

    def timed(lr: float, iteration: int) -> torch.Tensor:
        if not first[0]:
            return train_at(lr, iteration)
        first[0] = False
        started = time.perf_counter()
        loss = train_at(lr, iteration)
        float(loss)
        announce(time.perf_counter() - started)
        return loss
    return timed


def _time_step(train_at, session: Session) -> tuple[float, float]:
    """Seconds per training step and per validation batch, measured on two steps each (then undone)."""
    state = capture(session)
    started = time.perf_counter()
    for i in range(2):
        float(train_at(1e-12, i))
    step = (time.perf_counter() - started) / 2
    started = time.perf_counter()
    evaluate(session, session.val, limit=1)
    restore(session, state)
    return step, time.perf_counter() - started


def run_range_test(session: Session, settings: RangeTestSettings | None, emit: Callable[[Event], None],
                   timeline: Timeline | None = None, *, cancelled: Callable[[], bool] = lambda: False,
                   index: int = 0, step: int = 0) -> RangeTestResult | None:
    """Run a sweep or probe from the session's current weights, then restore everything exactly.

    Progress goes to ``emit`` as RangeTestStarted / RangeTestProgress / RangeTestFinished.
    """
    settings = (settings or RangeTestSettings()).resolved()
    multipliers = group_multipliers(session.optimizer, timeline) if timeline else [1.0] * len(session.optimizer.param_groups)
    batches = _batches(session, index)
    train_at = _trainer(session, multipliers, batches)
    read_every = 1 if session.device.type == "cpu" else 8
    result = None
    started = time.perf_counter()
    curvature = None
    try:
        with preserved(session):
            if settings.curvature:
                curvature = measure_at_start(session, step)
                emit(curvature)
            session.model.train()
            progress = lambda lrs, losses, smoothed: emit(RangeTestProgress(lrs, losses, smoothed))
            if settings.mode == "probe":
                step_seconds, eval_seconds = _time_step(train_at, session)
                emit(RangeTestStarted(settings.mode, settings.to_dict(), _estimate(settings, step_seconds, eval_seconds), step))
                snapshot = capture(session)
                score = lambda: evaluate(session, session.val, limit=settings.probe_eval_batches, batch_statistics=True)[0]
                curve = run_probe(lambda: restore(session, snapshot), train_at, score, settings, progress=progress, cancelled=cancelled)
            else:
                check = (lambda: evaluate(session, session.val, limit=settings.val_batches, batch_statistics=True)[0]) if settings.validation else None
                announced = _announcing(train_at, lambda seconds: emit(RangeTestStarted(
                    settings.mode, settings.to_dict(), _estimate(settings, seconds, seconds), step)))
                curve = run_sweep(announced, settings, evaluate=check, progress=progress, cancelled=cancelled, read_every=read_every)
        result = RangeTestResult.from_curve(settings.mode, settings.to_dict(), curve, time.perf_counter() - started)
        if curvature is not None:
            result = dataclasses.replace(result, curvature={**curvature.to_dict(), "lr_bound": sweep_bound(curvature, multipliers)})
    finally:
        cancelled_now = result is None or result.stop_reason == "cancelled"
        emit(RangeTestFinished(result, cancelled_now, _summary(result), step))
    return result


def _summary(result: RangeTestResult | None) -> str:
    if result is None:
        return "the range test failed before it recorded a point"
    recommendation = result.recommendation
    if recommendation is None:
        return "; ".join(result.notes) or "no suggestion"
    return (f"constant LR {recommendation.constant_lr:.3g} ({recommendation.constant_method}); "
            f"one-cycle max LR {recommendation.one_cycle_max_lr:.3g} ({recommendation.one_cycle_method})")
