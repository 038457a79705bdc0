"""Editing a running schedule: every edit, its record, undo, and the past left as it was."""

import re

import numpy as np
import pytest

from engine.schedules import (
    ChangeSegment,
    Constant,
    Cosine,
    GroupSetting,
    Linear,
    OneCycle,
    Redo,
    ReplaceRest,
    Restretch,
    Revise,
    RunSchedule,
    ScaleRest,
    Schedule,
    SetConstant,
    SetGroups,
    SetPeak,
    Timeline,
    Undo,
    Unfreeze,
)
from engine.schedules.history_codec import run_schedule_from_dict, run_schedule_to_dict
from engine.schedules.timeline import merged_spans


def base():
    return RunSchedule(Timeline.of(Schedule((Linear(steps=10, start_lr=0.0, end_lr=0.1), Cosine(steps=90, start_lr=0.1)))))


def test_an_edit_changes_only_the_future():
    run = base()
    before = run.timeline.lrs(np.arange(100))
    edited = run.apply(ScaleRest(0.5), step=40, current_lr=run.timeline.lr_at(39))
    after = edited.timeline.lrs(np.arange(100))
    assert np.array_equal(after[:40], before[:40])
    assert np.allclose(after[40:], before[40:] * 0.5)
    record = edited.edits[-1]
    assert (record.step, record.edit.reason, record.summary) == (40, "user", "scaled the rest ×0.5")


@pytest.mark.parametrize("edit", [SetConstant(1e-7), ScaleRest(0.5), SetPeak(0.05), Undo(),
                                  ReplaceRest(Schedule((Cosine(steps=30, start_lr=1.0),)), fit_rest=True)])
def test_at_the_end_of_a_run_an_edit_of_the_steps_left_is_refused_not_a_step_added(edit):
    """Set LR now as a run ended held the LR "for the rest", one step that did not exist: each late click added one
    (110 steps became 117, each with a validation)."""
    run = base().apply(ScaleRest(0.9), step=50, current_lr=0.1)
    with pytest.raises(ValueError, match="the run has trained all its 100 steps: nothing is left for this edit to change"):
        run.apply(edit, step=100, current_lr=0.01)
    # What says the run's length still may: it is how a finished run is lengthened.
    assert run.apply(Restretch(150), step=100, current_lr=0.01).timeline.total_steps == 150
    longer = run.apply(ReplaceRest(Schedule((Constant(steps=20, lr=0.01),))), step=100, current_lr=0.01)
    assert longer.timeline.total_steps == 120


def test_replace_rest_from_the_current_lr_has_no_jump():
    run = base()
    current = run.timeline.lr_at(49)
    edited = run.apply(ReplaceRest(Schedule((Cosine(steps=30, start_lr=1.0),)), from_current_lr=True), 50, current)
    assert edited.timeline.lr_at(50) == pytest.approx(current)
    assert edited.timeline.total_steps == 80


def test_replace_rest_fitted_to_the_rest_keeps_the_runs_length_wherever_it_lands():
    run = base()
    total = run.timeline.total_steps
    for step in (50, 51, 57):  # a client measured the rest at step 50; the run went on before the edit arrived
        edited = run.apply(ReplaceRest(Schedule((Cosine(steps=30, start_lr=1.0),)), fit_rest=True), step, 0.05)
        assert edited.timeline.total_steps == total and edited.timeline.pieces[-1].schedule.total_steps == total - step


def test_replace_rest_with_a_jump_when_asked():
    edited = base().apply(ReplaceRest(Schedule((Constant(steps=20, lr=0.7),))), 50, 0.05)
    assert edited.timeline.lr_at(50) == 0.7


def test_change_one_segment_keeps_its_place_on_the_axis():
    edited = base().apply(ChangeSegment(1, {"end_lr": 0.02}), 60, 0.05)
    assert edited.timeline.lr_at(99) > 0.02 and edited.timeline.lr_at(100) == pytest.approx(0.02)
    assert edited.edits[-1].summary == "segment 2 (cosine): final LR 0 → 0.02"


def test_revise_keeps_the_schedule_on_its_axis():
    run = base()
    revised = run.timeline.pieces[0].schedule.replace_segment(1, end_lr=0.05)
    edited = run.apply(Revise(revised), 30, 0.1)
    assert edited.timeline.lr_at(30) == pytest.approx(revised.lr_at(30)) and edited.timeline.pieces[-1].origin == 0


def test_set_constant_and_set_peak():
    run = base().apply(SetConstant(0.003), 20, 0.1)
    assert run.timeline.lr_at(20) == run.timeline.lr_at(99) == 0.003 and run.timeline.total_steps == 100
    assert run.edits[-1].summary == "set LR to 0.003 for the rest"
    # With group multipliers the LR set is the base one, which "set LR to 0.01" alone did not say: the head went on at 0.1.
    grouped = RunSchedule(Timeline.of(base().timeline.pieces[0].schedule, groups=(GroupSetting("all"), GroupSetting("head", 10.0))))
    assert grouped.apply(SetConstant(0.01), 20, 0.1).edits[-1].summary == "set LR to 0.01 for the rest, times each group's multiplier (head ×10 → 0.1)"
    peaked = base().apply(SetPeak(0.5, reason="range_test"), 20, 0.1)
    assert peaked.timeline.lr_at(20) == pytest.approx(5 * base().timeline.lr_at(20))
    assert peaked.timeline.pieces[-1].schedule.lr_at(10) == pytest.approx(0.5) and peaked.edits[-1].edit.reason == "range_test"


def test_an_edit_that_moves_the_momentum_says_so():
    """Set LR at a one-cycle's peak went from its momentum trough 0.85 back to the base 0.9 without a word (helper-69)."""
    cycle = RunSchedule(Timeline.of(Schedule((OneCycle(steps=100, max_lr=0.4),)), base_momentum=0.9))
    peak = 30  # a one-cycle's default warm-up share: 0.3
    assert cycle.apply(SetConstant(0.05), peak, 0.4).edits[-1].summary == "set LR to 0.05 for the rest; momentum 0.85 → 0.9"
    assert cycle.apply(ScaleRest(0.5), peak, 0.4).edits[-1].summary == "scaled the rest ×0.5"  # the cycle goes on
    assert base().apply(SetConstant(0.05), peak, 0.1).edits[-1].summary == "set LR to 0.05 for the rest"  # none scheduled


def test_an_unfreeze_where_the_schedule_has_annealed_away_says_when_it_rises_again():
    """Unfrozen late in a fine-tune's head-only phase, the groups trained at ~1e-9 until the next phase, without a word."""
    phases = Schedule((OneCycle(steps=44, max_lr=0.01), OneCycle(steps=88, max_lr=0.01)))
    frozen = RunSchedule(Timeline.of(phases, groups=(GroupSetting("all", 0.1, frozen_until=44), GroupSetting("head"))))
    late = frozen.apply(Unfreeze(), 42, 1e-8).edits[-1].summary
    assert re.fullmatch(r"unfroze every frozen group; the schedule's LR is \S+ now and reaches 0.01 at step (\d+): they learn "
                        r"little until then", late) and 44 < int(re.search(r"at step (\d+)", late)[1]) < 80, late
    assert frozen.apply(Unfreeze(), 10, 0.005).edits[-1].summary == "unfroze every frozen group"  # the LR is up: nothing to say


@pytest.mark.parametrize("total", [60, 200])
def test_restretch_keeps_the_remaining_shape(total):
    run = base()
    edited = run.apply(Restretch(total), 40, run.timeline.lr_at(39))
    assert edited.timeline.total_steps == total
    assert edited.timeline.lr_at(40) == pytest.approx(run.timeline.lr_at(40), rel=0.05)
    assert edited.timeline.lr_at(total) == pytest.approx(0.0, abs=1e-9)


def test_to_train_again_a_piece_that_only_continues_the_one_before_it_is_merged_into_it():
    """An edit undone at its own step leaves the undo's piece, the same as the first: as a plan it read as an edit."""
    undone_at_once = base().apply(SetConstant(0.01), 30, 0.05).apply(Undo(), 30, 0.01)
    assert len(undone_at_once.timeline.pieces) == 2 and len(undone_at_once.edits) == 2  # the run's record keeps both
    again = undone_at_once.to_train_again()
    assert again.pieces == base().timeline.pieces
    assert np.array_equal(again.lrs(np.arange(100)), undone_at_once.timeline.lrs(np.arange(100)))


def test_to_train_again_leaves_out_what_the_run_took_back():
    """Set LR 0.01 at step 30, undone at 35: the run trained steps 30-34 at 0.01, and so did every run trained from its
    file, a dip the user had taken back. Trained again, the undone steps follow the schedule the undo went back to."""
    undone_later = base().apply(SetConstant(0.01), 30, 0.05).apply(Undo(), 35, 0.01)
    assert undone_later.timeline.lr_at(32) == 0.01 and len(undone_later.timeline.pieces) == 3  # the run's own record
    assert undone_later.to_train_again().pieces == base().timeline.pieces
    assert merged_spans(undone_later.taken_back()) == [(30, 35)]
    nested = base().apply(ScaleRest(0.5), 20, 0.1).apply(SetConstant(0.01), 30, 0.05).apply(Undo(), 35, 0.01).apply(Undo(), 40, 0.05)
    assert nested.to_train_again().pieces == base().timeline.pieces
    assert merged_spans(nested.taken_back()) == [(20, 40)]  # the two nested ranges as one
    # Two edits, the later undone: the first stays from its own step, and only the second's steps go.
    kept = base().apply(ScaleRest(0.5), 20, 0.1).apply(SetConstant(0.01), 30, 0.05).apply(Undo(), 35, 0.01)
    assert [p.start for p in kept.to_train_again().pieces] == [0, 20]
    assert kept.to_train_again().lr_at(32) == pytest.approx(0.5 * base().timeline.lr_at(32))


def test_to_train_again_an_edit_undone_then_redone_trains_from_its_own_step():
    """Undone at 35 and redone at 50, the edit trained again from 50, steps 30-49 at the old LR (helper-72: "redo still
    counts as undone")."""
    redone = base().apply(SetConstant(0.01), 30, 0.05).apply(Undo(), 35, 0.01).apply(Redo(), 50, 0.05)
    again = redone.to_train_again()
    assert [p.start for p in again.pieces] == [0, 30] and again.lr_at(30) == again.lr_at(60) == 0.01
    assert merged_spans(redone.taken_back()) == [(35, 50)]  # steps 30-34 trained the edit, which stays


@pytest.mark.parametrize("first, second", [(SetConstant(0.01), SetConstant(0.02)), (ScaleRest(0.5), ScaleRest(0.5))])
def test_to_train_again_two_edits_undone_then_both_redone_train_each_from_its_own_step(first, second):
    """Set LR 0.01 at 30, 0.02 at 40, both undone, both redone: trained again, 0.02 ran from step 30, the first edit
    lost; two scales of the rest alike (the list of an earlier session's notes: "undo twice then redo twice replays B's
    plan from A's step")."""
    made = base().apply(first, 30, 0.05).apply(second, 40, 0.01)
    run = made.apply(Undo(), 45, 0.02).apply(Undo(), 50, 0.01).apply(Redo(), 55, 0.05).apply(Redo(), 60, 0.01)
    assert run.fates() == {1: "undone at step 50, redone at step 55", 2: "undone at step 45, redone at step 60"}
    assert np.array_equal(run.to_train_again().lrs(np.arange(100)), made.timeline.lrs(np.arange(100)))
    assert merged_spans(run.taken_back()) == [(45, 60)]  # what the run trained without the second edit


def test_to_train_again_keeps_an_edit_redone_after_an_older_undo_inside_the_same_steps():
    """Set LR and Scale the rest at one step; undo, redo, undo (the scale, twice taken back), undo (the set LR), redo
    (the set LR again): trained again, the schedule ran the plain one-cycle, the set LR the user kept dropped. Its
    older undo's steps (20-30), taken after the later undo's (20-60), deleted the piece that one had moved to step 20
    (helper-78)."""
    run = (base().apply(SetConstant(0.05), 20, 0.1).apply(ScaleRest(0.5), 20, 0.05).apply(Undo(), 30, 0.025)
           .apply(Redo(), 40, 0.05).apply(Undo(), 50, 0.025).apply(Undo(), 60, 0.05).apply(Redo(), 70, 0.1))
    assert run.fates()[1] == "undone at step 60, redone at step 70" and run.timeline.lr_at(80) == 0.05
    again = run.to_train_again()
    assert [p.start for p in again.pieces] == [0, 20] and again.lr_at(20) == again.lr_at(99) == 0.05


def test_to_train_again_an_undo_of_an_edit_that_replaced_another_at_its_step():
    """Apply at step 312, Set LR at 312 (the same pause: it replaced the applied piece), undone at 338: the undo's piece
    did not continue any kept piece, and the next run trained steps 312-337 at the undone LR (the walkthrough's run)."""
    applied = base().apply(ScaleRest(0.5), 31, 0.1)
    both = applied.apply(SetConstant(0.01), 31, 0.05).apply(Undo(), 38, 0.01)
    assert both.timeline.lr_at(33) == 0.01 and [p.start for p in both.timeline.pieces] == [0, 31, 38]
    again = both.to_train_again()
    assert [p.start for p in again.pieces] == [0, 31]
    assert np.array_equal(again.lrs(np.arange(100)), applied.timeline.lrs(np.arange(100)))


def test_the_edits_in_effect_leave_out_undos_and_what_they_undid():
    """The window's Export title said "4 edits" of a run whose revision and replacement were undone once: two in effect."""
    run = base().apply(ScaleRest(0.5), 20, 0.1).apply(SetConstant(0.01), 30, 0.05).apply(Undo(), 30, 0.01)
    run = run.apply(SetConstant(0.02), 40, 0.05)
    assert [r.edit.kind for r in run.edits] == ["scale_rest", "set_constant", "undo", "set_constant"]
    assert [r.id for r in run.in_effect()] == [1, 4] and run.undo_target().id == 4


def test_undo_walks_back_one_edit_at_a_time():
    run = base()
    original = run.timeline.lrs(np.arange(100))
    run = run.apply(ScaleRest(0.5), 20, 0.1)
    run = run.apply(SetConstant(0.01), 30, 0.05)
    run = run.apply(Undo(), 35, 0.01)
    assert run.timeline.lr_at(35) == pytest.approx(original[35] * 0.5)
    run = run.apply(Undo(), 40, 0.05)
    assert run.timeline.lr_at(40) == pytest.approx(original[40])
    assert [r.undoes for r in run.edits] == [None, None, 2, 1]
    with pytest.raises(ValueError, match="no edit to undo"):
        run.apply(Undo(), 41, 0.1)


def test_redo_makes_the_undone_edits_again_in_turn_until_another_edit_is_made():
    """There was no redo: an edit undone by mistake had to be typed again, and a plan of several pieces could not be."""
    run = base()
    original = run.timeline.lrs(np.arange(100))
    run = run.apply(ScaleRest(0.5), 20, 0.1).apply(SetConstant(0.01), 30, 0.05).apply(Undo(), 32, 0.01).apply(Undo(), 34, 0.05)
    assert run.timeline.lr_at(34) == pytest.approx(original[34])
    run = run.apply(Redo(), 36, 0.1)  # the last undo first: the ×0.5
    assert run.timeline.lr_at(36) == pytest.approx(original[36] * 0.5) and run.edits[-1].summary.startswith("redid edit #1 (")
    run = run.apply(Redo(), 38, 0.05)
    assert run.timeline.lr_at(38) == pytest.approx(0.01) and run.edits[-1].summary == "redid edit #2 (set LR to 0.01 for the rest)"
    # Why, as it is: it blamed "an edit made after an undo" when the redos had used the undos up.
    with pytest.raises(ValueError, match=r"no undone edit to redo \(each undone edit has been redone\)"):
        run.apply(Redo(), 39, 0.01)
    with pytest.raises(ValueError, match=r"no undone edit to redo \(nothing has been undone\)"):
        base().apply(ScaleRest(0.5), 20, 0.1).apply(Redo(), 21, 0.1)
    # A redo is an edit in effect: Undo takes it back, and Redo makes it again, named by the edit it first made.
    again = run.apply(Undo(), 40, 0.01)
    assert again.edits[-1].summary == "undid edit #6 (the redo of edit #2: set LR to 0.01 for the rest)"
    again = again.apply(Redo(), 42, 0.05)
    # Each edit's line says what became of it, to the last reversal (it ended "redone" after an undo of the redo).
    assert again.fates() == {1: "undone at step 34, redone at step 36",
                             2: "undone at step 32, redone at step 38, undone again at step 40, redone again at step 42"}
    assert again.timeline.lr_at(42) == pytest.approx(0.01) and again.edits[-1].summary == "redid edit #2 (set LR to 0.01 for the rest)"
    assert [r.id for r in again.in_effect()] == [5, 8]
    # A checkpoint keeps what can be redone; a new edit after an undo ends it.
    undone = run_schedule_from_dict(run_schedule_to_dict(run.apply(Undo(), 40, 0.01)))
    assert undone.apply(Redo(), 44, 0.05).timeline.lr_at(44) == pytest.approx(0.01)
    with pytest.raises(ValueError, match=r"no undone edit to redo \(an edit made after the undo ends what can be redone\)"):
        undone.apply(SetConstant(0.03), 44, 0.05).apply(Redo(), 46, 0.03)


@pytest.mark.parametrize("edit, message", [
    (ScaleRest(-1.0), r"the factor to scale the rest by must be above 0 and at most 1e\+06, got -1"),
    (ScaleRest(1e9), r"the factor to scale the rest by must be above 0 and at most 1e\+06, got 1e\+09"),
    # Within the factor's bound, but a peak of 0.1 × 5000 is past any LR a run takes (×1e6 was let through: helper-72).
    (ScaleRest(5000.0), r"scaled ×5000, the schedule would reach an LR of \d+, above the highest a run takes \(100\)"),
    (SetConstant(1e6), r"the LR to hold must be at most 100, got 1e\+06"),  # as `train --lr`: one bound
    (SetConstant(float("nan")), "^the LR to hold must be a number, got nan$"),
    (SetConstant(-1.0), r"the LR to hold must be above 0, got -1 \(to stop training for a while, pause\)"),
    (SetConstant(0.0), "the LR to hold must be above 0, got 0 "),
    (ChangeSegment(5, {"end_lr": 0.1}), "index must name one of the 2 segments"),
    (ChangeSegment(1, {"bogus": 1}), "cosine has no parameter bogus"),
    (Restretch(10), "total_steps must be after the current step"),
    (ScaleRest(2.0, reason="whim"), "reason must be one of"),
    (SetGroups(()), "must set at least one group"),
    (SetGroups((GroupSetting("head", -1.0),)), "group head: multiplier must be from 0"),
    (SetGroups((GroupSetting("head"), GroupSetting("head", 2.0))), "a group is named twice: head"),
    (SetGroups((GroupSetting("head", frozen_until=-3),)), "frozen_until must be a step from 0"),
])
def test_invalid_edits_are_refused_with_a_reason(edit, message):
    with pytest.raises(ValueError, match=message):
        base().apply(edit, 20, 0.1)


def test_history_round_trips_with_undo_still_possible():
    run = base().apply(ScaleRest(0.5), 20, 0.1).apply(SetConstant(0.01), 30, 0.05)
    restored = run_schedule_from_dict(run_schedule_to_dict(run))
    grid = np.arange(100)
    assert np.array_equal(restored.timeline.lrs(grid), run.timeline.lrs(grid))
    undone = restored.apply(Undo(), 40, 0.01)
    assert undone.timeline.lr_at(40) == pytest.approx(run.timeline.pieces[1].schedule.lr_at(40))


FROZEN_HEAD_ONLY = (GroupSetting("all", 0.1, frozen_until=1000), GroupSetting("head", 1.0))
NAMES = ("stem", "head")


def test_group_settings_change_from_the_edit_on_other_edits_keep_them_and_undo_restores_them():
    run = base().apply(SetGroups(FROZEN_HEAD_ONLY), 20, 0.1)
    assert run.edits[-1].summary == "groups: all ×0.1 frozen until step 1000 (the others as they were)"
    run = run.apply(ScaleRest(0.5), 30, 0.05)
    unfrozen = run.apply(SetGroups((GroupSetting("all", 0.1, frozen_until=40), GroupSetting("head", 1.0))), 40, 0.05)
    assert unfrozen.edits[-1].summary == "groups: all ×0.1 frozen until step 40 (the others as they were)"
    lrs = unfrozen.timeline.group_lrs(np.array([19, 25, 35, 45]), NAMES)
    base_lrs = unfrozen.timeline.lrs(np.array([19, 25, 35, 45]))
    assert lrs[:, 1].tolist() == base_lrs.tolist() and lrs[:, 0].tolist() == [base_lrs[0], 0.0, 0.0, pytest.approx(0.1 * base_lrs[3])]
    undone = unfrozen.apply(Undo(), 50, 0.05)
    assert undone.timeline.piece_at(50).groups == FROZEN_HEAD_ONLY
    assert undone.timeline.group_lrs(np.array([50]), NAMES)[0, 0] == 0.0


def test_history_round_trips_group_settings():
    run = base().apply(SetGroups(FROZEN_HEAD_ONLY), 20, 0.1).apply(ScaleRest(0.5), 30, 0.05)
    restored = run_schedule_from_dict(run_schedule_to_dict(run))
    assert restored.timeline == run.timeline and [r.before for r in restored.edits] == [r.before for r in run.edits]
    assert restored.apply(Undo(), 40, 0.05).timeline.piece_at(40).groups == FROZEN_HEAD_ONLY


def test_a_checkpoint_written_before_groups_moved_into_pieces_still_resumes():
    data = run_schedule_to_dict(base().apply(ScaleRest(0.5), 20, 0.1))
    for piece in [*data["timeline"], *(e["before"] for e in data["edits"])]:
        del piece["groups"]
    data["param_groups"] = [{"name": "backbone", "multiplier": 0.5}, {"name": "head", "multiplier": 1.0}]
    restored = run_schedule_from_dict(data)
    legacy = (GroupSetting("all", 0.5), GroupSetting("head", 1.0))
    assert all(p.groups == legacy for p in restored.timeline.pieces) and restored.edits[0].before.groups == legacy


def test_unfreezing_a_group_the_model_lacks_names_the_groups_it_has(digits16):
    from helpers import tiny_config

    from engine.events import EditRefused
    from engine.schedules import Unfreeze
    from engine.training.job import TrainingJob

    job = TrainingJob(tiny_config(), digits16)
    refused = []
    job.bus.subscribe(lambda event: refused.append(event) if isinstance(event, EditRefused) else None)
    applied, why = job.edit(Unfreeze(("stage4",)))
    assert not applied and why == "this model has no group stage4 (its groups: block1, block2, block3, head)"
    assert [event.message for event in refused] == [why]


def test_a_group_edit_from_the_window_is_logged_as_what_it_changed():
    """The window sends every group's setting: one multiplier typed was logged as all four groups' settings."""
    run = base().apply(SetGroups(tuple(GroupSetting(name, 2.0 if name == "head" else 1.0)
                                       for name in ("block1", "block2", "block3", "head"))), 20, 0.1)
    assert run.edits[-1].summary == "groups: head ×2 (the others as they were)"


def two_pieces():
    """A schedule of two pieces, as a file exported after a mid-run Set LR holds: a one-cycle-like rise and fall, then a
    constant 0.01 from step 100 of 200."""
    from engine.schedules import Piece

    first = Piece(0, 0, Schedule((Linear(steps=20, start_lr=0.0, end_lr=0.2), Cosine(steps=180, start_lr=0.2))),
                  (GroupSetting("body", 1.0, 150), GroupSetting("head", 1.0)))
    then = Piece(100, 100, Schedule((Constant(steps=100, lr=0.01),)), first.groups)
    return RunSchedule(Timeline((first, then)))


@pytest.mark.parametrize("undo_at", [60, 120])
def test_undo_restores_the_pieces_planned_after_the_edit(undo_at):
    """An undo brought back only the piece in force at the edit's step: a run started from an exported schedule lost its
    later pieces (LR 0.09 where the plan said 0.01), in the window and from `lrscope ctl undo`."""
    run = two_pieces()
    planned = run.timeline.lrs(np.arange(200))
    edited = run.apply(SetConstant(0.05), step=50, current_lr=planned[49])
    undone = edited.apply(Undo(), step=undo_at, current_lr=0.05)
    assert np.allclose(undone.timeline.lrs(np.arange(undo_at, 200)), planned[undo_at:])
    assert undone.timeline.total_steps == 200
    assert run_schedule_from_dict(run_schedule_to_dict(edited)).apply(Undo(), step=undo_at, current_lr=0.05).timeline == undone.timeline


def test_edits_of_the_schedule_in_force_keep_the_later_pieces_and_scaling_the_rest_scales_them():
    run = two_pieces()
    planned = run.timeline.lrs(np.arange(200))
    scaled = run.apply(ScaleRest(0.5), step=50, current_lr=planned[49])  # a rollback's ×0.1 is such an edit too
    assert np.allclose(scaled.timeline.lrs(np.arange(50, 200)), 0.5 * planned[50:])
    peak = run.apply(SetPeak(0.1), step=50, current_lr=planned[49])  # the schedule in force only
    assert np.allclose(peak.timeline.lrs(np.arange(100, 200)), 0.01) and peak.timeline.lr_at(60) < planned[60]
    held = run.apply(SetConstant(0.05), step=50, current_lr=planned[49])  # "for the rest": the later piece goes
    assert np.allclose(held.timeline.lrs(np.arange(50, 200)), 0.05)


def test_unfreezing_now_reaches_the_later_pieces_and_a_new_length_re_times_them():
    from engine.schedules import Unfreeze

    run = two_pieces()
    unfrozen = run.apply(Unfreeze(("body",)), step=50, current_lr=0.1)
    trains_from_50 = (GroupSetting("body", 1.0, 50), GroupSetting("head", 1.0))  # the later piece froze it to step 150
    assert [p.groups for p in unfrozen.timeline.pieces[1:]] == [trains_from_50] * 2
    longer = run.apply(Restretch(350), step=50, current_lr=0.1)
    assert [p.start for p in longer.timeline.pieces] == [0, 50, 150] and longer.timeline.total_steps == 350  # 150 steps left become 300
    assert np.allclose(longer.timeline.lrs(np.arange(150, 350)), 0.01)


def test_a_plan_of_several_pieces_replaces_the_rest_stretched_over_it_and_undo_takes_it_back():
    """`ctl apply` of a file holding a run's edits replaced the rest with its last piece alone: the one-cycle before it
    went without a word."""
    from engine.schedules import ReplaceRestWithPlan

    run = base()
    planned = run.timeline.lrs(np.arange(100))
    rise, held = Schedule((Linear(steps=80, start_lr=0.01, end_lr=0.2),)), Schedule((Constant(steps=40, lr=0.05),))
    edited = run.apply(ReplaceRestWithPlan((rise, held), (0, 40), (0, 40)), step=20, current_lr=planned[19])
    assert [p.start for p in edited.timeline.pieces] == [0, 20, 60] and edited.timeline.total_steps == 100  # 80 plan steps → 80 left
    assert np.allclose(edited.timeline.lrs(np.arange(20, 60)), rise.lrs(np.arange(40))) and np.allclose(edited.timeline.lrs(np.arange(60, 100)), 0.05)
    assert edited.edits[-1].summary.startswith("replaced the rest with a plan of 2 pieces: steps 20–60: ")
    undone = edited.apply(Undo(), step=30, current_lr=0.05)
    assert np.allclose(undone.timeline.lrs(np.arange(30, 100)), planned[30:])


@pytest.mark.parametrize("starts, origins, message", [((0, 40), (0, 50), "before its schedule's origin 50"),
                                                      ((0, 0), (0, 0), "must start after the one before it"),
                                                      ((5, 40), (0, 40), "the first starting at 0"),
                                                      ((0,), (0,), "1 to 100000 pieces")])
def test_a_plan_from_a_client_is_checked_in_one_line(starts, origins, message):
    from engine.schedules import ReplaceRestWithPlan

    rise, held = Schedule((Linear(steps=80, start_lr=0.01, end_lr=0.2),)), Schedule((Constant(steps=40, lr=0.05),))
    with pytest.raises(ValueError, match=message):
        base().apply(ReplaceRestWithPlan((rise, held), starts, origins), step=20, current_lr=0.1)
