"""The window attaches to a run training on two processes (served by rank 0) and steers it through its controls."""

import numpy as np
import pytest
from helpers import SAMPLE, served_child
from test_gui_attach import LONG, attach_from_the_runs_tab, window  # noqa: F401  (window: a fixture)

from engine.commands import Stop
from engine.events import FaultRaised, ScheduleChanged, StepsLogged
from gui.driving import click, trigger, type_into

pytest.importorskip("pytestqt")


@pytest.fixture
def two_processes():
    """A 16 px digits run on two processes (`lrscope train --nproc 2 --serve`), stored where the window looks for runs."""
    argv = ["train", "--nproc", "2", "--data", str(SAMPLE), "--image-size", "16", "--batch-size", "16", "--epochs", "50"]
    with served_child(argv, LONG / 1000, OMP_NUM_THREADS="1") as served:
        yield served


def test_the_window_attaches_to_a_two_process_run_and_steers_every_rank(qtbot, window, two_processes):  # noqa: F811
    owner, events = two_processes
    events.wait_for(lambda ev: ev.of(StepsLogged) and ev.of(StepsLogged)[-1].steps[-1] >= 5, LONG / 1000)
    attach_from_the_runs_tab(qtbot, window)
    assert "2 processes (DistributedDataParallel) × batch 16 = global batch 32 per step" in window.log.toPlainText()

    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    type_into(window.editor.set_lr, "0.0123")
    click(window.editor.set_now)
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "running", timeout=LONG)
    events.wait_for(lambda ev: any(e.reason == "user" for e in ev.of(ScheduleChanged)), LONG / 1000)
    edited_at = next(e.step for e in events.of(ScheduleChanged) if e.reason == "user")
    events.wait_for(lambda ev: ev.of(StepsLogged)[-1].steps[-1] >= edited_at + 30, LONG / 1000)
    trigger(window.detach_action)
    qtbot.waitUntil(lambda: not window.controller.training, timeout=LONG)
    assert owner.request(Stop(), LONG / 1000) is not None, "the stop was not answered"
    assert owner.wait(LONG / 1000) and owner.outcome.state == "stopped"
    assert owner.process.wait(60) == 130  # stopped before its end (resumable), as README's exit statuses say
    # Rank 1 applied the same LR at the same steps: the replica check compares every block and would have paused the run.
    assert not events.of(FaultRaised)
    steps = np.concatenate([e.steps for e in events.of(StepsLogged)])
    lrs = np.concatenate([e.lrs for e in events.of(StepsLogged)])
    assert np.all(lrs[steps >= edited_at] == 0.0123) and np.all(lrs[steps < edited_at] != 0.0123)
