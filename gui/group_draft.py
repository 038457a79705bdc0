"""The group table's model, free of Qt: each parameter group's name, size, multiplier and freeze span, edited by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from engine.schedules.groups import GroupSetting, resolve


@dataclass(frozen=True)
class GroupRow:
    """One parameter group as the table shows it."""

    name: str
    parameters: int
    multiplier: float
    frozen_until: int


class GroupDraft:
    """The model's groups (input to output) with the settings a run starts with or has in force now."""

    def __init__(self):
        self.rows: list[GroupRow] = []

    def load(self, outline: Sequence[tuple[str, int]], settings: Sequence[GroupSetting]) -> None:
        """The groups of ``outline`` (name, parameter count), set as ``settings`` say (``all`` covers the unnamed)."""
        names = tuple(name for name, _ in outline)
        resolved = resolve(settings, names)
        self.rows = [GroupRow(name, count, s.multiplier, s.frozen_until) for (name, count), s in zip(outline, resolved)]

    @property
    def names(self) -> tuple[str, ...]:
        """The groups' names, input to output."""
        return tuple(row.name for row in self.rows)

    def settings(self) -> tuple[GroupSetting, ...]:
        """Every group's setting, by name."""
        return tuple(GroupSetting(row.name, row.multiplier, row.frozen_until) for row in self.rows)

    def set_multiplier(self, name: str, value: float) -> None:
        """Group ``name`` trains at the schedule's LR × ``value``; ValueError says what is wrong with it."""
        self._set(name, multiplier=value)

    def set_frozen_until(self, name: str, step: int) -> None:
        """Group ``name`` is frozen for every step before ``step`` (0: never); ValueError says what is wrong with it."""
        self._set(name, frozen_until=step)

    def set_all_but_head(self, multiplier: float) -> None:
        """Every group but the last (the head) at ``multiplier``: the schedule editor's "other groups" setting."""
        for row in self.rows[:-1]:
            self._set(row.name, multiplier=multiplier)

    def frozen_at(self, step: int) -> tuple[str, ...]:
        """The groups still frozen at ``step``."""
        return tuple(row.name for row in self.rows if row.frozen_until > step)

    def _set(self, name: str, **change) -> None:
        index = self.names.index(name)
        row = replace(self.rows[index], **change)
        GroupSetting(row.name, row.multiplier, row.frozen_until).validate()
        self.rows[index] = row
