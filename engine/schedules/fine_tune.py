"""Fine-tuning presets users know, each an ordinary schedule (segments plus group settings) to edit afterwards.

- ``fine_tune`` (fastai's ``Learner.fine_tune``): the head alone for the freeze epochs on a
  one-cycle that peaks late, then every group on a second one-cycle at half the LR,
  with the groups' LRs spread geometrically from ``lo`` (input side) to ``hi`` (head).
- ``gradual_unfreezing`` (ULMFiT, Howard & Ruder 2018): the head first, one more group every
  E epochs from the output side, each group's LR the next one's divided by 2.6, on a
  slanted triangular schedule (a short linear rise, a long linear fall).
- ``layer_decay`` (timm's layer-wise LR decay, BEiT-style): group i from the head trains at
  ``decay ** i`` times the head's LR, nothing frozen.

Group names come from the model, input to output, the last being ``head``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..text import counted
from .groups import GroupSetting
from .presets import preset
from .schedule import Schedule
from .shapes import Linear, OneCycle

ULMFIT_FACTOR = 2.6
TIMM_DECAY = 0.75
FASTAI_LR_MULT = 100  # fastai's fine_tune spreads the unfrozen LRs over slice(lr / 100, lr)
STLR_CUT, STLR_RATIO = 0.1, 32  # ULMFiT's slanted triangular LR: 10% rising, from and back to max / 32


def spread(names: Sequence[str], lo: float, hi: float) -> list[float]:
    """Multipliers growing geometrically from ``lo / hi`` (the first group) to 1 (the head)."""
    count = len(names)
    if count == 1:
        return [1.0]
    return [(lo / hi) ** ((count - 1 - i) / (count - 1)) for i in range(count)]


def decayed(names: Sequence[str], decay: float) -> list[float]:
    """Multipliers ``decay ** distance`` from the head (the head's is 1)."""
    count = len(names)
    return [decay ** (count - 1 - i) for i in range(count)]


def fine_tune(names: Sequence[str], lr: float, total_steps: int, freeze_steps: int,
              multipliers: Sequence[float] | None = None, unfrozen_lr: float | None = None) -> tuple[Schedule, tuple[GroupSetting, ...]]:
    """fastai's fine_tune over ``total_steps``: the head alone for ``freeze_steps`` (one-cycle peaking at ``lr``),
    then all groups on a one-cycle peaking at ``unfrozen_lr`` (default ``lr / 2``) for the head, each group ×
    its multiplier (default: spread geometrically over a factor of 100, as fastai's ``lr_mult``)."""
    if not 0 < freeze_steps < total_steps:
        raise ValueError(f"the head-only phase must be shorter than the run ({freeze_steps} of {counted(total_steps, 'step')})")
    unfrozen_lr = unfrozen_lr or lr / 2
    multipliers = list(multipliers) if multipliers is not None else spread(names, unfrozen_lr / FASTAI_LR_MULT, unfrozen_lr)
    schedule = Schedule((OneCycle(steps=freeze_steps, max_lr=lr, pct_start=0.99),
                         OneCycle(steps=total_steps - freeze_steps, max_lr=unfrozen_lr, div_factor=5.0, pct_start=0.3)))
    groups = tuple(GroupSetting(name, m, 0 if i == len(names) - 1 else freeze_steps)
                   for i, (name, m) in enumerate(zip(names, multipliers)))
    return schedule, groups


def gradual_unfreezing(names: Sequence[str], lr: float, total_steps: int, every_steps: int,
                       factor: float = ULMFIT_FACTOR) -> tuple[Schedule, tuple[GroupSetting, ...]]:
    """ULMFiT: one more group trainable every ``every_steps`` from the head back, LRs divided by ``factor`` per group."""
    if every_steps < 1:
        raise ValueError("gradual unfreezing needs at least one step between unfreezings")
    rise = max(1, round(total_steps * STLR_CUT))
    schedule = Schedule((Linear(steps=rise, start_lr=lr / STLR_RATIO, end_lr=lr),
                         Linear(steps=max(1, total_steps - rise), start_lr=lr, end_lr=lr / STLR_RATIO)))
    count = len(names)
    groups = tuple(GroupSetting(name, factor ** -(count - 1 - i), min(total_steps, (count - 1 - i) * every_steps))
                   for i, name in enumerate(names))
    return schedule, groups


def layer_decay(names: Sequence[str], lr: float, total_steps: int, shape: str = "one_cycle",
                decay: float = TIMM_DECAY) -> tuple[Schedule, tuple[GroupSetting, ...]]:
    """timm's layer-wise decay: the preset ``shape`` at ``lr`` for the head, × ``decay`` per group towards the input."""
    return preset(shape, lr, total_steps), tuple(GroupSetting(n, m) for n, m in zip(names, decayed(names, decay)))
