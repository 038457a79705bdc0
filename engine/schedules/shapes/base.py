"""The base of every schedule shape: parameters described once, as field metadata.

A shape is a frozen dataclass whose fields are its parameters. Each field's
metadata says what kind of value it holds (an LR, a step count, a factor...) and
carries a one-sentence help text. Validation, JSON, stretching and the GUI's
forms are all driven by that metadata, so a new shape only writes its formula.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

MAX_STEPS = 10**9
MAX_LR = 1e6
# The highest LR a user asks a run to train at (train --lr, an LR spread, holding an LR or setting the peak mid-run), the
# same everywhere: far above any LR that trains, low enough that a slip of the exponent (1e6 for 1e-6) is caught.
MAX_SET_LR = 100.0

# Kinds of parameter. "lr" values scale with the schedule, "steps" values
# stretch with the run, a "rate" is a per-step factor (re-timed when stretched);
# the rest are shape constants.
LR, STEPS, FACTOR, RATE, FRACTION, POWER, MOMENTUM, COUNT, CHOICE, FLAG, STEP_LIST, POINTS = (
    "lr", "steps", "factor", "rate", "fraction", "power", "momentum", "count", "choice", "flag", "step_list", "points",
)


def param(kind: str, help: str, default: Any = dataclasses.MISSING, choices: tuple = (), label: str = "") -> Any:
    """Declare a shape parameter of a given kind with its one-sentence help, and its name in the user's words (``label``)
    where the field's name would not do (every LR: "final LR" for end_lr; else the name with spaces)."""
    meta = {"kind": kind, "help": help, "choices": choices, "label": label}
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class Shape:
    """A segment of a schedule: ``steps`` long, LR a pure function of local step t."""

    kind: ClassVar[str] = ""
    title: ClassVar[str] = ""
    start_field: ClassVar[str] = "start_lr"

    steps: int = param(STEPS, "How many training steps this segment lasts.")

    def lrs(self, t: np.ndarray) -> np.ndarray:
        """LR at local steps ``t`` (float64 array, 0 <= t <= steps)."""
        raise NotImplementedError

    def momenta(self, t: np.ndarray) -> np.ndarray | None:
        """Momentum at local steps ``t``, or None when this shape does not schedule it."""
        return None

    def check(self) -> None:
        """Shape-specific consistency checks; raise ValueError naming the field."""

    def peak_lr(self) -> float:
        """The highest LR of the segment: at a whole step, unless the shape names its top (it may fall between steps)."""
        return float(self.lrs(np.arange(self.steps + 1, dtype=float)).max())

    @property
    def final_time(self) -> float:
        """The local time whose LR holds once the segment is over (its natural end)."""
        return float(self.steps)

    # -- derived operations, driven by field kinds --------------------------------

    @classmethod
    def params(cls) -> list[dataclasses.Field]:
        """The shape's parameters in declaration order, ``steps`` first."""
        return list(dataclasses.fields(cls))

    @classmethod
    def param_kind(cls, name: str) -> str:
        """The kind of parameter ``name`` (one of the module's kind constants)."""
        return next(f.metadata["kind"] for f in dataclasses.fields(cls) if f.name == name)

    @classmethod
    def param_label(cls, name: str) -> str:
        """Parameter ``name`` in the user's words, for text about it ("final LR" for end_lr)."""
        return next(f.metadata["label"] or f.name.replace("_", " ") for f in dataclasses.fields(cls) if f.name == name)

    def values(self) -> dict[str, Any]:
        """Parameter name to value."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def scaled(self, factor: float) -> Shape:
        """The same shape with every LR parameter multiplied by ``factor``."""
        changes = {f.name: getattr(self, f.name) * factor for f in self.params() if f.metadata["kind"] == LR}
        return dataclasses.replace(self, **changes)

    def stretched(self, factor: float) -> Shape:
        """The same shape with every step-valued parameter multiplied by ``factor``."""
        changes = {}
        for f in self.params():
            value = getattr(self, f.name)
            if f.metadata["kind"] == STEPS:
                changes[f.name] = max(1, round(value * factor))
            elif f.metadata["kind"] == STEP_LIST:
                changes[f.name] = tuple(max(1, round(v * factor)) for v in value)
            elif f.metadata["kind"] == RATE:
                changes[f.name] = value ** (1.0 / factor)
        return dataclasses.replace(self, **changes)

    def with_steps(self, steps: int) -> Shape:
        """The same shape lasting ``steps``, its inner step parameters stretched in proportion."""
        stretched = self.stretched(steps / self.steps)
        return dataclasses.replace(stretched, steps=steps)

    def starting_at(self, lr: float) -> Shape:
        """The same shape made to begin at ``lr`` (so an edit causes no jump)."""
        return dataclasses.replace(self, **{self.start_field: lr})

    def validate(self) -> None:
        """Raise ValueError naming the first invalid parameter, or an LR out of range that they produce."""
        for f in self.params():
            check_value(f, getattr(self, f.name))
        self.check()
        self._check_produced_values()

    def _check_produced_values(self) -> None:
        """Valid parameters can still combine into an absurd LR (max_lr / a tiny div_factor)."""
        times = np.linspace(0, self.final_time, min(self.steps + 1, 100_001))
        with np.errstate(all="ignore"):
            lrs, momenta = self.lrs(times), self.momenta(times)
        bad = np.flatnonzero(~np.isfinite(lrs) | (lrs < 0) | (lrs > MAX_LR))
        if len(bad):
            raise ValueError(f"these parameters give an LR of {lrs[bad[0]]:g} at step {times[bad[0]]:g}; LRs must be between 0 and {MAX_LR:g}")
        if momenta is not None and not np.all((momenta >= 0) & (momenta < 1)):
            raise ValueError("these parameters give a momentum outside 0 to 1")


def check_value(f: dataclasses.Field, value: Any) -> None:
    """Raise ValueError if ``value`` is not acceptable for parameter ``f``."""
    kind, name = f.metadata["kind"], f.name
    if kind in (STEPS, COUNT):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        if not 1 <= value <= MAX_STEPS:
            raise ValueError(f"{name} must be between 1 and {MAX_STEPS:,}, got {value}")
    elif kind == CHOICE:
        if value not in f.metadata["choices"]:
            raise ValueError(f"{name} must be one of {', '.join(f.metadata['choices'])}, got {value!r}")
    elif kind == FLAG:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
    elif kind in (LR, FACTOR, RATE, FRACTION, POWER, MOMENTUM):
        check_number(name, kind, value)


def check_number(name: str, kind: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is a finite number in the range its kind allows."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if kind == LR and not 0 <= value <= MAX_LR:
        raise ValueError(f"{name} must be a learning rate between 0 and {MAX_LR:g}, got {value:g}")
    if kind in (FACTOR, RATE) and not 0 < value <= 1e6:
        raise ValueError(f"{name} must be greater than 0 (and at most 1e6), got {value:g}")
    if kind == FRACTION and not 0 < value < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value:g}")
    if kind == MOMENTUM and not 0 <= value < 1:
        raise ValueError(f"{name} must be a momentum between 0 and 1 (1 excluded), got {value:g}")
    if kind == POWER and not 0 < value <= 100:
        raise ValueError(f"{name} must be greater than 0 (and at most 100), got {value:g}")
