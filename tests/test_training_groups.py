"""Named parameter groups in a real run: LRs applied by name and read back, freezing, mid-run group edits, resume."""

import numpy as np
import pytest
import torch
from helpers import Events, tiny_config

from engine.commands import EditSchedule, Stop
from engine.events import EditRefused, StepsLogged
from engine.run import InProcessRun, NewRun
from engine.schedules import Cosine, GroupMismatch, GroupSetting, Piece, RunSchedule, Schedule, SetGroups, Timeline
from engine.store import read_steps
from engine.training.job import TrainingJob

NAMES = ("block1", "block2", "block3", "head")
COSINE = Schedule((Cosine(steps=22, start_lr=0.1),))


def observed_job(digits16, timeline, **options):
    """A job whose optimizer reports, at every step, the LR each group holds (by name) as it updates the weights."""
    job = TrainingJob(tiny_config(), digits16, run_schedule=RunSchedule(timeline), **options)
    events = Events()
    job.bus.subscribe(events)
    return job, events, observe_lrs(job)


def observe_lrs(job):
    """The LRs each group holds (by name) at every optimizer step, filled in as the job trains."""
    held = []
    optimizer = job.session.optimizer
    step = optimizer.step

    def reporting(*args, **kwargs):
        held.append({g["name"]: g["lr"] for g in optimizer.param_groups})
        return step(*args, **kwargs)

    optimizer.step = reporting
    return held


@pytest.mark.parametrize("groups, multipliers", [
    ((GroupSetting("all"),), {"block1": 1.0, "block2": 1.0, "block3": 1.0, "head": 1.0}),
    ((GroupSetting("all", 0.1), GroupSetting("head")), {"block1": 0.1, "block2": 0.1, "block3": 0.1, "head": 1.0}),
    ((GroupSetting("head", 2.0), GroupSetting("block3", 0.3), GroupSetting("block1", 0.1), GroupSetting("block2", 0.2)),
     {"block1": 0.1, "block2": 0.2, "block3": 0.3, "head": 2.0}),
], ids=["one group, all", "two groups", "every group, in another order"])
def test_each_group_trains_at_the_lr_its_name_gets_and_the_store_keeps_what_was_applied(digits16, tmp_path, groups, multipliers):
    timeline = Timeline.of(COSINE, groups=groups, base_momentum=0.9)
    run, events = InProcessRun(NewRun(tiny_config(), digits16, RunSchedule(timeline), tmp_path)), Events()
    run.subscribe(events)
    run.prepare()
    held = observe_lrs(run.job)
    assert run.run().state == "finished"
    steps, _, lrs, _ = events.steps()
    expected = timeline.lrs(steps)[:, None] * np.array([multipliers[n] for n in NAMES])
    assert all(e.groups == NAMES for e in events.of(StepsLogged)) and np.allclose(lrs, expected, rtol=1e-15, atol=0)
    assert np.array_equal(lrs, [[h[n] for n in NAMES] for h in held])  # recorded = what the optimizer held
    stored = read_steps(run.run_dir)
    assert stored["groups"] == NAMES and np.array_equal(stored["lrs"], lrs)


def test_a_schedule_naming_a_group_the_model_lacks_is_refused_before_training(digits16):
    timeline = Timeline.of(COSINE, groups=(GroupSetting("all"), GroupSetting("stage9", 0.1)))
    with pytest.raises(GroupMismatch, match="group.s. stage9 that are not among the parameter groups .block1, block2, block3, head."):
        TrainingJob(tiny_config(), digits16, run_schedule=RunSchedule(timeline))


def test_a_group_edit_naming_an_unknown_group_is_refused_and_training_goes_on(digits16):
    job, events, _ = observed_job(digits16, Timeline.of(COSINE))
    job.send(EditSchedule(SetGroups((GroupSetting("backbone", 0.1), GroupSetting("head")))))
    assert job.run().state == "finished"
    refused = events.of(EditRefused)
    assert len(refused) == 1 and "backbone" in refused[0].message and job.run_schedule.edits == ()


FREEZE_BLOCK1 = Timeline((Piece(0, 0, COSINE), Piece(5, 0, COSINE, (GroupSetting("block1", frozen_until=15), GroupSetting("all")))))


def block1(job):
    return [p.detach().clone() for p in job.session.optimizer.param_groups[0]["params"]]


def test_a_frozen_group_is_left_bit_identical_keeps_no_optimizer_state_and_records_lr_0(digits16):
    job, events, _ = observed_job(digits16, FREEZE_BLOCK1)
    optimizer = job.session.optimizer
    snapshots, stateless = {}, {}
    step = optimizer.step

    def watching(*args, **kwargs):
        index = len(snapshots)
        snapshots[index] = block1(job)
        stateless[index] = all(p not in optimizer.state and not p.requires_grad for p in optimizer.param_groups[0]["params"])
        return step(*args, **kwargs)

    optimizer.step = watching
    job.run()
    assert all(torch.equal(a, b) for i in range(6, 15) for a, b in zip(snapshots[5], snapshots[i]))
    assert not all(torch.equal(a, b) for a, b in zip(snapshots[15], snapshots[16]))  # thawed: it learns again
    assert not any(torch.equal(a, b) for a, b in zip(snapshots[0], snapshots[5]))
    assert [stateless[i] for i in range(22)] == [False] * 5 + [True] * 10 + [False] * 7
    lrs = events.steps()[2]
    assert np.all(lrs[5:15, 0] == 0) and np.all(lrs[:5, 0] > 0) and np.all(lrs[15:21, 0] > 0) and np.all(lrs[5:15, 1:] > 0)


def test_stopped_in_a_freeze_then_resumed_equals_an_uninterrupted_run(digits16):
    reference, reference_events, _ = observed_job(digits16, FREEZE_BLOCK1)
    reference.run()
    job, events, _ = observed_job(digits16, FREEZE_BLOCK1, flush_interval=0.0)
    job.bus.subscribe(lambda e: job.send(Stop()) if isinstance(e, StepsLogged) and e.steps[-1] == 8 else None)
    assert job.run().state == "stopped" and job.step == 9
    resumed, resumed_events, _ = observed_job(digits16, FREEZE_BLOCK1, resume=job.checkpoint_payload())
    resumed.run()
    assert np.array_equal(resumed_events.steps()[1], reference_events.steps()[1][9:])
    assert np.array_equal(resumed_events.steps()[2], reference_events.steps()[2][9:])
