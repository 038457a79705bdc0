"""Mid-run edits of a schedule, the record of each, and undo.

An edit made at step k installs a new timeline piece from k on; the steps before k
keep what was applied. Every edit is recorded with its step, what it changed and
why, and the piece it replaced, so the last edit can be undone.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ScheduleFileError
from ..plain import JsonObject
from ..text import counted
from .codec import MAX_PIECES, param_from_json
from .describe import describe_pieces, describe_revision, describe_schedule, describe_segment_change, fmt_lr
from .groups import GroupSetting, changed_settings, describe_groups, unfrozen, validate_groups
from .presets import with_peak_lr
from .sampling import highest_from
from .schedule import Schedule
from .shapes import Constant
from .shapes.base import MAX_SET_LR, POINTS, STEP_LIST
from .timeline import Piece, Timeline

REASONS = ("user", "plateau", "range_test", "rollback", "curvature")
MAX_SCALE = 1e6  # scaling the rest by more is a slip of the exponent, whatever the LR


@dataclass(frozen=True)
class Edit:
    """Base of every edit; ``reason`` says why it was made, ``source`` which remote client sent it (empty: this process)."""

    kind = ""
    reason: str = field(default="user", kw_only=True)
    source: str = field(default="", kw_only=True)


@dataclass(frozen=True)
class ReplaceRest(Edit):
    """Replace the rest of the run with a new schedule that starts now."""

    kind = "replace_rest"
    schedule: Schedule
    from_current_lr: bool = False
    # Stretched over the steps the run has left when it is applied: a client that measured them a moment earlier
    # would lengthen a run that went on meanwhile (`lrscope ctl apply` added a step).
    fit_rest: bool = False


@dataclass(frozen=True)
class ReplaceRestWithPlan(Edit):
    """Replace the rest of the run with a plan of several pieces (a schedule file holding a run's edits), the whole plan
    stretched over the steps left: piece i's schedule runs from ``starts[i]`` on, its step 0 at ``origins[i]``, in the
    plan's own steps."""

    kind = "replace_rest_with_plan"
    schedules: tuple[Schedule, ...]
    starts: tuple[int, ...]
    origins: tuple[int, ...]

    @classmethod
    def of(cls, plan: Timeline, **kwargs) -> ReplaceRestWithPlan:
        """The edit that replaces the rest with ``plan``'s pieces (their group settings are the run's)."""
        pieces = plan.pieces
        return cls(tuple(p.schedule for p in pieces), tuple(p.start for p in pieces), tuple(p.origin for p in pieces), **kwargs)


@dataclass(frozen=True)
class ChangeSegment(Edit):
    """Change some parameters of one segment of the schedule in force."""

    kind = "change_segment"
    index: int
    changes: JsonObject


@dataclass(frozen=True)
class Revise(Edit):
    """Replace the schedule in force by a revised version that keeps its place on the step axis."""

    kind = "revise"
    schedule: Schedule


@dataclass(frozen=True)
class ScaleRest(Edit):
    """Multiply every LR from now on by ``factor``."""

    kind = "scale_rest"
    factor: float


@dataclass(frozen=True)
class SetPeak(Edit):
    """Scale the schedule in force so its highest LR is ``lr`` (how a range-test suggestion is used)."""

    kind = "set_peak"
    lr: float


@dataclass(frozen=True)
class SetConstant(Edit):
    """Hold ``lr`` from now to the end of the run."""

    kind = "set_constant"
    lr: float


@dataclass(frozen=True)
class Restretch(Edit):
    """Lengthen or shorten the run to ``total_steps``; the remaining segments are re-stretched."""

    kind = "restretch"
    total_steps: int


@dataclass(frozen=True)
class SetGroups(Edit):
    """From now on, train the parameter groups with these settings (multiplier, freeze span), by name.

    They replace the settings in force; name ``all`` to cover groups not named
    (e.g. "unfreeze now" sets the group's ``frozen_until`` to the current step).
    """

    kind = "set_groups"
    groups: tuple[GroupSetting, ...]


def groups_summary(before, after, step: int) -> str:
    """What a group edit changed: a window edit sends every group's setting, and one multiplier typed was logged as all."""
    changed = changed_settings(before, after, step)
    if not changed or len(changed) == len(after):
        return f"groups: {describe_groups(after)}"
    return f"groups: {describe_groups(changed)} (the others as they were)"


@dataclass(frozen=True)
class Unfreeze(Edit):
    """Unfreeze the parameter groups ``groups`` now (every frozen group when empty); their multipliers stay."""

    kind = "unfreeze"
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Undo(Edit):
    """Take back the last edit not yet undone, from now on."""

    kind = "undo"


@dataclass(frozen=True)
class Redo(Edit):
    """Make again, from now on, the edit the last undo took back (while no other edit came after that undo)."""

    kind = "redo"


@dataclass(frozen=True)
class LoggedEdit(Edit):
    """An edit read back from a checkpoint: its kind and parameters as they were recorded."""

    logged_kind: str = ""
    details: JsonObject = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.logged_kind


@dataclass(frozen=True)
class EditRecord:
    """What happened: the edit, where, why, a one-line summary, and the plan it changed: the piece in force at its step
    (``before``) and the pieces planned after that step (``later``, from a schedule of several pieces), for undo."""

    id: int
    step: int
    edit: Edit
    summary: str
    before: Piece
    undoes: int | None = None
    later: tuple[Piece, ...] = ()
    redoes: int | None = None  # the undo a redo took back


@dataclass(frozen=True)
class RunSchedule:
    """A run's timeline together with the record of every edit made to it."""

    timeline: Timeline
    edits: tuple[EditRecord, ...] = ()

    def apply(self, edit: Edit, step: int, current_lr: float) -> RunSchedule:
        """The run schedule after ``edit`` at ``step``; ValueError (naming what is wrong) if it is invalid.

        Every edit but SetGroups and Unfreeze keeps the group settings in force; Undo restores those of the piece it undoes.
        """
        if edit.reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(REASONS)}, got {edit.reason!r}")
        total = self.timeline.total_steps
        if step >= total and not _sets_the_length(edit):
            # Set LR now at the end held the LR "for the rest", a step that did not exist: each late click added one.
            raise ValueError(f"the run has trained all its {counted(total, 'step')}: nothing is left for this edit to change "
                             "(to train on, lengthen the run)")
        before = self.timeline.piece_at(step)
        later = tuple(p for p in self.timeline.pieces if p.start > step)
        undoes, redoes, kept = None, None, ()
        if isinstance(edit, Undo):
            target = self.undo_target()
            if target is None:
                raise ValueError("there is no edit to undo")
            piece, kept = _as_planned_before(target, step)
            summary, undoes = f"undid edit #{target.id} ({self._undone_words(target)})", target.id
        elif isinstance(edit, Redo):
            taken_back = self.redo_target()
            if taken_back is None:
                raise ValueError(f"there is no undone edit to redo ({self._why_no_redo()})")
            # The plan as it was before the undo, from now on: the undone edit's own result, whatever its kind.
            piece, kept = _as_planned_before(taken_back, step)
            redone = self._made_by(taken_back.undoes)
            summary, redoes = f"redid edit #{redone.id} ({redone.summary})", taken_back.id
        elif isinstance(edit, Unfreeze):
            groups = unfrozen(before.groups, edit.groups, step)
            named = ", ".join(edit.groups) or "every frozen group"
            piece, summary = Piece(step, before.origin, before.schedule, groups), f"unfroze {named}{_low_for_now(self.timeline, step)}"
            kept = tuple(dataclasses.replace(p, groups=unfrozen(p.groups, edit.groups, step)) for p in later)
        elif isinstance(edit, SetGroups):
            validate_groups(edit.groups)
            piece, summary = Piece(step, before.origin, before.schedule, tuple(edit.groups)), groups_summary(before.groups, edit.groups, step)
            kept = tuple(dataclasses.replace(p, groups=tuple(edit.groups)) for p in later)
        elif isinstance(edit, ReplaceRestWithPlan):
            piece, *rest = _plan_over_the_rest(edit, step, self.timeline.total_steps, before.groups)
            kept = tuple(rest)
            summary = f"replaced the rest with a plan of {len(rest) + 1} pieces: {describe_pieces(Timeline((piece, *rest)))}"
        else:
            piece, summary = _piece_for(edit, before, step, current_lr, self.timeline.total_steps)
            piece = dataclasses.replace(piece, groups=before.groups)
            kept = _later_after(edit, later, step, self.timeline.total_steps)
        piece.schedule.validate()
        if piece.end <= step:
            raise ValueError(f"the edited schedule ends at step {piece.end}, before the current step {step}")
        timeline = self.timeline.install(piece)
        for next_piece in kept:  # each starts after the one before: install keeps those
            timeline = timeline.install(next_piece)
        if undoes is None and redoes is None:  # an undo or a redo goes back to a momentum its edit already said
            summary += momentum_change(self.timeline.momentum_at(step), timeline.momentum_at(step))
        if timeline.total_steps != total and not isinstance(edit, Restretch):  # a Restretch says nothing else
            # Said of a revised schedule whose segments add up to another length: the run ended 212 steps early, and
            # the record said only "revised the schedule: …" (helper-79).
            summary += f"; the run now ends at step {timeline.total_steps}, not {total}"
        record = EditRecord(len(self.edits) + 1, step, edit, summary, before, undoes, later, redoes)
        return RunSchedule(timeline, (*self.edits, record))

    @property
    def plateau_cuts(self) -> int:
        """How many of the edits the plateau rule made."""
        return sum(record.edit.reason == "plateau" for record in self.edits)

    def taken_back(self) -> list[tuple[int, int]]:
        """The step ranges between an edit and what reversed it, for Timeline.to_train_again (see ``taken_back``)."""
        return taken_back(self._links())

    def fates(self) -> dict[int, str]:
        """What became of each edit later undone, by its id (see ``fates``)."""
        return fates(self._links())

    def to_train_again(self) -> Timeline:
        """The schedule to train once more: without what the run took back, its plateau cuts kept as pieces."""
        return self.timeline.to_train_again(self.plateau_cuts, self.taken_back())

    def undo_target(self) -> EditRecord | None:
        """The most recent edit that is not an undo and has not been undone."""
        in_effect = self.in_effect()
        return in_effect[-1] if in_effect else None

    def _made_by(self, record_id: int) -> EditRecord:
        """The edit that record ``record_id`` made (see ``maker_of``)."""
        by_id = {record.id: record for record in self.edits}
        return by_id[maker_of(self._links())(record_id)]

    def _links(self) -> list[tuple[int, int, int | None, int | None]]:
        """(id, step, undoes, redoes) of each record, in order: what ties undos and redos to their edits."""
        return [(r.id, r.step, r.undoes, r.redoes) for r in self.edits]

    def _undone_words(self, target: EditRecord) -> str:
        """What undoing ``target`` takes back: its summary, or for a redo the edit it made again ("undid edit #4 (redid
        edit #2 (scaled the rest ×0.5))" left the user to work out that the ×0.5 was gone)."""
        if target.redoes is None:
            return target.summary
        made = self._made_by(target.id)
        return f"the redo of edit #{made.id}: {made.summary}"

    def redo_target(self) -> EditRecord | None:
        """The undo a Redo takes back: the latest not yet redone among those made since the last other edit (a new
        edit ends what can be redone, as in any editor; a redo is an edit in effect, which Undo takes back)."""
        pending: list[EditRecord] = []
        for record in self.edits:
            if record.undoes is not None:
                pending.append(record)
            elif record.redoes is not None:
                pending = [r for r in pending if r.id != record.redoes]
            else:
                pending = []
        return pending[-1] if pending else None

    def _why_no_redo(self) -> str:
        """Why redo_target() is None, in words: it blamed "an edit made after an undo" when a redo had used it up."""
        undone_since_edit = ended_by_edit = False
        for record in self.edits:
            if record.undoes is not None:
                undone_since_edit, ended_by_edit = True, False
            elif record.redoes is None:
                ended_by_edit, undone_since_edit = undone_since_edit, False
        if ended_by_edit:
            return "an edit made after the undo ends what can be redone"
        return "each undone edit has been redone" if undone_since_edit else "nothing has been undone"

    def in_effect(self) -> list[EditRecord]:
        """The edits that are neither undos nor undone, in order (an edit and its undo are no edit of the schedule)."""
        undone = {r.undoes for r in self.edits if r.undoes is not None}
        return [record for record in self.edits if record.undoes is None and record.id not in undone]


def taken_back(records: list[tuple[int, int, int | None, int | None]]) -> list[tuple[int, int]]:
    """For each edit that reverses another (an undo its edit, a redo its undo), the steps from the reversed one to it,
    [first, end), latest reversal first; from (id, step, undoes, redoes) of each record in order.

    Undone, then redone, an edit trains again from its own step (helper-72: "redo still counts as undone"): the steps
    from its undo to its redo go, and its own steps before the undo stay, for they trained what stays. Taken back from
    the edit's step, two edits undone and then both redone trained again with the second from the first's step, the
    first lost (its redo lay inside the second's range)."""
    step_of = {record_id: step for record_id, step, _, _ in records}
    made_by = maker_of(records)
    undone = {undoes for _, _, undoes, _ in records if undoes is not None}
    stays = {made_by(rid) for rid, _, undoes, _ in records if undoes is None and rid not in undone}
    spans = []
    for _, step, undoes, redoes in reversed(records):
        if undoes is not None and made_by(undoes) in stays:
            continue
        reversed_id = undoes if undoes is not None else redoes
        if reversed_id in step_of:
            spans.append((step_of[reversed_id], step))
    return spans


def maker_of(records: list[tuple[int, int, int | None, int | None]]) -> Callable[[int], int | None]:
    """A function giving the id of the edit that a record made: its own, or for a redo the edit it made again (a redo
    of a redo read "redid edit #3 (redid edit #1 (…))"); None where a hand-made file names a record it does not hold
    (bounded: such a file may also loop)."""
    undoes_of = {rid: undoes for rid, _, undoes, _ in records}
    redoes_of = {rid: redoes for rid, _, _, redoes in records}

    def made_by(record_id: int | None) -> int | None:
        for _ in range(len(records) + 1):
            if redoes_of.get(record_id) is None:
                return record_id
            record_id = undoes_of.get(redoes_of[record_id])
        return None
    return made_by


def fates(records: list[tuple[int, int, int | None, int | None]]) -> dict[int, str]:
    """What became of each edit that later records reversed: "undone at step 30, redone at step 41, undone again at
    step 50", by the edit's id; from (id, step, undoes, redoes) of each record in order. An edit's line ended "redone"
    while an undo of the redo had taken it back again (helper-73)."""
    undo_of = {undoes: (rid, step) for rid, step, undoes, _ in records if undoes is not None}
    redo_of = {redoes: (rid, step) for rid, step, _, redoes in records if redoes is not None}
    said = {}
    for rid, _, undoes, redoes in records:
        if undoes is not None or redoes is not None:
            continue
        words, current = [], rid
        while (undo := undo_of.get(current)) and len(words) < 2 * len(records):  # bounded: a hand-made file may loop
            words.append(f"undone{' again' if words else ''} at step {undo[1]}")
            if (redo := redo_of.get(undo[0])) is None:
                break
            words.append(f"redone{' again' if len(words) > 1 else ''} at step {redo[1]}")
            current = redo[0]
        if words:
            said[rid] = ", ".join(words)
    return said


def _low_for_now(timeline: Timeline, step: int) -> str:
    """"; the schedule's LR is 8e-08 now and reaches 0.01 at step 52: …" when an unfreeze lands where the schedule has
    all but annealed away, else "". Unfrozen late in a fine-tune's head-only phase, the groups trained at ~1e-9 until
    the next phase without a word, so unfreezing early bought nothing (helper-69)."""
    at, highest = highest_from(timeline, step)
    now = timeline.lr_at(step)
    if not highest or now >= LOW_FOR_NOW * highest:
        return ""
    return f"; the schedule's LR is {fmt_lr(now)} now and reaches {fmt_lr(highest)} at step {at}: they learn little until then"


LOW_FOR_NOW = 0.01  # of the highest LR still to come: a one-cycle's tail, or the gap between a fine-tune's phases
MOMENTUM_WORTH_SAYING = 0.005  # a tenth of a one-cycle's swing (0.95 → 0.85)


def momentum_change(before: float, after: float) -> str:
    """"; momentum 0.85 → 0.9" when an edit moves the momentum (a Set LR in a one-cycle's trough went back to the
    base momentum without a word), else "". A move under 0.005 is not worth a word: "momentum 0.901 → 0.9" was noise."""
    if math.isnan(before) or math.isnan(after) or abs(before - after) < MOMENTUM_WORTH_SAYING:
        return ""
    return f"; momentum {before:.3g} → {after:.3g}"


def _as_planned_before(target: EditRecord, step: int) -> tuple[Piece, tuple[Piece, ...]]:
    """The plan as it was before ``target``, from ``step`` on: the piece then in force at ``step`` and those after it
    (an undo kept only the piece in force at the edit's step, and a schedule file's later pieces were lost)."""
    planned = (target.before, *target.later)
    old = [p for p in planned if p.start <= step][-1]
    return Piece(step, old.origin, old.schedule, old.groups), tuple(p for p in planned if p.start > step)


def _plan_over_the_rest(edit: ReplaceRestWithPlan, step: int, total: int, groups) -> list[Piece]:
    """The plan's pieces stretched over the steps from ``step`` to ``total``, with the groups in force (as a replacement
    of the rest by one schedule keeps them)."""
    # From a client: checked as a schedule file's timeline is, in one line.
    if not 0 < len(edit.schedules) == len(edit.starts) == len(edit.origins) <= MAX_PIECES or edit.starts[0] != 0:
        raise ValueError(f"a plan must have 1 to {MAX_PIECES} pieces, each with a start and an origin, the first starting at 0")
    for i, (schedule, start, origin) in enumerate(zip(edit.schedules, edit.starts, edit.origins)):
        if i and not start > edit.starts[i - 1]:
            raise ValueError(f"piece {i} of the plan must start after the one before it, at {edit.starts[i - 1]}, got {start}")
        if origin > start:
            raise ValueError(f"piece {i} of the plan starts at {start}, before its schedule's origin {origin}")
        schedule.validate()
    plan = Timeline(tuple(Piece(start, origin, schedule) for schedule, start, origin in zip(edit.schedules, edit.starts, edit.origins)))
    if plan.total_steps <= plan.pieces[-1].start:
        raise ValueError(f"the plan's last piece ends at step {plan.total_steps}, where it starts")
    return [Piece(p.start + step, p.origin + step, p.schedule, groups) for p in plan.stretched(max(1, total - step)).pieces]


def _later_after(edit: Edit, later: tuple[Piece, ...], step: int, total: int) -> tuple[Piece, ...]:
    """The pieces planned after ``step`` once ``edit`` is made there: a replacement of the rest drops them, a scale of
    every LR from now on scales them, a new run length re-times them, and an edit of the schedule in force keeps them."""
    if isinstance(edit, (ReplaceRest, SetConstant)):
        return ()
    if isinstance(edit, ScaleRest):
        return tuple(dataclasses.replace(p, schedule=p.schedule.scaled(edit.factor)) for p in later)
    if isinstance(edit, Restretch):
        factor = (edit.total_steps - step) / max(1, total - step)
        at = lambda global_step: step + round((global_step - step) * factor)  # noqa: E731 (the steps after `step`, re-timed)
        timed = [Piece(at(p.start), at(p.origin), p.schedule.stretched(factor), p.groups) for p in later]
        if timed:  # rounding must not move the run's end: the last piece ends where the run now does
            last = timed[-1]
            tail = last.schedule.segments[-1].steps + edit.total_steps - last.end
            timed[-1] = dataclasses.replace(last, schedule=last.schedule.with_last_length(max(1, tail)))
        return tuple(timed)
    return later


def _sets_the_length(edit: Edit) -> bool:
    """Whether ``edit`` says how long the run is (a new length, a schedule of its own length): the others change the
    steps left, so at the end of a run there is nothing for them to change."""
    return isinstance(edit, Restretch) or (isinstance(edit, ReplaceRest) and not edit.fit_rest)


def _piece_for(edit: Edit, current: Piece, step: int, current_lr: float, total: int) -> tuple[Piece, str]:
    """The piece an edit installs at ``step`` and its summary."""
    if isinstance(edit, ReplaceRest):
        schedule = edit.schedule.fitted(max(1, total - step)) if edit.fit_rest else edit.schedule
        schedule = schedule.starting_at(current_lr) if edit.from_current_lr else schedule
        return Piece(step, step, schedule), f"replaced the rest with {describe_schedule(schedule)}"
    if isinstance(edit, ChangeSegment):
        return _changed_segment(edit, current, step)
    if isinstance(edit, Revise):
        return Piece(step, current.origin, edit.schedule), f"revised the schedule: {describe_revision(current.schedule, edit.schedule)}"
    if isinstance(edit, ScaleRest):
        _check_in("the factor to scale the rest by", edit.factor, MAX_SCALE)
        scaled = current.schedule.scaled(edit.factor)
        # The factor's own bound let ×1e6 through, which puts a 0.2 peak at 200000 (helper-72): the LR it reaches is what
        # a run can take or not.
        _, peak = highest_from(Timeline((Piece(step, current.origin, scaled),)), step)
        if peak > MAX_SET_LR:
            raise ValueError(f"scaled ×{edit.factor:g}, the schedule would reach an LR of {fmt_lr(peak)}, above the highest a run "
                             f"takes ({MAX_SET_LR:g}); a factor under 1 lowers the rest")
        return Piece(step, current.origin, scaled), f"scaled the rest ×{edit.factor:.4g}"
    if isinstance(edit, SetPeak):
        _check_in("the peak LR", edit.lr, MAX_SET_LR)
        return Piece(step, current.origin, with_peak_lr(current.schedule, edit.lr)), f"scaled the schedule to a peak LR of {fmt_lr(edit.lr)}"
    if isinstance(edit, SetConstant):
        _check_held_lr(edit.lr)
        remaining = max(1, total - step)
        return (Piece(step, step, Schedule((Constant(steps=remaining, lr=edit.lr),))),
                f"set LR to {fmt_lr(edit.lr)} for the rest{_multiplied(current.groups, edit.lr)}")
    if isinstance(edit, Restretch):
        return _restretched(current, step, edit.total_steps), f"changed the run's length to {counted(edit.total_steps, 'step')}"
    raise ValueError(f"unknown edit {type(edit).__name__}")


def _multiplied(groups: tuple[GroupSetting, ...], lr: float) -> str:
    """", times each group's multiplier (head ×10 → 0.1)" when groups train at other multipliers than 1: "set LR to 0.01"
    read as every group's LR when the head went on at 0.1."""
    others = [g for g in groups if g.multiplier != 1]
    if not others:
        return ""
    return ", times each group's multiplier (" + ", ".join(f"{g.name} ×{g.multiplier:g} → {fmt_lr(lr * g.multiplier)}"
                                                         for g in others) + ")"


def _changed_segment(edit: ChangeSegment, current: Piece, step: int) -> tuple[Piece, str]:
    segments = current.schedule.segments
    if not 0 <= edit.index < len(segments):
        raise ValueError(f"index must name one of the {len(segments)} segments, got {edit.index}")
    old = segments[edit.index]
    kinds = {f.name: f.metadata["kind"] for f in old.params()}
    unknown = set(edit.changes) - set(kinds)
    if unknown:
        raise ValueError(f"{old.kind} has no parameter {', '.join(sorted(str(u)[:40] for u in unknown))} (its parameters: "
                         f"{', '.join(kinds)})")
    changes = {name: _as_held(value, kinds[name], name) for name, value in edit.changes.items()}
    schedule = current.schedule.replace_segment(edit.index, **changes)
    return Piece(step, current.origin, schedule), describe_segment_change(edit.index, old, changes)


def _as_held(value: Any, kind: str, name: str) -> Any:
    """A list-valued parameter as the shape holds it (tuples), checked like a schedule file's: an edit from
    another process arrives as JSON lists, and must be refused, not crash the run, when it is malformed."""
    if kind not in (STEP_LIST, POINTS):
        return value
    try:
        return param_from_json(_as_lists(value), kind, name)
    except ScheduleFileError as error:
        raise ValueError(str(error)) from None


def _as_lists(value: Any) -> Any:
    return [_as_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


def _restretched(current: Piece, step: int, total_steps: int) -> Piece:
    """The current piece with what remains after ``step`` stretched to end at ``total_steps``."""
    remaining, wanted = current.end - step, total_steps - step
    if wanted < 1:
        raise ValueError(f"total_steps must be after the current step {step}, got {total_steps}")
    if remaining < 1:
        return Piece(step, step, Schedule((Constant(steps=wanted, lr=current.schedule.lr_at(current.schedule.total_steps)),)))
    factor = wanted / remaining
    stretched = current.schedule.stretched(factor)
    origin = step - round((step - current.origin) * factor)
    last_length = stretched.segments[-1].steps + total_steps - (origin + stretched.total_steps)
    return Piece(step, origin, stretched.with_last_length(max(1, last_length)))


def _check_held_lr(lr: float) -> None:
    """An LR held to the end must train: 0 would keep the run going while nothing learns (pause does that honestly).
    A string is the schedule's own checks' (NaN was too, where it was "segments[0] (constant): lr must be finite")."""
    if isinstance(lr, float) and math.isnan(lr):
        raise ValueError("the LR to hold must be a number, got nan")
    if isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr <= 0:
        raise ValueError(f"the LR to hold must be above 0, got {lr:g} (to stop training for a while, pause)")
    if isinstance(lr, (int, float)) and lr > MAX_SET_LR:
        raise ValueError(f"the LR to hold must be at most {MAX_SET_LR:g}, got {lr:g}")


def _check_in(what: str, value: float, high: float) -> None:
    """``value`` a number above 0 and at most ``high``; ValueError names ``what`` and the bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= high:
        shown = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)
        raise ValueError(f"{what} must be above 0 and at most {high:g}, got {shown}")


def edit_details(edit: Edit) -> dict[str, Any]:
    """Plain-data parameters of an edit (a schedule is summarized, not embedded)."""
    if isinstance(edit, LoggedEdit):
        return edit.details
    details = {}
    for f in dataclasses.fields(edit):
        if f.name == "source":
            continue
        value = getattr(edit, f.name)
        if isinstance(value, Schedule):
            value = describe_schedule(value)
        elif f.name == "schedules":
            value = [describe_schedule(schedule) for schedule in value]
        elif f.name == "groups":
            value = [dataclasses.asdict(g) if isinstance(g, GroupSetting) else g for g in value]
        details[f.name] = value
    return details
