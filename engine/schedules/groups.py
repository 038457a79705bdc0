"""Per-group settings of a timeline piece: an LR multiplier and a freeze span, addressed by group name.

A piece names the groups it drives. The name ``all`` drives every group the piece
does not name; a piece that names groups without ``all`` must name every group of
the model. Names are matched, never positions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..errors import LrscopeError

ALL = "all"
HEAD = "head"  # every model's last layer group (engine.models checks it)
MAX_MULTIPLIER = 1e6


class GroupMismatch(LrscopeError, ValueError):
    """A schedule's group names do not fit the parameter groups they are meant to drive: ``problem``, then what to do
    about it in a schedule (code driving an optimizer gives its own advice)."""

    def __init__(self, problem: str, advice: str):
        super().__init__(f"{problem}; {advice}")
        self.problem = problem


@dataclass(frozen=True)
class GroupSetting:
    """Group ``name`` trains at the schedule's LR × ``multiplier``, and is frozen for every step before ``frozen_until``."""

    name: str
    multiplier: float = 1.0
    frozen_until: int = 0

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        if not isinstance(self.name, str) or not 0 < len(self.name) <= 100:
            raise ValueError(f"a group name must be 1 to 100 characters, got {self.name!r}")
        m = self.multiplier
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m) or not 0 <= m <= MAX_MULTIPLIER:
            raise ValueError(f"group {self.name}: multiplier must be from 0 to {MAX_MULTIPLIER:g}, got {m!r}")
        f = self.frozen_until
        if isinstance(f, bool) or not isinstance(f, int) or f < 0:
            raise ValueError(f"group {self.name}: frozen_until must be a step from 0, got {f!r}")

    def stretched(self, factor: float) -> GroupSetting:
        """The freeze span re-timed by ``factor`` (a schedule re-stretched to another run length)."""
        return GroupSetting(self.name, self.multiplier, round(self.frozen_until * factor))


EVERY_GROUP = (GroupSetting(ALL),)


def simplest(groups: Sequence[GroupSetting]) -> tuple[GroupSetting, ...]:
    """The settings as ``all`` alone when every group named trains alike (one multiplier, one freeze span).

    The window names each of the model's groups even when they all train alike; so named, a schedule drove only an
    optimizer with those very group names, and plain PyTorch's single param group was refused.
    """
    groups = tuple(groups)
    alike = {(g.multiplier, g.frozen_until) for g in groups}
    distinct = len({g.name for g in groups}) == len(groups)  # a name given twice is validate_groups' to refuse
    if len(groups) < 2 or len(alike) != 1 or not distinct:
        return groups
    return (GroupSetting(ALL, groups[0].multiplier, groups[0].frozen_until),)


def validate_groups(groups: Sequence[GroupSetting]) -> None:
    """Raise ValueError when a group is invalid, named twice, or none is given."""
    if not groups:
        raise ValueError("a piece must set at least one group (use 'all' for every group)")
    for group in groups:
        group.validate()
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        raise ValueError(f"a group is named twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")


def resolve(groups: Sequence[GroupSetting], names: Sequence[str]) -> tuple[GroupSetting, ...]:
    """The setting of each of ``names`` (the optimizer's groups), by name; GroupMismatch says what does not fit."""
    by_name = {g.name: g for g in groups}
    unknown = [n for n in by_name if n != ALL and n not in names]
    if unknown:
        raise GroupMismatch(f"the schedule drives parameter group(s) {', '.join(unknown)} that are not among the parameter groups "
                            f"({', '.join(names)})", "rename them or use 'all'")
    default = by_name.get(ALL)
    missing = [n for n in names if n not in by_name and default is None]
    if missing:
        raise GroupMismatch(f"the schedule does not say how to train parameter group(s) {', '.join(missing)}",
                            "name them or add an 'all' group")
    return tuple(by_name.get(n) or GroupSetting(n, default.multiplier, default.frozen_until) for n in names)


def describe_groups(groups: Sequence[GroupSetting]) -> str:
    """One line: each group's multiplier and, when it has one, its freeze span."""
    return ", ".join(f"{g.name} ×{g.multiplier:g}" + (f" frozen until step {g.frozen_until}" if g.frozen_until else "")
                     for g in groups)


def changed_settings(before: Sequence[GroupSetting], after: Sequence[GroupSetting], step: int) -> tuple[GroupSetting, ...]:
    """The settings of ``after`` that change what ``before`` gave the same group from ``step`` on (``all`` covers the
    groups it does not name; a freeze already over is no freeze)."""
    by_name = {g.name: g for g in before}

    def effect(setting: GroupSetting | None) -> tuple[float, int] | None:
        return None if setting is None else (setting.multiplier, setting.frozen_until if setting.frozen_until > step else 0)

    return tuple(g for g in after if effect(by_name.get(g.name, by_name.get(ALL))) != effect(g))


def unfrozen(groups: Sequence[GroupSetting], names: Sequence[str], step: int) -> tuple[GroupSetting, ...]:
    """The settings with the groups ``names`` (every group when empty) no longer frozen from ``step`` on.

    A group that only ``all`` covers gets a setting of its own. ValueError when none of them is frozen at ``step``.
    """
    by_name = {g.name: g for g in groups}
    targets = list(names) or list(by_name)
    default = by_name.get(ALL)
    for name in targets:
        if name not in by_name and default is None:
            raise ValueError(f"the schedule has no parameter group {name!r} to unfreeze")
    frozen = [n for n in targets if (by_name.get(n) or default).frozen_until > step]
    if not frozen:
        raise ValueError(f"nothing to unfreeze: {'no group is' if not names else ', '.join(targets) + ' is not'} frozen at step {step}")
    thawed = [replace(g, frozen_until=step) if g.name in frozen else g for g in groups]
    thawed += [GroupSetting(n, default.multiplier, step) for n in frozen if n not in by_name]
    return tuple(thawed)
