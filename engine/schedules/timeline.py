"""The schedule of a run as it really is: pieces installed by edits, each from its own step on."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from .groups import EVERY_GROUP, GroupSetting, resolve, simplest
from .plateau import PlateauRule
from .presets import peak_lr
from .schedule import Schedule, partition


@dataclass(frozen=True)
class Piece:
    """From global step ``start`` on, LR(step) = schedule.lrs(step - origin), per group × its setting.

    ``groups`` says, by name, each parameter group's multiplier and freeze span while
    this piece is in force, so an edit can change them from its step on.
    """

    start: int
    origin: int
    schedule: Schedule
    groups: tuple[GroupSetting, ...] = EVERY_GROUP

    def __post_init__(self) -> None:
        # In one place, so the run, its edits, the exported file and the CLI agree: groups that all train alike are 'all'.
        object.__setattr__(self, "groups", simplest(self.groups))

    def without_momentum(self) -> Piece:
        """This piece with no segment cycling the momentum."""
        segments = tuple(replace(s, cycle_momentum=False) if getattr(s, "cycle_momentum", False) else s for s in self.schedule.segments)
        return replace(self, schedule=Schedule(segments)) if segments != self.schedule.segments else self

    @property
    def end(self) -> int:
        """The global step where this piece's schedule runs out."""
        return self.origin + self.schedule.total_steps

    @property
    def plan(self) -> tuple:
        """What this piece plans, whatever step it starts at: a piece with the plan of the one before it only carries
        it on (the same schedule from the same origin, with the same group settings, so every step it decides has the
        LR the one before would have given it)."""
        return (self.origin, self.schedule, self.groups)


@dataclass(frozen=True)
class Timeline:
    """Pieces in order of start; the last piece decides how long the run is.

    A mid-run edit never rewrites the past: it installs a new piece that starts at
    the current step, so every step before it keeps the LR that was applied.
    """

    pieces: tuple[Piece, ...]
    plateau: PlateauRule | None = None
    base_momentum: float | None = None

    def __post_init__(self) -> None:
        # A run configured with momentum 0 has none to cycle: a one-cycle's 0.95 → 0.85 silently overrode the plain SGD
        # asked for (and the stability bound measured for it). Turned off in the segments themselves, so the editor, the
        # exported file and PyTorch's own schedulers built from it agree with what trains.
        if self.base_momentum == 0:
            object.__setattr__(self, "pieces", tuple(p.without_momentum() for p in self.pieces))

    @classmethod
    def of(cls, schedule: Schedule, groups: tuple[GroupSetting, ...] = EVERY_GROUP, **kwargs) -> Timeline:
        """A timeline that is one schedule from step 0, with ``groups`` settings."""
        return cls((Piece(0, 0, schedule, tuple(groups)),), **kwargs)

    @cached_property
    def _starts(self) -> list[int]:
        return [p.start for p in self.pieces]

    @property
    def total_steps(self) -> int:
        """The run's length in steps."""
        return self.pieces[-1].end

    @property
    def group_names(self) -> tuple[str, ...]:
        """Every group name the pieces set, in order of first mention (``all`` included)."""
        return tuple(dict.fromkeys(g.name for p in self.pieces for g in p.groups))

    def validate(self) -> None:
        """ValueError naming the first invalid segment: a plan stretched to a very short run can leave a shape's phase
        without a step (a one-cycle of 1 step trained at its final LR, and its stored run could not be read back)."""
        for piece in self.pieces:
            piece.schedule.validate()

    def check_groups(self, names: tuple[str, ...]) -> None:
        """GroupMismatch (a ValueError) unless every piece drives exactly the parameter groups ``names``."""
        for piece in self.pieces:
            resolve(piece.groups, names)

    def piece_at(self, step: int) -> Piece:
        """The piece that gives the LR of ``step``."""
        return self.pieces[max(0, bisect.bisect_right(self._starts, step) - 1)]

    def _which(self, steps: np.ndarray) -> np.ndarray:
        return np.maximum(np.searchsorted(self._starts, steps, side="right") - 1, 0)

    def _evaluate(self, steps: np.ndarray, momentum: bool) -> np.ndarray:
        steps = np.asarray(steps, float)
        out = np.empty(steps.shape)
        for index, mask in partition(self._which(steps)):
            piece = self.pieces[index]
            local = steps[mask] - piece.origin
            out[mask] = piece.schedule.momenta(local) if momentum else piece.schedule.lrs(local)
        return out

    def lrs(self, steps: np.ndarray) -> np.ndarray:
        """Base LR (multiplier 1) at each global step, vectorized."""
        return self._evaluate(steps, momentum=False)

    def momenta(self, steps: np.ndarray) -> np.ndarray:
        """Scheduled momentum at each global step; ``base_momentum`` (or NaN) where none is scheduled."""
        values = self._evaluate(steps, momentum=True)
        if self.base_momentum is not None:
            values[np.isnan(values)] = self.base_momentum
        return values

    def lr_at(self, step: int) -> float:
        """Base LR at one global step."""
        piece = self.piece_at(step)
        return piece.schedule.lr_at(step - piece.origin)

    def peak_lr(self) -> float:
        """The highest base LR the run reaches. A piece in force over the whole of its schedule reaches the schedule's
        own peak (a one-cycle's top may fall between two steps); one that starts past its origin or that the next piece
        cuts short reaches only the LRs of its own steps: a one-cycle of max 0.2 set to 0.025 two steps in never trains
        above 0.025, and a tune that called 0.2 the plan's peak trained every trial at an eighth of its LR (helper-91)."""
        stops = [*self._starts[1:], self.total_steps]
        peaks = []
        for piece, stop in zip(self.pieces, stops):
            if piece.start <= piece.origin and stop >= piece.end:
                peaks.append(peak_lr(piece.schedule))
            elif stop > piece.start:
                peaks.append(float(piece.schedule.lrs(np.arange(piece.start, stop, dtype=float) - piece.origin).max()))
        return max(peaks)

    def with_peak_lr(self, lr: float) -> Timeline:
        """The same timeline (shapes, group multipliers, momentum) scaled so that its highest LR is ``lr``; ValueError
        for one whose LR is 0 at every step."""
        peak = self.peak_lr()
        if peak <= 0:
            raise ValueError("the schedule's LR is 0 at every step, so it cannot be scaled to a peak")
        factor = lr / peak
        return replace(self, pieces=tuple(replace(p, schedule=p.schedule.scaled(factor)) for p in self.pieces))

    def group_settings(self, steps: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(multiplier, frozen) of each group in ``names`` at each step: two arrays of shape (steps, groups)."""
        steps = np.asarray(steps, float).ravel()
        multipliers = np.empty((len(steps), len(names)))
        frozen = np.empty((len(steps), len(names)), dtype=bool)
        for index, mask in partition(self._which(steps)):
            settings = resolve(self.pieces[index].groups, names)
            multipliers[mask] = [g.multiplier for g in settings]
            frozen[mask] = steps[mask][:, None] < np.array([g.frozen_until for g in settings])
        return multipliers, frozen

    def group_lrs(self, steps: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        """The LR of each group in ``names`` at each step (0 while a group is frozen), shape (steps, groups)."""
        multipliers, frozen = self.group_settings(steps, names)
        return np.where(frozen, 0.0, self.lrs(np.asarray(steps, float).ravel())[:, None] * multipliers)

    def multipliers_at(self, step: int, names: tuple[str, ...]) -> list[float]:
        """Each group's multiplier at ``step``, 0 for a frozen group (how a range test keeps the groups' ratios)."""
        multipliers, frozen = self.group_settings(np.asarray([step]), names)
        return np.where(frozen, 0.0, multipliers)[0].tolist()

    def momentum_at(self, step: int) -> float:
        """Scheduled momentum at ``step`` (NaN when neither a segment nor base_momentum sets it)."""
        return float(self.momenta(np.asarray([step]))[0])

    def install(self, piece: Piece) -> Timeline:
        """A timeline in which ``piece`` takes over from its start step."""
        kept = tuple(p for p in self.pieces if p.start < piece.start)
        return replace(self, pieces=(*kept, piece))

    def to_train_again(self, plateau_cuts: int, taken_back: Sequence[tuple[int, int]] = ()) -> Timeline:
        """This timeline to train once more, after its run's plateau rule cut the LR ``plateau_cuts`` times: the cuts
        are pieces of it now, so the rule is dropped (left on, it would cut again where it had cut).

        ``taken_back``: the step ranges [first, end) between an edit and what reversed it (an undo, or a redo of an
        undo; ``taken_back`` of edits.py). Their pieces are left out and the piece in force at a range's end takes over
        from its start: an edit at step 30 undone at 35 trained steps 30-34 at the edit's LR, and every run trained from
        the file kept that dip, which the user had taken back. A piece that then only continues the one before it is
        merged into it (an edit undone at its own step left one, which as a plan read as an edit).
        """
        pieces, starts = list(self.pieces), list(self._starts)
        # Overlapping ranges as one, the plan in force at its end taking over from its start: taken one by one, an older
        # undo inside a later one deleted the piece the later reversal had just moved there, and a set LR undone,
        # redone, with a scale between them undone twice, trained as if never made (helper-78). Latest first, so that
        # the positions found stay valid. (A range reversed at its own step, or that a rollback went back past, is empty.)
        for first, end in reversed(merged_spans(taken_back)):
            # By bisection: a file may hold 100,000 pieces and as many undos.
            low, high = bisect.bisect_left(starts, first), bisect.bisect_left(starts, end)
            del pieces[low:high], starts[low:high]
            if low < len(starts) and starts[low] == end:
                pieces[low], starts[low] = replace(pieces[low], start=first), first
        merged = pieces[:1] + [p for before, p in zip(pieces, pieces[1:]) if p.plan != before.plan]
        return replace(self, pieces=tuple(merged), plateau=None if plateau_cuts else self.plateau)

    def stretched(self, total_steps: int) -> Timeline:
        """The whole timeline re-timed to last ``total_steps``, every shape in proportion."""
        factor = total_steps / self.total_steps
        pieces = [
            Piece(round(p.start * factor), round(p.origin * factor), p.schedule.stretched(factor),
                  tuple(g.stretched(factor) for g in p.groups))
            for p in self.pieces
        ]
        # Squeezed into a shorter run, edits made steps apart can fall on one step: the last of them takes over there, as
        # `install` does (three pieces from step 0 trained right, but made a schedule file lrscope refused to read).
        pieces = [piece for piece, after in zip(pieces, pieces[1:]) if piece.start < after.start] + pieces[-1:]
        last = pieces[-1]
        # Rounding may leave the run a step short or long: the last segment absorbs it.
        last_length = last.schedule.segments[-1].steps + total_steps - last.end
        pieces[-1] = replace(last, schedule=last.schedule.with_last_length(max(1, last_length)))
        return replace(self, pieces=tuple(pieces))


def merged_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The step ranges [first, end) that ``spans`` cover together, in order (empty ones left out)."""
    merged: list[tuple[int, int]] = []
    for first, end in sorted(span for span in spans if span[0] < span[1]):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((first, end))
    return merged
