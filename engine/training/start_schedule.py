"""The schedule a run starts with when none is given: the config's preset, or a fine-tuning preset over the model's groups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..config import TrainConfig
from ..schedules.fine_tune import ULMFIT_FACTOR, decayed, fine_tune, gradual_unfreezing, spread
from ..schedules.groups import ALL, GroupSetting
from ..schedules.presets import preset
from ..schedules.schedule import Schedule
from ..schedules.timeline import Timeline


def fine_tuning(config: TrainConfig) -> bool:
    """Whether the config asks for a fine-tuning preset (freezing or per-group LRs)."""
    return bool(config.freeze_epochs or config.gradual_unfreeze or config.lr_spread or config.layer_decay)


def starting_timeline(config: TrainConfig, steps_per_epoch: int, names: Sequence[str] = ()) -> Timeline:
    """The config's schedule over its epochs; ``names`` (the model's groups, input to output) for fine-tuning presets.

    ``group_lr`` then overrides the multiplier of the groups it names, and ``all`` that of the others.
    """
    schedule, groups = _plan(config, steps_per_epoch, tuple(names))
    overrides = {name: float(m) for name, m in config.group_lr.items()}
    # A fine-tuning preset names every group: `all` appended after them covered none, and `--group-lr all=0.1` with
    # --freeze-epochs was silently ignored.
    rest = overrides.pop(ALL, None) if all(g.name != ALL for g in groups) else None
    groups = tuple(replace(g, multiplier=overrides.pop(g.name, g.multiplier if rest is None else rest)) for g in groups)
    groups += tuple(GroupSetting(name, m) for name, m in overrides.items())
    return Timeline.of(schedule, groups=groups, base_momentum=config.momentum)


def _plan(config: TrainConfig, per_epoch: int, names: tuple[str, ...]) -> tuple[Schedule, tuple[GroupSetting, ...]]:
    total = config.epochs * per_epoch
    if not fine_tuning(config):
        return preset(config.shape, config.lr, total), (GroupSetting(ALL),)
    if not names:
        raise ValueError("a fine-tuning schedule needs the model's layer group names")
    lo, hi = config.lr_spread or (None, None)
    multipliers = spread(names, lo, hi) if hi else (decayed(names, config.layer_decay) if config.layer_decay else None)
    if config.gradual_unfreeze:
        factor = 1 / config.layer_decay if config.layer_decay else ULMFIT_FACTOR
        schedule, groups = gradual_unfreezing(names, hi or config.lr, total, config.gradual_unfreeze * per_epoch, factor)
        if hi:
            groups = tuple(replace(g, multiplier=m) for g, m in zip(groups, multipliers))
        return schedule, groups
    if config.freeze_epochs:
        return fine_tune(names, config.lr, total, config.freeze_epochs * per_epoch, multipliers, unfrozen_lr=hi)
    return preset(config.shape, hi or config.lr, total), tuple(GroupSetting(n, m) for n, m in zip(names, multipliers))
