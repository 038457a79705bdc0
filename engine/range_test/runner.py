"""Run a range test on a training session: snapshot, test (once or repeated), restore (in ``finally``), report."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from itertools import count

import numpy as np
import torch

from ..curvature.probe import binding_group, measure_at_start, sweep_bound
from ..data.split import batch_past_the_data
from ..distributed.reduce import mean_over_ranks
from ..events import Event, RangeTestFinished, RangeTestProgress, RangeTestStarted
from ..optim import is_adaptive
from ..schedules.timeline import Timeline
from ..training.evaluate import evaluate
from ..training.freezing import Freezer, frozen_now
from ..training.session import Session
from ..training.state import capture, preserved, restore
from ..training.step import train_step
from .pace import Pace
from .probe import run_probe
from .result import RangeTestResult
from .settings import RangeTestSettings
from .suggestions import ADAPTIVE_SWEEP_NOTE, CLASS_MIX_MARGIN, class_mix_note, whole_data_note
from .sweep import Curve, run_sweep

# Augmentation of range-test batches is drawn from steps no run reaches; each repeat from its own.
STEP_OFFSET = 10**12
REPEAT_STEPS = 10**7
# Batch orders: each range test of a job, and each repeat of it, has its own block of "epochs".
ORDERS_PER_REPEAT = 1000
ORDERS_PER_TEST = 100 * ORDERS_PER_REPEAT


def _batches(session: Session, index: int, repeat: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless training batches in an order of their own, so the run's data position is untouched."""
    for round_ in count():
        yield from session.train.iterate(-1 - index * ORDERS_PER_TEST - repeat * ORDERS_PER_REPEAT - round_)


def _trainer(session: Session, multipliers: dict[str, float], batches: Iterator, offset: int) -> Callable[[float, int], torch.Tensor]:
    def train_at(lr: float, iteration: int) -> torch.Tensor:
        for group in session.optimizer.param_groups:
            group["lr"] = lr * multipliers[group["name"]]
        images, labels = next(batches)
        # Under DDP every rank sweeps its shard; the mean loss over the ranks is what is smoothed, so all stop together.
        return mean_over_ranks(train_step(session, images, labels, offset + iteration))
    return train_at


def _estimate(settings: RangeTestSettings, step_seconds: float, eval_seconds: float) -> float:
    if settings.mode == "probe":
        once = settings.probe_count * (settings.probe_steps * step_seconds + 2 * settings.probe_eval_batches * eval_seconds)
    else:
        once = settings.iterations * (step_seconds + (settings.val_batches * eval_seconds if settings.validation else 0.0))
    return settings.repeats * once


def _time_step(train_at, session: Session) -> tuple[float, float]:
    """Seconds per training step and per validation batch, each timed after one untimed first call (then undone). The
    first step of a session pays for its allocations and the first batches: timed with it, a sweep said "about 14 min"
    and took 135 s, a probe "about 11 min" and took 85 s (helper-76, helper-77)."""
    state = capture(session)
    float(train_at(1e-12, 0))
    started = time.perf_counter()
    for i in range(1, 3):
        float(train_at(1e-12, i))
    step = (time.perf_counter() - started) / 2
    evaluate(session, session.val, limit=1)
    started = time.perf_counter()
    evaluate(session, session.val, limit=1)
    seconds = time.perf_counter() - started
    restore(session, state)
    return step, seconds


def _class_counts(batches) -> np.ndarray:
    labels = batches.labels if hasattr(batches, "labels") else batches.dataset.labels
    return np.bincount(np.asarray(torch.as_tensor(labels).cpu()))


def prior_loss(session: Session) -> float:
    """The cross-entropy of predicting the training class frequencies: what learning only the class mix reaches."""
    counts = _class_counts(session.train)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def class_mix_mismatch(session: Session) -> tuple[float, float] | None:
    """(validation loss of predicting the training class frequencies, that of a uniform guess) when the first is
    clearly the higher: then learning the training class mix, which a network does first, raises the validation loss.
    None when the two sets are mixed alike."""
    counts = [_class_counts(batches) for batches in (session.train, session.val)]
    classes = max(len(c) for c in counts)
    train, val = (np.pad(c, (0, classes - len(c))) for c in counts)
    p_train = np.maximum(train / train.sum(), 1e-6)
    loss = float(-(val / val.sum() * np.log(p_train)).sum())
    uniform = float(np.log(classes))
    return (loss, uniform) if loss > uniform + CLASS_MIX_MARGIN else None


def run_range_test(session: Session, settings: RangeTestSettings | None, emit: Callable[[Event], None],
                   timeline: Timeline | None = None, *, cancelled: Callable[[], bool] = lambda: False,
                   cancel_seen: Callable[[], bool] | None = None, index: int = 0, step: int = 0,
                   run_steps: int | None = None) -> RangeTestResult | None:
    """Run a sweep or probe (``settings.repeats`` times, each on its own batch order) from the session's
    current weights, then restore everything exactly.

    ``run_steps``, the length of the run the test advises, sets the probe's horizon. Progress goes to
    ``emit`` as RangeTestStarted / RangeTestProgress / RangeTestFinished. ``cancelled()`` is asked between
    the test's steps (under DDP it is a round every rank takes at once); ``cancel_seen()``, whether a cancel
    reached this process, is asked inside the λmax measurement, whose length may differ between ranks.
    """
    settings = (settings or RangeTestSettings()).resolved().for_run(run_steps)
    names = session.group_names
    # The groups keep their ratios (a frozen group stays at 0, and is skipped) while the base LR sweeps.
    multipliers = dict(zip(names, timeline.multipliers_at(step, names) if timeline else [1.0] * len(names)))
    trainers = [_trainer(session, multipliers, _batches(session, index, r), STEP_OFFSET + r * REPEAT_STEPS) for r in range(settings.repeats)]
    result = None
    started = time.perf_counter()
    curvature = None
    freezer = Freezer(session.model, session.optimizer, session.config.frozen_bn, current=frozen_now(session.optimizer))
    before = dict(freezer.frozen)
    try:
        freezer.apply({name: multipliers[name] == 0 for name in names})
        with preserved(session):
            if settings.curvature:
                curvature = measure_at_start(session, step, cancel_seen or cancelled)
                if curvature is not None:
                    emit(curvature)
            session.model.train()
            # preserved() restores the start in the end; a second copy is needed only to start over in between.
            snapshot = capture(session) if settings.repeats > 1 or settings.mode == "probe" else None
            announce = lambda seconds, eval_seconds: emit(RangeTestStarted(
                settings.mode, settings.to_dict(), _estimate(settings, seconds, eval_seconds), step))
            if not cancelled():  # the timing's steps take seconds on a large network
                announce(*_time_step(trainers[0], session))
            floor = prior_loss(session) if settings.mode == "sweep" and not settings.validation else None
            results = []
            pace = Pace(settings.probe_count if settings.mode == "probe" else settings.iterations, settings.repeats)
            for repeat, train_at in enumerate(trainers):
                if repeat:
                    restore(session, snapshot)
                pace.begin(repeat)
                curve = _one_test(session, settings, train_at, snapshot, emit, repeat, cancelled, pace)
                results.append(RangeTestResult.from_curve(settings.mode, settings.to_dict(), curve, time.perf_counter() - started, floor))
                if curve.stop_reason == "cancelled":
                    break
        result = with_groups(RangeTestResult.of_repeats(results, time.perf_counter() - started), multipliers).within_bound()
        if settings.mode == "sweep" and is_adaptive(session.config.optimizer) and result.recommendation is not None:
            result = result.qualified(ADAPTIVE_SWEEP_NOTE)
        mismatch = class_mix_mismatch(session) if settings.mode == "sweep" and settings.validation else None
        if mismatch is not None:
            result = result.qualified(class_mix_note(*mismatch))
        if why := batch_past_the_data(session.train.sample_count, session.config.global_batch):
            result = result.qualified(whole_data_note(why))
        if curvature is not None:
            group, multiplier = binding_group(curvature, multipliers) or (None, None)
            result = dataclasses.replace(result, curvature={**curvature.to_dict(), "lr_bound": sweep_bound(curvature, multipliers),
                                                            "bound_group": group, "bound_multiplier": multiplier})
    finally:
        freezer.apply(before)
        cancelled_now = result is None or result.stop_reason == "cancelled"
        emit(RangeTestFinished(result, cancelled_now, _summary(result), step))
    return result


def with_groups(result: RangeTestResult, multipliers: dict[str, float]) -> RangeTestResult:
    """The result saying how each group trained during the test: its LR multiplier, and which were trainable (not frozen)."""
    trainable = [name for name, m in multipliers.items() if m > 0]
    return dataclasses.replace(result, measured={**result.measured, "groups": dict(multipliers), "trainable": trainable})


def _one_test(session: Session, settings: RangeTestSettings, train_at, snapshot, emit, repeat: int, cancelled, pace: Pace) -> Curve:
    """One sweep or probe on one batch order."""
    progress = lambda lrs, losses, smoothed: emit(RangeTestProgress(lrs, losses, smoothed, repeat, *pace.advance(len(lrs))))
    if settings.mode == "probe":
        score = lambda: evaluate(session, session.val, limit=settings.probe_eval_batches, batch_statistics=True)[0]
        return run_probe(lambda: restore(session, snapshot), train_at, score, settings, progress=progress, cancelled=cancelled)
    check = (lambda: evaluate(session, session.val, limit=settings.val_batches, batch_statistics=True)[0]) if settings.validation else None
    read_every = 1 if session.device.type == "cpu" else 8
    return run_sweep(train_at, settings, evaluate=check, progress=progress, cancelled=cancelled, read_every=read_every)


def _summary(result: RangeTestResult | None) -> str:
    if result is None:
        return "the range test failed before it recorded a point"
    groups = result.measured.get("groups", {})
    frozen = [name for name, m in groups.items() if m == 0]
    trained = f"; trained {', '.join(result.measured['trainable'])} (frozen: {', '.join(frozen)})" if frozen else ""
    recommendation = result.recommendation
    if recommendation is None:
        return f"no recommendation: {result.why_none}{trained}"
    confidence = "; low confidence" if recommendation.low_confidence else ""
    # "from": a method's own words may hold parentheses, which nested in ours read badly.
    return (f"constant LR {recommendation.constant_lr:.3g} from {recommendation.constant_method}; "
            f"one-cycle max LR {recommendation.one_cycle_max_lr:.3g} from {recommendation.one_cycle_method}{confidence}{trained}")
