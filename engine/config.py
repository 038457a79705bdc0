"""A training job's settings, each checked at the field with a reason a user can act on."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .curvature.cadence import parse_every
from .curvature.settings import BN_MODES
from .errors import ConfigError
from .schedules.presets import PRESETS
from .schedules.shapes.base import MAX_SET_LR
from .text import counted

AUGMENTATIONS = ("none", "shift", "shift+flip")
MODEL_NAMES = ("small_cnn", "resnet18", "resnet34", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
               "efficientnet_b0", "convnext_tiny")
TIMM_PREFIX = "timm:"  # any timm classifier, when timm is installed
FROZEN_BN = ("train", "freeze")
PRETRAINED_AUTO = "auto"  # --pretrained alone: the model's standard weights, preferring ones already cached
# Pretrained layers want much smaller steps than a network from scratch: the default peak LR of a fine-tune (SGD).
PRETRAINED_LR = 0.02
OPTIMIZER_NAMES = ("sgd", "adam", "adamw")


@dataclass
class TrainConfig:
    """Everything that defines a training run (the schedule aside).

    ``group_lr`` gives layer groups, by name, an LR multiplier for the default schedule
    (``all`` for every group not named; groups not covered get 1).

    Fine-tuning: ``pretrained`` is "" (from scratch), "auto" (the model's standard weights,
    preferring those already in the torch hub cache) or a weights name such as IMAGENET1K_V1.
    The default schedule then trains the head alone for ``freeze_epochs``, with group LRs spread
    geometrically over ``lr_spread`` (lo, hi) or decayed by ``layer_decay`` per group from the head,
    or unfreezes one more group every ``gradual_unfreeze`` epochs. ``frozen_bn`` says whether the
    BatchNorm layers of a frozen group keep updating their statistics ("train") or hold them ("freeze"). ``batch_size`` is the batch of
    one process; ``world_size`` processes train together (torchrun), so a step sees ``global_batch``.
    """

    data: str = ""
    model: str = "small_cnn"
    optimizer: str = "sgd"
    lr: float = 0.2
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    batch_size: int = 64
    epochs: int = 5
    shape: str = "one_cycle"
    group_lr: dict[str, float] = field(default_factory=dict)
    image_size: int = 0
    val_fraction: float = 0.2
    split_seed: int = 0
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    augment: str = "shift"
    workers: int = 2
    memory_budget_mb: int = 2048
    weights: str = ""
    checkpoint_every: int = 0
    checkpoint_seconds: float = 60.0
    explode_factor: float = 10.0
    curvature_every: int | str = "auto"
    curvature_bn: str = "batch"
    curvature_margin: float = 0.8
    pretrained: str = ""
    freeze_epochs: int = 0
    lr_spread: list[float] = field(default_factory=list)
    layer_decay: float = 0.0
    gradual_unfreeze: int = 0
    frozen_bn: str = "train"
    world_size: int = 1
    sync_batchnorm: bool = False

    @property
    def global_batch(self) -> int:
        """Samples per step over every process: the batch the schedule's steps count."""
        return self.batch_size * self.world_size

    def for_world(self, size: int) -> TrainConfig:
        """The same run on ``size`` processes: the global batch kept, the per-process batch divided (ConfigError if it cannot be)."""
        if size == self.world_size:
            return self
        if self.global_batch % size:
            raise ConfigError("batch_size", f"the global batch {self.global_batch} cannot be split evenly over {size} processes; "
                                            f"use a number of processes that divides it")
        return replace(self, batch_size=self.global_batch // size, world_size=size)

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """A config from plain data (unknown keys are ignored, each value is checked)."""
        known = {f.name for f in fields(cls)}
        config = cls(**{k: v for k, v in data.items() if k in known})
        config.validate()
        return config

    @classmethod
    def errors_of(cls, data: dict[str, Any]) -> dict[str, str]:
        """Field name to reason, for every value in plain ``data`` that a run cannot take (as ``errors``)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}).errors()

    def errors(self) -> dict[str, str]:
        """Field name to reason, for every invalid field (and fine-tuning options that do not go together)."""
        errors = {name: reason for name in RULES if (reason := field_error(name, getattr(self, name))) is not None}
        return errors or _fine_tuning_errors(self)

    def validate(self) -> None:
        """Raise ConfigError for the first invalid field."""
        for name, reason in self.errors().items():
            raise ConfigError(name, reason)


def _number(low: float, high: float, *, integer: bool = False, low_open: bool = False, high_open: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            return "must be a whole number" if integer else "must be a number"
        if isinstance(value, float) and not math.isfinite(value):  # an int is finite, and math.isfinite(10**400) overflows
            return "must be finite"
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if too_low or too_high:
            shown = (lambda bound: f"{bound:,}") if integer else (lambda bound: f"{bound:g}")  # 2,147,483,647, not 2.14748e+09
            return f"must be {'above' if low_open else 'at least'} {shown(low)} and {'below' if high_open else 'at most'} {shown(high)}"
        return None
    return check


def _choice(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda value: None if value in options else f"must be one of {', '.join(options)}"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be text"


def _cadence(value: Any) -> str | None:
    try:
        parse_every(value)
    except ValueError:
        return "must be auto, off or a whole number of steps ≥ 1"
    return None


def _group_lr(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "must map layer group names to LR multipliers"
    for name, multiplier in value.items():
        if not isinstance(name, str) or not 0 < len(name) <= 100:
            return f"{name!r} is not a layer group name"
        reason = _number(0, 1e6)(multiplier)
        if reason:
            return f"{name}: {reason}"
    return None


def _model(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(TIMM_PREFIX) and len(value) > len(TIMM_PREFIX):
        return None
    return None if value in MODEL_NAMES else f"must be one of {', '.join(MODEL_NAMES)}, or timm:NAME"


def _pretrained(value: Any) -> str | None:
    ok = isinstance(value, str) and len(value) <= 60 and (value == "" or value.replace("_", "").isalnum())
    return None if ok else "must be empty (from scratch), auto, or a weights name such as IMAGENET1K_V1"


def _lr_spread(value: Any) -> str | None:
    if isinstance(value, (list, tuple)) and not value:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2 or any(_number(0, MAX_SET_LR, low_open=True)(v) for v in value):
        return f"must be two LRs LO:HI, each above 0 and at most {MAX_SET_LR:g}"
    return None if value[0] <= value[1] else "LO must not be above HI"


def _layer_decay(value: Any) -> str | None:
    if value == 0:
        return None
    reason = _number(0, 1, low_open=True)(value)
    return f"{reason} (or 0 for none)" if reason else None


def _fine_tuning_errors(config: TrainConfig) -> dict[str, str]:
    """Fine-tuning options that need pretrained weights or exclude each other."""
    errors = {}
    if config.lr_spread and config.layer_decay:
        errors["layer_decay"] = "give either an LR spread or a layer decay, not both"
    if config.freeze_epochs and config.gradual_unfreeze:
        errors["gradual_unfreeze"] = "gradual unfreezing sets its own freeze spans: leave the freeze epochs at 0"
    if config.freeze_epochs >= config.epochs and config.freeze_epochs:
        errors["freeze_epochs"] = f"must be fewer than the run's {counted(config.epochs, 'epoch')} (the body is unfrozen after them)"
    return errors


def _image_size(value: Any) -> str | None:
    if value == 0:
        return None
    reason = _number(8, 1024, integer=True)(value)
    return f"{reason} (or 0 for automatic)" if reason else None


def _explode(value: Any) -> str | None:
    if value == 0:
        return None
    reason = _number(2, 1e6)(value)
    return f"{reason} (or 0 to turn the check off)" if reason else None


RULES: dict[str, Callable[[Any], str | None]] = {
    "data": _text,
    "model": _model,
    "optimizer": _choice(OPTIMIZER_NAMES),
    "lr": _number(0, MAX_SET_LR, low_open=True),
    "momentum": _number(0, 1, high_open=True),
    "nesterov": _flag,
    "weight_decay": _number(0, 1),
    "batch_size": _number(1, 65536, integer=True),
    "epochs": _number(1, 100_000, integer=True),
    "shape": _choice(PRESETS),
    "group_lr": _group_lr,
    "image_size": _image_size,
    "val_fraction": _number(0.01, 0.9),
    "split_seed": _number(0, 2**31 - 1, integer=True),
    "seed": _number(0, 2**31 - 1, integer=True),
    "device": _text,
    "amp": _flag,
    "augment": _choice(AUGMENTATIONS),
    "workers": _number(0, 64, integer=True),
    "memory_budget_mb": _number(0, 10**7, integer=True),
    "weights": _text,
    "checkpoint_every": _number(0, 10**9, integer=True),
    "checkpoint_seconds": _number(0, 86_400),
    "explode_factor": _explode,
    "curvature_every": _cadence,
    "curvature_bn": _choice(BN_MODES),
    "curvature_margin": _number(0.05, 1),
    "pretrained": _pretrained,
    "freeze_epochs": _number(0, 100_000, integer=True),
    "lr_spread": _lr_spread,
    "layer_decay": _layer_decay,
    "gradual_unfreeze": _number(0, 100_000, integer=True),
    "frozen_bn": _choice(FROZEN_BN),
    "world_size": _number(1, 1_000_000, integer=True),
    "sync_batchnorm": _flag,
}


def field_error(name: str, value: Any) -> str | None:
    """Why ``value`` is not acceptable for field ``name``, or None when it is."""
    return RULES[name](value)
