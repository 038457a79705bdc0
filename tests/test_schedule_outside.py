"""Using schedules outside lrscope (torch_scheduler), reduce-on-plateau, and the per-dataset library."""

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import cli_done, plain_loop_lrs

from engine.errors import ScheduleFileError
from engine.schedules import (
    Cosine,
    GroupSetting,
    Linear,
    OneCycle,
    PlateauRule,
    PlateauTracker,
    Redo,
    RunSchedule,
    ScaleRest,
    Schedule,
    SetConstant,
    SetGroups,
    Timeline,
    Undo,
    load_schedule,
    save_schedule,
    schedule_document,
)
from engine.schedules.fine_tune import fine_tune
from engine.schedules.library import ADDED, HELD, UPDATED, ScheduleLibrary, differences


def test_torch_scheduler_drives_groups_by_name_with_their_settings_and_momentum(tmp_path):
    timeline = Timeline.of(Schedule((OneCycle(steps=60, max_lr=0.4), Cosine(steps=40, start_lr=0.02))),
                           groups=(GroupSetting("all", 0.1, frozen_until=20), GroupSetting("head", 1.0)), base_momentum=0.9)
    run = RunSchedule(timeline).apply(ScaleRest(0.5), 30, 0.3)
    run = run.apply(SetGroups((GroupSetting("stem", 0.5), GroupSetting("head", 2.0))), 70, 0.1)
    path = save_schedule(tmp_path / "s.json", schedule_document(run))
    frozen = []
    seen, scheduler = plain_loop_lrs(path, ["head", "stem"], 100, frozen)
    grid = np.arange(100)
    expected = run.timeline.group_lrs(grid, ("head", "stem"))
    assert np.array_equal(seen[:, :2], expected) and np.all(seen[:20, 1] == 0) and np.all(seen[20:, 1] > 0)
    assert np.allclose(seen[70:, 0] / seen[70:, 1], 4.0) and np.allclose(seen[20:70, 0] / seen[20:70, 1], 10.0)
    assert [f[1] for f in frozen] == [True] * 20 + [False] * 80 and not any(f[0] for f in frozen)
    assert np.array_equal(seen[:, 2], run.timeline.momenta(grid))
    state = scheduler.state_dict()
    assert set(state) <= {"last_epoch", "_step_count", "_last_lr", "base_lrs"}
    torch.save(state, tmp_path / "sched.pt")
    assert torch.load(tmp_path / "sched.pt", weights_only=True)["last_epoch"] == 100


def fine_tune_loop(path, steps, resume_at=None, folder=None, optimizer_first=False):
    """A plain PyTorch loop over a tiny two-group model driven by the file's scheduler, as the README names the groups;
    with ``resume_at``, stopped there, its model, optimizer and scheduler saved, and continued from fresh ones that
    load them, the usual PyTorch way (``optimizer_first``: the optimizer's state loaded before the scheduler is made).
    Returns (per step: each parameter's requires_grad and each group's LR), weights."""
    def fresh():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
        parts = {"stem": [model[0]], "head": [model[2]]}
        return model, torch.optim.SGD([{"name": name, "params": [p for m in modules for p in m.parameters()]}
                                       for name, modules in parts.items()], lr=0.1, momentum=0.9)

    def load(name, thing):
        thing.load_state_dict(torch.load(folder / f"{name}.pt", weights_only=True))

    model, optimizer = fresh()
    scheduler = load_schedule(path).torch_scheduler(optimizer)
    seen = []
    for step in range(steps):
        if step == resume_at:
            for name, thing in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler)):
                torch.save(thing.state_dict(), folder / f"{name}.pt")
            model, optimizer = fresh()
            if optimizer_first:  # the scheduler made after: its constructor set step 0's LRs over the loaded ones
                load("model", model), load("optimizer", optimizer)
            scheduler = load_schedule(path).torch_scheduler(optimizer)
            for name, thing in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler))[(2 if optimizer_first else 0):]:
                load(name, thing)
        seen.append(([p.requires_grad for p in model.parameters()], [g["lr"] for g in optimizer.param_groups]))
        batch = torch.Generator().manual_seed(step)
        images, labels = torch.randn(16, 4, generator=batch), torch.randint(0, 3, (16,), generator=batch)
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        scheduler.step()
    return seen, [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("optimizer_first", [False, True])
@pytest.mark.parametrize("resume_at", [2, 4, 7])
def test_a_fine_tune_resumed_from_saved_state_dicts_trains_as_the_uninterrupted_loop(tmp_path, resume_at, optimizer_first):
    """Resumed after the unfreeze (step 4), the first resumed step trained with the stem still frozen, as at step 0: its
    weights then differed from the uninterrupted loop's (helper-80). With the optimizer's state loaded before the
    scheduler was made, that step trained at step 0's LRs (helper-90)."""
    schedule, groups = fine_tune(("stem", "head"), lr=0.1, total_steps=12, freeze_steps=4)
    path = save_schedule(tmp_path / "ft.json", schedule_document(RunSchedule(Timeline.of(schedule, groups))))
    seen, weights = fine_tune_loop(path, 12)
    assert [frozen for frozen, _ in seen] == [[False, False, True, True]] * 4 + [[True] * 4] * 8  # the stem thaws at 4
    resumed, resumed_weights = fine_tune_loop(path, 12, resume_at, tmp_path, optimizer_first)
    assert resumed == seen
    assert all(torch.equal(a, b) for a, b in zip(resumed_weights, weights))


def test_torch_scheduler_trains_a_file_without_the_steps_of_an_edit_undone_later(tmp_path, capsys):
    """The file keeps what the run trained (steps 30-34 at 0.01); a plain loop trains the schedule the user kept."""
    start = RunSchedule(Timeline.of(Schedule((OneCycle(steps=100, max_lr=0.4),))))
    run = start.apply(SetConstant(0.01), 30, 0.3).apply(Undo(), 35, 0.01)
    path = save_schedule(tmp_path / "s.json", schedule_document(run))
    assert load_schedule(path).timeline.lr_at(32) == 0.01
    for total_steps in (None, 100):
        scheduler = load_schedule(path).torch_scheduler(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), total_steps)
        assert np.array_equal(scheduler.timeline.lrs(np.arange(100)), start.timeline.lrs(np.arange(100)))
    # The command line says so, and its csv (the README's route for code without lrscope) trains what the scheduler does.
    shown = cli_done(capsys, "schedule", "show", path)
    assert "undone      steps 30–35 trained what the run took back later" in shown.stdout, shown.stdout
    assert "edit #1 at step 30 (user): set LR to 0.01 for the rest; undone at step 35\nedit #2 at step 35 (user): undid edit #1" in shown.stdout
    rows = list(csv.DictReader(io.StringIO(cli_done(capsys, "schedule", "csv", path).stdout)))
    assert [float(row["lr_all"]) for row in rows] == start.timeline.lrs(np.arange(100)).tolist()
    # Redone later: the file keeps the redo (its reader dropped "redoes"), and the edit trains again from its own step.
    redone = save_schedule(tmp_path / "redone.json", schedule_document(run.apply(Redo(), 50, 0.3)))
    assert load_schedule(redone).for_run(100).lr_at(40) == 0.01 and load_schedule(redone).for_run(100).pieces[-1].start == 30
    assert "; undone at step 35, redone at step 50" in cli_done(capsys, "schedule", "show", redone).stdout


def test_an_all_schedule_drives_any_optimizer_named_or_not(tmp_path):
    run = RunSchedule(Timeline.of(Schedule((Cosine(steps=10, start_lr=0.1),)), groups=(GroupSetting("all", 0.5),)))
    path = save_schedule(tmp_path / "s.json", schedule_document(run))
    for names in (["anything"], [None, None], ["stem", None]):
        seen, _ = plain_loop_lrs(path, names, 10)
        assert all(np.array_equal(seen[:, i], 0.5 * run.timeline.lrs(np.arange(10))) for i in range(len(names)))


def test_a_file_naming_every_group_alike_drives_one_unnamed_param_group(tmp_path):
    """As earlier exports from the window wrote them: block1..head ×1 each, nothing frozen, so 'all' in effect."""
    run = RunSchedule(Timeline.of(Schedule((Cosine(steps=10, start_lr=0.1),))))
    document = schedule_document(run)
    document["timeline"][0]["groups"] = [{"name": n, "multiplier": 1.0, "frozen_until": 0} for n in ("block1", "block2", "head")]
    seen, _ = plain_loop_lrs(save_schedule(tmp_path / "s.json", document), [None], 10)
    assert np.array_equal(seen[:, 0], run.timeline.lrs(np.arange(10)))


def test_groups_that_cannot_be_matched_are_named(tmp_path):
    run = RunSchedule(Timeline.of(Schedule((Cosine(steps=10, start_lr=0.1),)),
                                  groups=(GroupSetting("stage4", 0.1), GroupSetting("head", 1.0))))
    path = save_schedule(tmp_path / "s.json", schedule_document(run))
    with pytest.raises(ScheduleFileError, match="group.s. 0, 1 have no \"name\" key"):
        plain_loop_lrs(path, [None, None], 1)
    with pytest.raises(ScheduleFileError, match="drives parameter group.s. stage4 that are not among the parameter groups .head, body.; "
                                                "the schedule trains its groups differently, so give the optimizer one param group "
                                                "per group it names .stage4, head., each with that \"name\""):
        plain_loop_lrs(path, ["head", "body"], 1)
    with pytest.raises(ScheduleFileError, match="does not say how to train parameter group.s. stage3"):
        plain_loop_lrs(path, ["stage3", "stage4", "head"], 1)


def test_plateau_fires_like_reduce_lr_on_plateau():
    metrics = [1.0, 0.9, 0.91, 0.92, 0.95, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.86, 0.7, 0.71, 0.72, 0.73]
    rule = PlateauRule(factor=0.5, patience=2, cooldown=1, min_lr=0.02)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2, cooldown=1, min_lr=0.02)
    tracker, lr, ours, theirs = PlateauTracker(rule), 0.1, [], []
    for value in metrics:
        if tracker.observe(value):
            factor = tracker.factor_for(lr)
            lr = lr * factor if factor else lr
        reference.step(value)
        ours.append(lr)
        theirs.append(optimizer.param_groups[0]["lr"])
    assert ours == pytest.approx(theirs, rel=1e-12) and len(set(ours)) > 2


def test_plateau_state_round_trips():
    tracker = PlateauTracker(PlateauRule(patience=1))
    for value in (1.0, 1.0, 1.0):
        tracker.observe(value)
    copy = PlateauTracker.restore(tracker.rule, tracker.state())
    assert copy.observe(1.0) == tracker.observe(1.0)


def test_library_finds_schedules_by_dataset(tmp_path):
    library = ScheduleLibrary(tmp_path)
    run = RunSchedule(Timeline.of(Schedule((Cosine(steps=10, start_lr=0.1),))))
    for name, fingerprint, accuracy in (("digits", "aaa", 0.9), ("digits", "aaa", 0.8), ("other", "bbb", 0.9)):
        library.add(schedule_document(run, dataset={"name": name, "fingerprint": fingerprint}, metrics={"best_val_accuracy": accuracy}))
    (tmp_path / "aaa" / "broken.lrschedule.json").write_text("{")
    mine, problems = library.entries("aaa")
    assert len(mine) == 2 and all(e.fingerprint == "aaa" for e in mine) and {e.best_val_accuracy for e in mine} == {0.9, 0.8}
    assert len(problems) == 1 and "not valid JSON" in problems[0]
    assert len(library.entries()[0]) == 3
    # The same schedule exported again, a second later, is the entry it already has: each Export added a twin.
    again = schedule_document(run, dataset={"name": "other", "fingerprint": "bbb"}, metrics={"best_val_accuracy": 0.9})
    again["created"] = "2099-01-01T00:00:00+00:00"
    assert library.add(again) == (library.entries("bbb")[0][0].path, HELD) and len(library.entries()[0]) == 3
    outside = tmp_path.parent / "mine.lrschedule.json"  # a file of the user's, named as a library entry would be
    outside.write_text("{}")
    with pytest.raises(ScheduleFileError, match="is not a schedule in the library .* nothing was deleted"):
        library.remove(outside)
    library.remove(library.entries("bbb")[0][0].path)
    assert outside.exists() and len(library.entries()[0]) == 2


def test_one_runs_schedule_exported_again_is_one_entry_that_knows_the_run_as_it_ended(tmp_path):
    """The window's Export of a run records the range test that advised it, `lrscope show RUN --export-schedule` none:
    the library held both, and an export made mid-run stayed beside the finished run's as "best val 38.83% so far"."""
    library = ScheduleLibrary(tmp_path)
    run = RunSchedule(Timeline.of(Schedule((OneCycle(steps=88, max_lr=0.2),))))
    dataset = {"name": "digits", "fingerprint": "aaa"}
    tested = {"mode": "sweep", "recommended": {"one_cycle_max_lr": 0.2}}
    so_far = schedule_document(run, dataset=dataset, metrics={"run": "R", "steps": 50, "in_progress": True, "best_val_accuracy": 0.39},
                               range_test=tested)
    path, done = library.add(so_far)
    assert done == ADDED
    ended = schedule_document(run, dataset=dataset, metrics={"run": "R", "steps": 88, "best_val_accuracy": 0.98})
    assert library.add(ended) == (path, UPDATED)
    [entry], _ = library.entries("aaa")
    kept = json.loads(entry.path.read_text())
    assert (entry.best_val_accuracy, kept["metrics"]["steps"], kept["range_test"]) == (0.98, 88, tested)  # the test kept too
    assert library.add(ended) == (path, HELD)
    # Another run's, or the same run's with another schedule (an edit since), is an entry of its own.
    assert library.add(schedule_document(run, dataset=dataset, metrics={"run": "S", "best_val_accuracy": 0.9}))[1] == ADDED
    edited = RunSchedule(Timeline.of(Schedule((OneCycle(steps=88, max_lr=0.1),))))
    assert library.add(schedule_document(edited, dataset=dataset, metrics={"run": "R", "best_val_accuracy": 0.97}))[1] == ADDED
    assert len(library.entries("aaa")[0]) == 3


def test_a_library_entry_says_how_an_edited_run_went_and_its_groups_multipliers(tmp_path):
    """An entry read "constant 0.05 over 60 steps" for a run that peaked at 0.2 before its edit, head at ×3."""
    from engine.schedules import SetConstant

    groups = (GroupSetting("all"), GroupSetting("head", multiplier=3.0))
    run = RunSchedule(Timeline.of(Schedule((OneCycle(steps=110, max_lr=0.2),)), groups=groups))
    run = run.apply(SetConstant(0.05), 50, run.timeline.lr_at(49))
    library = ScheduleLibrary(tmp_path)
    library.add(schedule_document(run, dataset={"name": "digits", "fingerprint": "aaa"}))
    (entry,), _ = library.entries("aaa")
    assert entry.description == "constant 0.05 over 60 steps from step 50 (the last of 2 pieces; peak 0.2 at step 32); head ×3"
    plain = RunSchedule(Timeline.of(Schedule((OneCycle(steps=110, max_lr=0.2),))))
    library.add(schedule_document(plain, dataset={"name": "digits", "fingerprint": "bbb"}))
    assert library.entries("bbb")[0][0].description == "one_cycle 0.008 → 0.2 → 8e-07 over 110 steps"
    # A run stopped early read as if it had trained every step, beside its best accuracy (helper-71).
    library.add(schedule_document(plain, dataset={"name": "digits", "fingerprint": "ccc"}, metrics={"steps": 46, "best_val_accuracy": 0.68}))
    assert library.entries("ccc")[0][0].description == "one_cycle 0.008 → 0.2 → 8e-07 over 110 steps (its run stopped at step 46)"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", library.entries("ccc")[0][0].local_time)  # as runs are listed, not UTC ISO
    # Named by its kinds: a warmup cosine was "…-linear.lrschedule.json", after its first segment (helper-71).
    warm = RunSchedule(Timeline.of(Schedule((Linear(steps=10, start_lr=0.0, end_lr=0.1), Cosine(steps=90, start_lr=0.1)))))
    path, _ = library.add(schedule_document(warm, dataset={"name": "digits", "fingerprint": "ddd"}))
    assert path.name.startswith("digits-") and path.name.endswith("-linear-cosine.lrschedule.json"), path.name

def test_differences_name_what_changed():
    tuned = {"name": "digits", "fingerprint": "a", "image_count": 1797, "resolution": 32, "channels": 1, "classes": ["0", "1"],
             "class_counts": {"0": 178, "1": 182}, "mean": [0.31], "std": [0.35]}
    assert differences(tuned, dict(tuned)) == []
    other = dict(tuned, name="camera2", fingerprint="b", mean=[0.26], class_counts={"0": 170, "1": 182})
    lines = differences(tuned, other)
    assert lines[0].startswith("tuned on 'digits' (fingerprint a), this is 'camera2'")
    assert any("'0': 178 → 170" in line for line in lines) and any("channel mean: 0.310 when tuned, 0.260 now" in line for line in lines)
    assert differences(None, other) == ["the schedule file does not say which dataset it was tuned on"]


@pytest.mark.parametrize("total_steps", [-5, 0, 1.5, True, "10", 10.0])
def test_torch_scheduler_refuses_a_length_that_is_not_a_positive_int_and_says_what_it_got(tmp_path, total_steps):
    """-5, 1.5 and True were taken (stretching the schedule to nonsense); "10" raised a bare TypeError."""
    path = save_schedule(tmp_path / "s.json", schedule_document(RunSchedule(Timeline.of(Schedule((Cosine(steps=40, start_lr=0.1),))))))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match=f"total_steps must be a positive whole number of steps .*got {re.escape(repr(total_steps))}"):
        load_schedule(path).torch_scheduler(optimizer, total_steps=total_steps)
    scheduler = load_schedule(path).torch_scheduler(optimizer, total_steps=np.int64(80))  # an int from numpy is one
    assert scheduler.timeline.total_steps == 80


README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_format_docs_loop_reads_the_tuned_length_and_trains_it(tmp_path, monkeypatch, capsys):
    """Plain PyTorch code had no documented way to get the schedule's length (helper-80): the doc's own lines use it."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "schedule-format.md").read_text()
    code = next(block for block in re.findall(r"```python\n(.*?)```", docs, re.DOTALL) if "torch_scheduler" in block)
    run = RunSchedule(Timeline.of(Schedule((OneCycle(steps=30, max_lr=0.4), Cosine(steps=20, start_lr=0.02)))))
    save_schedule(tmp_path / "digits.lrschedule.json", schedule_document(run))
    monkeypatch.chdir(tmp_path)  # the doc reads "digits.lrschedule.json"
    model = torch.nn.Linear(2, 1)
    space = {"model": model, "loader": [(torch.ones(4, 2), torch.zeros(4, 1))] * 50, "criterion": torch.nn.functional.mse_loss}
    exec(code, space)  # the doc's own lines
    assert space["schedule"].total_steps == 50 == space["scheduler"].last_epoch
    assert capsys.readouterr().out == "tuned over 50 steps; an epoch here has 50\n"


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_the_readmes_param_groups_are_lrscopes_split(name):
    """The README's plain-PyTorch `parts` name the parameters as lrscope splits them (it showed ResNet's only)."""
    from engine.models import build_model

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    code = next(block for block in blocks if "parts = {" in block and ("model.fc" in block) == name.startswith("resnet"))
    model, groups = build_model(name, channels=3, classes=4, resolution=32)
    space = {"model": model, "torch": torch}
    exec(code, space)  # the README's own lines
    parts = {group: {id(p) for module in modules for p in module.parameters()} for group, modules in space["parts"].items()}
    assert parts == {group: {id(p) for p in params} for group, params in groups.items()}
