"""Fine-tuning steered from another terminal: `lrscope ctl RUN unfreeze [GROUP…]` on a run served by a child process."""

import json
import os
import re

import numpy as np
from helpers import ROOT, SAMPLE, Events, cli_done

from engine.commands import Stop
from engine.events import ScheduleChanged, StepsLogged
from engine.run.process import ProcessRun

LONG = 180


def logged(events):
    """(steps, LRs read back per group, the group names) of every step the run reported so far."""
    blocks = events.of(StepsLogged)
    return np.concatenate([e.steps for e in blocks]), np.concatenate([e.lrs for e in blocks]), blocks[0].groups


def wait_for_step(events, step):
    events.wait_for(lambda ev: ev.of(StepsLogged) and ev.of(StepsLogged)[-1].steps[-1] >= step, LONG)


def applied_step(output: str) -> int:
    return int(re.match(r"applied at step (\d+): ", output)[1])


def test_ctl_unfreezes_named_groups_from_one_step_and_undo_freezes_them_again(tmp_path, capsys):
    runs = tmp_path / "runs"
    # The fine_tune preset on the small CNN: the head alone for 150 of 200 epochs, so every command lands while frozen.
    owner = ProcessRun(["train", "--data", str(SAMPLE), "--model", "small_cnn", "--image-size", "8", "--freeze-epochs", "150",
                        "--epochs", "200", "--runs-dir", str(runs)], client="lrscope test", cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    events = Events()
    owner.subscribe(events)
    owner.start("lrscope-test-owner")
    try:
        assert owner.connected.wait(LONG), owner.output
        wait_for_step(events, 5)
        target = [owner.run_id, "--runs-dir", str(runs)]

        done = cli_done(capsys, "ctl", *target, "unfreeze", "block3", "--json")
        answer = json.loads(done.stdout)
        assert done.returncode == 0 and answer["applied"] and answer["message"] == "unfroze block3", done.stderr
        unfrozen_at = answer["step"]
        done = cli_done(capsys, "ctl", *target, "unfreeze", "stage9")  # not a group of this model: refused, the run goes on
        assert done.returncode == 1 and "not applied at step" in done.stdout and "this model has no group stage9 (its groups: " in done.stdout
        done = cli_done(capsys, "ctl", *target, "undo")
        assert done.returncode == 0 and "(unfroze block3)" in done.stdout, done.stdout + done.stderr
        undone_at = applied_step(done.stdout)
        wait_for_step(events, undone_at + 3)

        steps, lrs, groups = logged(events)
        column = dict(zip(groups, lrs.T))
        assert groups == ("block1", "block2", "block3", "head") and np.array_equal(steps, np.arange(len(steps)))
        thawed = (steps >= unfrozen_at) & (steps < undone_at)
        assert unfrozen_at < undone_at and np.all(column["block3"][thawed] > 0) and np.all(column["block3"][~thawed] == 0)
        assert np.all(column["block1"] == 0) and np.all(column["block2"] == 0) and np.all(column["head"] > 0)
        edits = [e for e in events.of(ScheduleChanged) if e.reason == "user"]
        assert [e.step for e in edits] == [unfrozen_at, undone_at]
        assert {e.source for e in edits} == {"lrscope ctl (127.0.0.1)"}
    finally:
        owner.send(Stop())
        if not owner.wait(LONG):
            owner.process.kill()
        owner.process.wait(30)
        owner.wait(30)
