"""What a range test does: sweep or probe, LR range, length, and when to stop."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ..errors import SettingError

MODES = ("sweep", "probe")
DEFAULT_RANGE = {"sweep": (1e-7, 10.0), "probe": (1e-4, 10.0)}
# The probe's horizon, when tied to the run, stays within these many steps per candidate.
PROBE_MIN_STEPS, PROBE_MAX_STEPS = 20, 1000
# The LRs a test may try. Below 1e-10 a step moves float32 weights less than their rounding (an SGD step of a weight of
# 0.05 is lost below about 3e-9; Adam's step is about the LR itself): a sweep from 1e-40 spent three quarters of its
# batches measuring nothing, and read their noise as a descent.
LR_RANGE = (1e-10, 1e4)


# Each setting as a message names it, in words that fit the command line (--start, --end …) and the window alike.
WORDS = {"mode": "the mode", "start_lr": "the start LR", "end_lr": "the end LR", "iterations": "the iterations", "val_batches": "the validation batches",
         "probe_count": "the number of candidate LRs", "probe_steps": "the steps per candidate",
         "probe_eval_batches": "the evaluation batches per candidate", "repeats": "the repeats",
         "probe_fraction": "the probe's share of the run", "smooth_beta": "the loss smoothing", "diverge_factor": "the divergence factor"}


@dataclass(frozen=True)
class RangeTestSettings:
    """Settings of a range test; ``start_lr``/``end_lr`` of None take the mode's default range."""

    mode: str = "sweep"
    start_lr: float | None = None
    end_lr: float | None = None
    iterations: int = 100
    linear: bool = False
    smooth_beta: float = 0.98
    diverge_factor: float = 4.0
    validation: bool = False
    val_batches: int = 2
    probe_count: int = 12
    probe_steps: int | None = None
    probe_fraction: float = 0.1
    probe_eval_batches: int = 4
    curvature: bool = True
    repeats: int = 3

    def for_run(self, run_steps: int | None) -> RangeTestSettings:
        """The settings with the probe's horizon tied to the run it advises: ``probe_fraction`` of its
        steps (at least PROBE_MIN_STEPS, at most PROBE_MAX_STEPS), unless ``probe_steps`` is set."""
        if self.probe_steps is not None:
            return self
        steps = PROBE_MIN_STEPS if not run_steps else round(self.probe_fraction * run_steps)
        return replace(self, probe_steps=int(min(PROBE_MAX_STEPS, max(PROBE_MIN_STEPS, steps))))

    def resolved(self) -> RangeTestSettings:
        """The same settings with the LR range filled in; ValueError names an invalid field."""
        start, end = DEFAULT_RANGE.get(self.mode, (None, None))
        # None is "the mode's default"; 0 is a value, and refused (`--start 0` quietly became 1e-7).
        settings = replace(self, start_lr=start if self.start_lr is None else self.start_lr,
                           end_lr=end if self.end_lr is None else self.end_lr)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise SettingError naming the first invalid field."""
        if self.mode not in MODES:
            raise SettingError("mode", WORDS["mode"], f"must be sweep or probe, got {self.mode!r}")
        for name in ("start_lr", "end_lr"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or not LR_RANGE[0] <= value <= LR_RANGE[1]:
                raise SettingError(name, WORDS[name], f"must be a learning rate from {LR_RANGE[0]:g} to {LR_RANGE[1]:g}, got {value!r}"
                                 + (" (a smaller LR changes no float32 weight)" if 0 < value < LR_RANGE[0] else ""))
        if self.end_lr <= self.start_lr:
            raise SettingError("end_lr", WORDS["end_lr"], f"must be above the start LR ({self.start_lr:g}), got {self.end_lr:g}")
        for name, low, high in (("iterations", 2, 100_000), ("val_batches", 1, 10_000), ("probe_count", 3, 1000),
                                ("probe_steps", 1, 100_000), ("probe_eval_batches", 1, 10_000), ("repeats", 1, 100)):
            value = getattr(self, name)
            if name == "probe_steps" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise SettingError(name, WORDS[name], f"must be a whole number from {low} to {high:,}, got {value!r}")
        if not 0 < self.probe_fraction <= 1:
            raise SettingError("probe_fraction", WORDS["probe_fraction"], f"must be above 0 and at most 1, got {self.probe_fraction!r}")
        if not 0 <= self.smooth_beta < 1:
            raise SettingError("smooth_beta", WORDS["smooth_beta"], f"must be from 0 to below 1, got {self.smooth_beta!r}")
        if not self.diverge_factor > 1:
            raise SettingError("diverge_factor", WORDS["diverge_factor"], f"must be above 1, got {self.diverge_factor!r}")

    def training_steps(self) -> int:
        """The training steps of the whole test, every repeat and (resolved for a run) every probe candidate."""
        each = self.probe_count * (self.probe_steps or PROBE_MIN_STEPS) if self.mode == "probe" else self.iterations
        return each * self.repeats

    def cost_words(self, run_steps: int | None) -> str:
        """"7,524 training steps, 3.4× the run": what the test trains in all, and against the run it advises (a probe
        labelled "10% of the run" trains each of its candidates that long, on each repeat)."""
        steps = self.training_steps()
        known = isinstance(run_steps, int) and run_steps > 0  # a served run's status says it, as data from the network
        if not known:
            return f"{steps:,} training steps"
        times = steps / run_steps  # two figures read "1.5e+02×" from 100 up (helper-67)
        return f"{steps:,} training steps, {times:.2g}× the run" if times < 100 else f"{steps:,} training steps, {times:,.0f}× the run"

    def describe(self) -> str:
        """What the test does, in a line: "probe of 40 candidate LRs from 0.0001 to 10, 200 steps each, 3 repeats"."""
        start, end = DEFAULT_RANGE[self.mode] if self.start_lr is None or self.end_lr is None else (self.start_lr, self.end_lr)
        span = f"from {start:g} to {end:g}"
        if self.mode == "probe":
            steps = f"{self.probe_steps} steps each" if self.probe_steps else "steps tied to the run"
            what = f"probe of {self.probe_count} candidate LRs {span}, {steps}"
        else:
            what = f"{'validation ' if self.validation else ''}sweep of {self.iterations} batches {span}{', linear' if self.linear else ''}"
        return what + (f", {self.repeats} repeats" if self.repeats > 1 else "")

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTestSettings:
        """Settings from plain data (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
