"""A run served by a child process, watched and steered through handles: one run shared by the tests below, in order."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import zmq
from helpers import ROOT, SAMPLE, Events, cli_done

from engine.commands import CancelRangeTest, EditSchedule, Pause, Resume, Stop
from engine.config import TrainConfig
from engine.events import (
    CommandApplied,
    CurvatureMeasured,
    LogLine,
    RangeTestProgress,
    RangeTestStarted,
    RunStarted,
    ScheduleChanged,
    StepsLogged,
)
from engine.export import tuned_document
from engine.protocol import to_data
from engine.run.process import ProcessRun
from engine.run.remote import RemoteRun
from engine.schedules import (
    ChangeSegment,
    GroupSetting,
    Restretch,
    RunSchedule,
    ScaleRest,
    SetConstant,
    Timeline,
    load_schedule,
    save_schedule,
)
from engine.serve.access import ADDRESS_FILE, TOKEN_FILE, Access, ServeError
from engine.serve.wire import pack, unpack
from engine.store import read_meta, read_steps
from engine.store.reader import read_table

LONG = 180


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """An 8 px digits run in a child process (long, 1,000 epochs: the last test shortens it; λmax measured every 10 steps),
    followed by its owner's handle."""
    home = tmp_path_factory.mktemp("served")
    env = dict(os.environ, PYTHONPATH=str(ROOT), LRSCOPE_CACHE_DIR=str(home / "cache"), LRSCOPE_LIBRARY_DIR=str(home / "library"))
    owner = ProcessRun(["train", "--data", str(SAMPLE), "--image-size", "8", "--epochs", "1000", "--curvature-every", "10",
                        "--runs-dir", str(home / "runs")],
                       client="lrscope test", cwd=ROOT, env=env)
    events = Events()
    owner.subscribe(events)
    owner.start("lrscope-test-owner")
    assert owner.connected.wait(LONG), owner.output
    yield owner, events
    if owner.process.poll() is None:
        owner.process.kill()
    owner.process.wait(30)
    owner.wait(30)


def steps_of(events):
    logged = events.of(StepsLogged)
    return np.concatenate([e.steps for e in logged]) if logged else np.zeros(0, dtype=np.int64)


def wait_for_step(events, step):
    events.wait_for(lambda ev: len(steps_of(ev)) and steps_of(ev)[-1] >= step, LONG)


def follow(access, **options):
    handle = RemoteRun(access, client="lrscope test", **options)
    seen = Events()
    handle.subscribe(seen)
    handle.start("lrscope-test-client")
    return handle, seen


def test_a_late_client_gets_the_history_then_the_live_steps_with_no_gap_or_double(served):
    owner, events = served
    wait_for_step(events, 25)
    run_dir = ROOT / events.of(RunStarted)[0].run_dir
    waited = time.monotonic()  # the store commits a few times a second: join once it holds some steps
    while len(read_steps(run_dir)["step"]) < 5 and time.monotonic() - waited < LONG:
        time.sleep(0.1)
    late, seen = follow(owner.access)
    joined_at = owner.step
    wait_for_step(seen, joined_at + 15)
    late.detach()
    assert late.wait(30) and late.error is None
    history = np.concatenate([e.steps for e in late.history() if isinstance(e, StepsLogged)])
    steps = steps_of(seen)
    assert len(history) >= 5 and len(steps) > len(history) + 10
    assert np.array_equal(steps, np.arange(len(steps))) and late.missed == 0 and late.doubled == 0
    ours = np.concatenate([e.losses for e in seen.of(StepsLogged)])
    theirs = np.concatenate([e.losses for e in events.of(StepsLogged)])
    shared = min(len(ours), len(theirs))
    assert np.array_equal(ours[:shared], theirs[:shared])
    # The curvature measured before it joined comes with the history, in order, none twice (the window's bound curve
    # and λmax plot began where it joined).
    measured = [e.step for e in seen.of(CurvatureMeasured)]
    assert measured and measured == [e.step for e in events.of(CurvatureMeasured)][:len(measured)]
    past = [e.step for e in late.history() if isinstance(e, CurvatureMeasured)]
    assert past == measured[:len(past)] and len(past) >= sum(m < len(history) for m in measured) > 0


def test_a_changed_segment_is_said_in_the_users_words_to_the_client_and_by_show(served, capsys):
    """The summary named the shape's field as code, "max_lr 0.2→0.05", in the answer, the window's log, `watch` and `show`."""
    owner, events = served
    answer = owner.request(EditSchedule(ChangeSegment(0, {"max_lr": 0.05})), LONG)
    said = "segment 1 (one_cycle): peak LR 0.2 → 0.05"
    assert answer.applied and answer.message == said
    run_dir, shown = str(ROOT / events.of(RunStarted)[0].run_dir), ""
    deadline = time.monotonic() + LONG
    while said not in shown and time.monotonic() < deadline:  # the store commits the edit a moment after it is applied
        shown = cli_done(capsys, "show", run_dir).stdout
    assert f"(user, from lrscope test (127.0.0.1)): {said}" in shown, shown
    # Its summary said the schedule it started with as if it had trained it throughout. (The shared run may have met a
    # loss fault since the edit: its rollback undid the edit, which the summary says too.)
    assert re.search(r"^schedule   one_cycle .* \(as it started; then \d+ edits?( in force and \d+ a rollback undid)?, listed below\)$",
                     shown, re.M), shown


def test_an_edit_through_the_handle_is_applied_at_one_step_and_recorded_with_its_source(served):
    owner, events = served
    answer = owner.request(EditSchedule(SetConstant(0.0123)), LONG)
    assert answer.applied and answer.message.startswith("set LR to 0.0123 for the rest")
    wait_for_step(events, answer.step + 5)
    steps = steps_of(events)
    lrs = np.concatenate([e.lrs for e in events.of(StepsLogged)])
    assert np.all(lrs[steps >= answer.step] == 0.0123) and np.all(lrs[steps < answer.step] != 0.0123)
    changed = [e for e in events.of(ScheduleChanged) if e.reason == "user"][-1]
    assert changed.step == answer.step and changed.source == "lrscope test (127.0.0.1)"
    assert changed.run_schedule.edits[-1].edit.source == "lrscope test (127.0.0.1)"


def test_ctl_says_what_was_applied_at_which_step(served, capsys):
    owner, events = served
    target = [owner.access.address, "--token", owner.access.token]
    done = cli_done(capsys, "ctl", *target, "scale-rest", "2")
    first, *caused = done.stdout.splitlines()
    assert done.returncode == 0 and first.startswith("applied at step ") and first.endswith(": scaled the rest ×2")
    assert all(line.startswith("warning: ") for line in caused)  # doubling may bring the planned peak near the bound
    done = cli_done(capsys, "ctl", *target, "undo")
    assert done.returncode == 0 and "undid edit" in done.stdout and "(scaled the rest ×2)" in done.stdout
    done = cli_done(capsys, "ctl", *target, "redo")
    assert done.returncode == 0 and "redid edit #" in done.stdout and "(scaled the rest ×2)" in done.stdout
    assert cli_done(capsys, "ctl", *target, "undo").returncode == 0  # as the test found it, for the tests after it
    done = cli_done(capsys, "ctl", *target, "resume")
    assert done.returncode == 1 and "not applied at step" in done.stdout and "already running" in done.stdout
    # The window's choices of a test (repeats, validation loss …) from ctl too; it had --probe and --iters only.
    done = cli_done(capsys, "ctl", *target, "--timeout", "600", "range-test", "--iters", "20", "--repeats", "2", "--validation", "--json")  # ctl waits up to 600 s
    answer = json.loads(done.stdout)
    tested, recommended = answer["range_test"], answer["range_test"]["recommended"]
    # Exit 1 without a recommendation, as `lrscope range-test` (a script read 0 as one: helper-73).
    assert done.returncode == (0 if recommended else 1) and answer["applied"] and tested["settings"]["iterations"] == 20
    assert len(tested["curve"]["lr"]) > 0
    assert tested["settings"]["repeats"] == 2 and tested["settings"]["validation"]
    assert re.search(r"^sweep ×2: 40 training steps, 0\.0\d+× the run, (about \d+ min|under a minute) in the run$", done.stderr, re.M), done.stderr  # how long it will hold the run
    assert recommended["constant_lr"] > 0 if recommended else tested["why_none"]  # a flat curve recommends nothing, and says why
    # The run's own log says how it ended, not only the one who asked (it said "will take about 0:06", then nothing).
    assert any(line.startswith("range test (sweep) finished: ") for line in owner.output), owner.output[-5:]
    done = cli_done(capsys, "ctl", owner.access.address, "--token", "wrong", "pause")
    assert done.returncode == 2 and done.stderr.startswith("lrscope: error: ") and "refused this client: wrong token; give the token the run printed when it started" in done.stderr
    assert "Traceback" not in done.stderr and owner.state == "running"


def test_a_long_range_test_from_ctl_outlasts_its_timeout_is_shown_to_late_clients_and_is_cancelled_from_another_terminal(served, capsys):
    """A probe announced as "about 10 min" was given up on by its ctl after 120 s, its suggestions never shown; a
    window attached meanwhile showed it as a sweep, its Cancel disabled; and no command cancelled it but stop."""
    owner, events = served
    target = [owner.access.address, "--token", owner.access.token]
    tests_before = len(events.of(RangeTestProgress))
    asked = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "ctl", *target, "--timeout", "3", "range-test", "--probe",
                              "--probe-count", "40", "--probe-steps", "200", "--no-curvature"],  # hours on this run: cancelled below
                             cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        events.wait_for(lambda ev: len(ev.of(RangeTestProgress)) > tests_before, LONG)
        late, seen = follow(owner.access)
        watcher, watched = follow(owner.access, history=False)
        for heard in (seen, watched):
            heard.wait_for(lambda ev: ev.of(RangeTestStarted), LONG)
            assert heard.of(RangeTestStarted)[-1].mode == "probe"
        late.detach()
        watcher.detach()
        time.sleep(4)  # past the ctl's --timeout, with the test still reporting progress
        assert asked.poll() is None, asked.communicate()
        cancelled = cli_done(capsys, "ctl", *target, "cancel-range-test")
        out, err = asked.communicate(timeout=LONG)
    finally:
        asked.kill()
    assert cancelled.returncode == 0, cancelled.stderr
    assert re.match(r"applied at step \d+: cancelled the range test; its result keeps what it measured\n", cancelled.stdout)
    # Cancelled, it recommends nothing: exit 1, as `lrscope range-test` without a recommendation.
    assert asked.returncode == 1 and out.startswith("applied at step ") and "range test cancelled" in out, (out, err)
    assert "cancelled" in out  # its result, from the part that ran
    assert owner.request(CancelRangeTest(), LONG).message == "no range test was running"  # the cancel is spent


def test_ctl_applies_a_schedule_file_and_refuses_one_that_does_not_fit_unless_told_to(served, tmp_path, capsys):
    """A file that does not say which dataset it was tuned on was refused as "tuned for another dataset (the schedule
    file does not say which …)", and no option applied it."""
    owner, _ = served
    tracked = owner.tracker
    target = [owner.access.address, "--token", owner.access.token]
    config = TrainConfig.from_dict(tracked.config)
    fits, unsaid = tmp_path / "fits.json", tmp_path / "unsaid.json"
    for path, dataset in ((fits, tracked.dataset), (unsaid, {})):
        save_schedule(path, tuned_document(tracked.run_schedule, config, dataset, tracked.steps_per_epoch))
    done = cli_done(capsys, "ctl", *target, "apply", unsaid)
    assert done.returncode == 2 and done.stderr.strip() == (f"lrscope: error: {unsaid} was not applied: the schedule file does not say "
                                                             "which dataset it was tuned on; --accept-mismatch applies it anyway")
    other = tmp_path / "other.json"  # another size and model: it named the size alone, and the model on a second try
    save_schedule(other, tuned_document(tracked.run_schedule, replace(config, model="resnet18"), {**tracked.dataset, "resolution": 32},
                                        tracked.steps_per_epoch))
    done = cli_done(capsys, "ctl", *target, "apply", other)
    assert done.returncode == 2 and "resolution: tuned at 32 px" in done.stderr and "tuned with model resnet18" in done.stderr
    for path, options in ((unsaid, ["--accept-mismatch"]), (fits, [])):
        done = cli_done(capsys, "ctl", *target, "apply", path, *options)
        assert done.returncode == 0 and re.match(r"applied at step \d+: ", done.stdout), done.stdout + done.stderr
        assert "group LRs" not in done.stderr
        assert cli_done(capsys, "ctl", *target, "undo").returncode == 0
    # A replacement keeps the run's group settings, and says so of a file that has its own: it dropped them without a
    # word (helper-92).
    grouped = tmp_path / "grouped.json"
    halved = RunSchedule(Timeline.of(tracked.run_schedule.timeline.pieces[0].schedule, groups=(GroupSetting("all", 0.5),)))
    save_schedule(grouped, tuned_document(halved, config, tracked.dataset, tracked.steps_per_epoch))
    done = cli_done(capsys, "ctl", *target, "apply", grouped)
    assert done.returncode == 0 and done.stderr.startswith(f"warning: {grouped}'s group LRs (all ×0.5) are not applied: each group "
                                                           "keeps its own multiplier and freezing in the run"), done.stderr
    assert cli_done(capsys, "ctl", *target, "undo").returncode == 0
    # A file of a run's edits: the whole plan over the steps left (its last piece alone replaced the rest, and the
    # one-cycle before it went without a word).
    two = tmp_path / "two.json"
    start = RunSchedule(Timeline.of(tracked.run_schedule.timeline.pieces[0].schedule))
    edited = start.apply(SetConstant(0.02), start.timeline.total_steps // 2, 0.1)
    save_schedule(two, tuned_document(edited, config, tracked.dataset, tracked.steps_per_epoch))
    done = cli_done(capsys, "ctl", *target, "apply", two)
    assert done.returncode == 0 and re.search(r"replaced the rest with a plan of 2 pieces: steps \d+–\d+: one_cycle .+; steps \d+–\d+: constant 0\.02",
                                              done.stdout), done.stdout + done.stderr
    applied_at = int(re.match(r"applied at step (\d+)", done.stdout).group(1))
    deadline = time.monotonic() + LONG
    while tracked.run_schedule.timeline.pieces[-2].start != applied_at and time.monotonic() < deadline:
        time.sleep(0.05)  # the edit's ScheduleChanged reaches the owner's handle a moment after ctl's answer
    plan = tracked.run_schedule.timeline
    assert plan.lr_at(plan.total_steps - 1) == 0.02 and plan.lr_at(applied_at) < 0.02  # the one-cycle first, then 0.02
    assert cli_done(capsys, "ctl", *target, "undo").returncode == 0


def test_ctl_measures_sets_the_cadence_and_prints_the_warnings_its_edit_caused(served, capsys):
    """The protocol could measure λmax now and set the cadence, but ctl had no action for either; and a set-lr far above
    the bound drew a warning that the window and `watch` showed while ctl, who caused it, printed nothing."""
    owner, events = served
    target = [owner.access.address, "--token", owner.access.token]
    assert cli_done(capsys, "ctl", *target, "pause").returncode == 0
    done = cli_done(capsys, "ctl", *target, "measure")
    first, *rest = done.stdout.splitlines()
    assert done.returncode == 0 and first.startswith("applied at step ") and ": λmax " in first, done.stdout
    assert "% of the bound" in first and "products in" in first  # against the bound, as `watch` prints it, in one line
    assert not any("λmax" in line and "bound" not in line for line in rest)  # it printed λmax twice, once bare
    done = cli_done(capsys, "ctl", *target, "set-lr", "50", "--json")
    answer = json.loads(done.stdout)
    assert answer["applied"] and [w["kind"] for w in answer["warnings"]] == ["above_bound"], answer
    assert answer["exit_status"] == done.returncode == 0  # as every command's object says it (helper-82)
    done = cli_done(capsys, "ctl", *target, "undo")
    assert done.returncode == 0 and "warning" not in done.stdout
    done = cli_done(capsys, "ctl", *target, "set-lr", "-1", "--json")
    assert json.loads(done.stdout)["exit_status"] == done.returncode == 1
    done = cli_done(capsys, "ctl", *target, "set-lr", "-1")  # it named "segments[0] (constant)", a schedule the user never wrote
    assert done.returncode == 1 and done.stdout.strip().endswith(": the LR to hold must be above 0, got -1 (to stop training for a while, pause)"), done.stdout
    # "must be a positive number" for 1e9, and an LR `train --lr` refuses above 100 was held: the bounds, said.
    for action, said in ((["set-lr", "1e6"], "the LR to hold must be at most 100, got 1e+06"),
                         (["scale-rest", "1e9"], "the factor to scale the rest by must be above 0 and at most 1e+06, got 1e+09")):
        done = cli_done(capsys, "ctl", *target, *action)
        assert done.returncode == 1 and done.stdout.strip().endswith(f": {said}"), done.stdout
    done = cli_done(capsys, "ctl", *target, "curvature-every", "sometimes")
    assert done.returncode == 1 and "not applied" in done.stdout
    done = cli_done(capsys, "ctl", *target, "curvature-every", "20")
    assert done.returncode == 0 and "curvature cadence 20 from step" in done.stdout, done.stdout
    assert cli_done(capsys, "ctl", *target, "curvature-every", "10").returncode == 0 and cli_done(capsys, "ctl", *target, "resume").returncode == 0


def test_a_wrong_or_missing_token_is_refused_and_logged_and_the_run_goes_on(served):
    owner, events = served
    for token, reason in (("not-the-token", "wrong token"), ("", "no token")):
        with pytest.raises(ServeError, match=f"refused this client: {reason}"):
            RemoteRun(Access(owner.access.address, token), connect_timeout=30).run()
        logged = f"refused a client from 127.0.0.1: {reason}"
        events.wait_for(lambda ev, logged=logged: any(logged in e.text for e in ev.of(LogLine)), LONG)
    step = owner.step
    wait_for_step(events, step + 5)
    assert owner.state == "running"


def test_malformed_and_hostile_messages_are_refused_and_the_run_goes_on(served):
    owner, events = served
    context = zmq.Context()
    raw = context.socket(zmq.DEALER)
    raw.connect(owner.access.address)

    def said(frame):
        """The server's answer to ``frame`` (the live events and ticks it also sends are passed over)."""
        raw.send(frame)
        while True:
            assert raw.poll(LONG * 1000)
            answer = unpack(raw.recv())
            if answer["op"] not in ("event", "tick", "history"):
                return answer

    assert said(pack("command", id="x", command=to_data(Stop())))["op"] == "refused"
    assert said(pack("hello", token=owner.access.token, client="raw", protocol=1, history=False))["op"] == "welcome"
    assert "not a JSON message" in said(b"{not json")["reason"]
    assert "over the 1,048,576-byte limit" in said(b" " * (2 << 20))["reason"]
    assert "unknown op 'launch'" in said(pack("launch"))["reason"]
    refusals = {
        "v9": ({"type": "Pause", "v": 9, "fields": {}}, "Pause version 9 is not understood here"),
        "unknown": ({"type": "Shutdown", "v": 1, "fields": {}}, "unknown message type 'Shutdown'"),
        "type": ({"type": "EditSchedule", "v": 1, "fields": {"edit": {"type": "SetConstant", "v": 1, "fields": {"lr": "fast"}}}},
                 "command.edit.lr: must be a number, got text"),
        "event": (to_data(LogLine("hi")), "expected Command, got LogLine"),
        "fault": ({"type": "Stop", "v": 2, "fields": {"fault": "loss_blowup"}}, "a client stops a run as a person does"),
        "range": ({"type": "StartRangeTest", "v": 1, "fields": {"settings": {"type": "RangeTestSettings", "v": 1, "fields": {"iterations": -5}}}},
                  "iterations must be a whole number"),
    }
    for command_id, (command, reason) in refusals.items():
        answer = said(pack("command", id=command_id, command=command))
        assert answer == {"op": "rejected", "id": command_id, "reason": answer["reason"]} and reason in answer["reason"], answer
    assert said(pack("command", id="negative", command=to_data(EditSchedule(SetConstant(-1.0)))))["op"] == "accepted"
    events.wait_for(lambda ev: any(e.command_id == "negative" and not e.applied for e in ev.of(CommandApplied)), LONG)
    raw.send(b" " * (17 << 20))  # over the transport's limit: the connection is dropped before Python reads it
    raw.close(linger=0)
    context.term()
    assert owner.request(CancelRangeTest(), LONG).message == "no range test was running"
    wait_for_step(events, owner.step + 5)


def flood_command(client: int, n: int):
    if n % 1000 == 0:
        return Pause(id=f"{client}-{n}")
    if n % 1000 == 1:
        return Resume(id=f"{client}-{n}")
    if n % 250 == 2:
        return EditSchedule(ScaleRest(1.0), id=f"{client}-{n}")
    return CancelRangeTest(id=f"{client}-{n}")


class Applied:
    """The ids of the flood's commands in the order the job applied them."""

    def __init__(self, count):
        self.ids, self.count, self.done = [], count, threading.Event()

    def __call__(self, event):
        if isinstance(event, CommandApplied) and event.command_id[:2] in ("0-", "1-"):
            self.ids.append(event.command_id)
            if len(self.ids) == self.count:
                self.done.set()


def test_ten_thousand_commands_from_two_clients_are_applied_in_order(served):
    owner, events = served
    applied = Applied(10_000)
    owner.subscribe(applied)
    clients = [follow(owner.access, history=False) for _ in range(2)]
    for handle, _ in clients:
        assert handle.connected.wait(LONG)

    def flood(index):
        for n in range(5000):
            clients[index][0].send(flood_command(index, n))

    senders = [threading.Thread(target=flood, args=(i,), name=f"lrscope-test-flood-{i}") for i in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(LONG)
    assert applied.done.wait(LONG), f"{len(applied.ids)} of 10,000 commands heard applied, {owner.missed} events missed"
    for index in range(2):
        assert [i for i in applied.ids if i.startswith(f"{index}-")] == [f"{index}-{n}" for n in range(5000)]
    for handle, seen in clients:
        assert not [e for e in seen.of(LogLine) if "refused" in e.text]
        handle.detach()
        assert handle.wait(30) and handle.error is None
    owner.request(Resume(), LONG)
    wait_for_step(events, owner.step + 5)


CLIENT = """
import sys
from engine.commands import CancelRangeTest
from engine.run.remote import RemoteRun
from engine.serve.access import Access
handle = RemoteRun(Access(sys.argv[1], sys.argv[2]), client="doomed")
handle.start()
handle.connected.wait(60)
for n in range(100_000):
    handle.send(CancelRangeTest(id=f"doomed-{n}"))
handle.wait()
"""


def test_a_client_that_stops_reading_or_is_killed_at_any_moment_leaves_the_run_going(served):
    owner, events = served
    context = zmq.Context()
    stalled = context.socket(zmq.DEALER)
    stalled.setsockopt(zmq.RCVHWM, 1)
    stalled.connect(owner.access.address)
    stalled.send(pack("hello", token=owner.access.token, client="stalled", protocol=1, history=True))
    for delay in (0.0, random.uniform(0.2, 3.0), random.uniform(3.0, 6.0)):
        client = subprocess.Popen([sys.executable, "-c", CLIENT, owner.access.address, owner.access.token], cwd=ROOT,
                                  env=dict(os.environ, PYTHONPATH=str(ROOT)))
        time.sleep(delay)
        client.send_signal(signal.SIGKILL)
        client.wait(30)
        wait_for_step(events, owner.step + 5)
    assert owner.state == "running"
    stalled.close(linger=0)
    context.term()


def test_a_watcher_without_the_history_of_a_paused_run_knows_where_it_is(served):
    """It was told the run's header alone, whose step is where the run (re)started: it said nothing of the pause, and
    Ctrl-C said "stopped watching at step 70" of a run paused at step 269."""
    owner, _ = served
    assert owner.request(Pause(), LONG).applied
    paused_at = owner.step
    watch = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "watch", owner.access.address, "--no-history"], cwd=ROOT,
                             env=dict(os.environ, PYTHONPATH=str(ROOT), LRSCOPE_TOKEN=owner.access.token), stdout=subprocess.PIPE, text=True)
    deadline = threading.Timer(LONG, watch.kill)  # a watcher never told of the pause would wait for it forever
    deadline.start()
    try:
        lines = []
        for line in watch.stdout:
            lines.append(line)
            if "paused at step" in line:
                break
        # SIGTERM, which `watch` takes as it takes Ctrl-C: under the full suite this process, and so the watcher it starts,
        # had SIGINT (and SIGQUIT) ignored, as libc's system() sets them while another thread's command runs; the
        # watcher then sat out the deadline. What the signals were is kept for the message below.
        signals = [line for pid in (watch.pid, os.getpid()) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith(("SigIgn", "SigCgt"))]
        watch.send_signal(signal.SIGTERM)
        rest, _ = watch.communicate(timeout=LONG)
    finally:
        deadline.cancel()
        watch.kill()
        assert owner.request(Resume(), LONG).applied
    assert f"paused at step {paused_at}" in "".join(lines)
    assert f"stopped watching at step {paused_at}; the run stays paused" in rest, (lines[-5:], signals)


def test_the_run_finishes_and_its_exported_schedule_replays_the_applied_lrs(served, tmp_path, capsys):
    owner, events = served
    watched, joined = tmp_path / "watch.txt", tmp_path / "watch-no-history.txt"
    watchers = []
    for path, options in ((watched, []), (joined, ["--no-history"])):
        with open(path, "w") as output:
            watchers.append(subprocess.Popen([sys.executable, str(ROOT / "main.py"), "watch", owner.access.address, *options], cwd=ROOT,
                                             env=dict(os.environ, PYTHONPATH=str(ROOT), LRSCOPE_TOKEN=owner.access.token), stdout=output))
    deadline = time.monotonic() + LONG
    while not all("training on " in path.read_text() for path in (watched, joined)) and time.monotonic() < deadline:
        assert all(w.poll() is None for w in watchers), watched.read_text() + joined.read_text()  # attached: the header came
        time.sleep(0.1)
    owner.request(EditSchedule(Restretch(owner.step + 30)), LONG)
    assert owner.wait(3 * LONG) and owner.error is None  # 30 more steps and a validation: slow on a crowded machine
    result = owner.outcome
    assert result.state == "finished" and owner.process.returncode == 0
    assert [w.wait(LONG) for w in watchers] == [0, 0]
    lines = watched.read_text()
    assert "epoch 1/1000: train loss" in lines and f"the run is finished at step {result.step}" in lines
    # Joined late without the history: the run's header (its length), then no gap warning, and the restretched length.
    late = joined.read_text()
    epochs = -(-result.step // result.steps_per_epoch)
    assert f"/{epochs}: train loss" in late and "did not reach" not in late and f"the run is finished at step {result.step}" in late
    run_dir = result.run_dir
    assert not (ROOT / run_dir / ADDRESS_FILE).exists() and not (ROOT / run_dir / TOKEN_FILE).exists()
    assert read_meta(run_dir)["state"] == "finished"
    sources = [row[0] for row in read_table(run_dir, "SELECT source FROM edits WHERE reason = 'user'")]
    assert set(sources) == {"lrscope test (127.0.0.1)", "lrscope ctl (127.0.0.1)"}

    document = tuned_document(result.run_schedule, TrainConfig.from_dict(result.config), result.dataset, result.steps_per_epoch)
    path = save_schedule(tmp_path / "served.lrschedule.json", document)
    from engine.cli import run_cli

    assert run_cli(["schedule", "show", str(path)]) == 0
    assert "(user, from lrscope ctl (127.0.0.1)): " in capsys.readouterr().out  # who sent each edit, as the file keeps it
    assert run_cli(["show", str(run_dir), "--json"]) == 0  # the range tests too, with their results: the text listed them
    tests = json.loads(capsys.readouterr().out)["range_tests"]
    assert tests and tests[0]["mode"] == "sweep" and tests[0]["result"]["settings"]["validation"] is True
    recommended = tests[0]["result"]["recommended"]
    assert run_cli(["show", str(run_dir)]) == 0  # the text listed the test with no outcome, a cancelled one as any other
    said = f"recommends max LR {recommended['one_cycle_max_lr']:.3g} (one-cycle)" if recommended else "no recommendation"
    assert f"  range test (sweep) at step {tests[0]['step']}: {said}" in capsys.readouterr().out
    stored = read_steps(run_dir)
    params = {name: torch.nn.Parameter(torch.zeros(1)) for name in stored["groups"]}
    optimizer = torch.optim.SGD([{"params": [p], "name": n} for n, p in params.items()], lr=1.0, momentum=0.9)
    scheduler = load_schedule(path).torch_scheduler(optimizer)
    replayed = []
    for _ in stored["step"]:
        replayed.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    # Step for step, but where an edit was undone later: trained again, those steps follow what the undo went back to.
    kept = np.ones(len(stored["step"]), bool)
    for first, end in load_schedule(path).taken_back:
        kept &= (stored["step"] < first) | (stored["step"] >= end)
    assert np.array_equal(np.array(replayed)[kept], stored["lrs"][kept])



def test_a_runs_token_is_never_read_as_an_option():
    """One URL-safe token in 64 began with "-": `lrscope ctl ADDRESS --token -x… undo` said "argument --token: expected one
    argument" (found when a test's served run drew one)."""
    from engine.serve.access import new_token

    assert not any(new_token().startswith("-") for _ in range(2000))
