"""Ready-made schedules a user starts from: constant, cosine, warmup + cosine, one-cycle."""

from __future__ import annotations

from .schedule import Schedule
from .shapes import (
    Constant,
    Cosine,
    CosineRestarts,
    Cyclic,
    Exponential,
    Keypoints,
    Linear,
    MultiStep,
    OneCycle,
    Polynomial,
    Shape,
    StepDecay,
)

PRESETS = ("constant", "cosine", "warmup_cosine", "one_cycle")
# The kinds of segment each preset is made of, in order (how a schedule is recognised as one).
PRESET_KINDS = {"constant": ("constant",), "cosine": ("cosine",), "warmup_cosine": ("linear", "cosine"), "one_cycle": ("one_cycle",)}


def preset(kind: str, lr: float, total_steps: int) -> Schedule:
    """A schedule of ``total_steps`` whose peak LR is ``lr``."""
    if kind == "constant":
        return Schedule((Constant(steps=total_steps, lr=lr),))
    if kind == "cosine":
        return Schedule((Cosine(steps=total_steps, start_lr=lr, end_lr=0.0),))
    if kind == "warmup_cosine":
        warmup = max(1, min(total_steps - 1, round(total_steps * 0.05)))
        return Schedule((Linear(steps=warmup, start_lr=lr * 0.01, end_lr=lr), Cosine(steps=total_steps - warmup, start_lr=lr, end_lr=0.0)))
    if kind == "one_cycle":
        return Schedule((OneCycle(steps=total_steps, max_lr=lr),))
    raise ValueError(f"unknown preset {kind!r}; choose one of {', '.join(PRESETS)}")


def preset_of(schedule: Schedule) -> str | None:
    """The preset whose kinds of segment ``schedule`` has (None: a shape of its own)."""
    kinds = tuple(segment.kind for segment in schedule.segments)
    return next((name for name, made_of in PRESET_KINDS.items() if made_of == kinds), None)


def peak_lr(schedule: Schedule) -> float:
    """The highest LR the schedule reaches."""
    return max(segment.peak_lr() for segment in schedule.segments)


def with_peak_lr(schedule: Schedule, lr: float) -> Schedule:
    """The same shape scaled so its highest LR is ``lr`` (how a suggested LR is applied)."""
    peak = peak_lr(schedule)
    if peak <= 0:
        raise ValueError("the schedule's LR is 0 everywhere, so it cannot be scaled to a peak")
    return schedule.scaled(lr / peak)


def default_segment(kind: str, steps: int, lr: float) -> Shape:
    """A new segment of ``kind`` lasting ``steps`` that starts near ``lr`` (what "Add segment" inserts)."""
    steps, lr = max(2, int(steps)), float(lr) if lr > 0 else 0.01
    quarter = max(1, steps // 4)
    makers = {
        "constant": lambda: Constant(steps=steps, lr=lr),
        "linear": lambda: Linear(steps=steps, start_lr=lr, end_lr=lr / 10),
        "exponential": lambda: Exponential(steps=steps, start_lr=lr, gamma=0.01 ** (1 / steps)),
        "step": lambda: StepDecay(steps=steps, start_lr=lr, step_size=quarter),
        "multistep": lambda: MultiStep(steps=steps, start_lr=lr, milestones=(steps // 2, 3 * steps // 4)),
        "cosine": lambda: Cosine(steps=steps, start_lr=lr),
        "cosine_restarts": lambda: CosineRestarts(steps=steps, start_lr=lr, period=quarter),
        "polynomial": lambda: Polynomial(steps=steps, start_lr=lr, power=2.0),
        "one_cycle": lambda: OneCycle(steps=max(steps, 10), max_lr=lr),
        "cyclic": lambda: Cyclic(steps=steps, base_lr=lr / 10, max_lr=lr, step_size_up=max(1, steps // 8), step_size_down=max(1, steps // 8)),
        "keypoints": lambda: Keypoints(steps=steps, points=((0.0, lr), (steps / 2, lr / 3), (float(steps), lr / 30)), interpolation="log"),
    }
    if kind not in makers:
        raise ValueError(f"unknown segment kind {kind!r}")
    return makers[kind]()
