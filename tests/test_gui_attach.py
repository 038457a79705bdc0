"""The window attaches to a run served by another process, steers it through its controls, lets it go, and the run goes on."""

import os
import re

import numpy as np
import pytest
from gui_fixtures import heading_fits, legend, range_test_before_a_run, title_key, title_name
from helpers import SAMPLE, cli_done, served_child
from PySide6.QtWidgets import QLabel

from engine.commands import CancelRangeTest, EditSchedule, Pause, Resume, StartRangeTest
from engine.events import RangeTestProgress, StepsLogged
from engine.range_test.settings import RangeTestSettings
from engine.schedules import Restretch, load_schedule
from gui.driving import click, press, select_rows, show_tab, trigger, type_into
from gui.panels.config_panel import IDLE_NOTE

pytest.importorskip("pytestqt")
LONG = 180_000
SOURCE = "lrscope window (127.0.0.1)"
SERVED = ["train", "--data", str(SAMPLE), "--image-size", "16"]  # a digits run for the window to attach to


@pytest.fixture
def served():
    """A 16 px digits run in a child process, served, stored where the window looks for runs."""
    with served_child([*SERVED, "--epochs", "100"], LONG / 1000) as served:
        yield served


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory, decoded_images):
    """(runs folder, handle, events) of one served run, paused, for the tests that attach to it, look, and let it go (one
    starts range tests in it and cancels them, which leaves its training as it was): each of them paid seconds of a
    child's start-up. 1000 epochs: it outlasts them all. Its folders are its own (a test's private ones are set after
    this fixture and undone before the next test)."""
    home = tmp_path_factory.mktemp("shared-run")
    folders = {f"LRSCOPE_{name}_DIR": str(home / name.lower()) for name in ("RUNS", "LIBRARY", "SETTINGS")}
    with served_child([*SERVED, "--epochs", "1000"], LONG / 1000, LRSCOPE_CACHE_DIR=str(decoded_images),
                      TORCH_HOME=str(home / "torch"), LRSCOPE_OFFLINE="1", **folders) as (owner, events):
        assert owner.request(Pause(), LONG / 1000).applied  # it trains only while a test follows it
        yield home / "runs", owner, events


@pytest.fixture
def shared(shared_run, monkeypatch):
    """``running()``: the shared run resumed, listed in the window's runs folder: (handle, events); paused after the test."""
    runs, owner, events = shared_run
    monkeypatch.setenv("LRSCOPE_RUNS_DIR", str(runs))

    def running():
        if owner.state == "paused":
            assert owner.request(Resume(), LONG / 1000).applied
        return owner, events

    yield running
    if owner.state == "range_test":  # left by a test that failed: the pause would wait for its end, hours away
        owner.request(CancelRangeTest(), LONG / 1000)
    if owner.state != "paused":
        paused = owner.request(Pause(), LONG / 1000)
        assert paused is not None and paused.applied, paused


@pytest.fixture
def window(launch):
    """The window on the digits sample (the served run trains in another process)."""
    return launch({"image_size": 16, "epochs": 1})


def attach_from_the_runs_tab(qtbot, window, state: str = "running"):
    """Select the one served run, listed in ``state``, and Attach; wait until its history has come."""
    panel = window.runs_panel
    show_tab(window.tabs, "Runs")
    click(panel.buttons["Refresh"])
    qtbot.waitUntil(lambda: panel.table.topLevelItemCount() == 1 and panel.table.topLevelItem(0).text(3) == f"{state} · served", timeout=LONG)
    select_rows(panel.table, [0])
    click(panel.buttons["Attach"])
    qtbot.waitUntil(lambda: window.controller.attached and window.live.step > 0, timeout=LONG)


def test_the_window_attaches_steers_detaches_and_the_run_goes_on(qtbot, window, served, dialogs, tmp_path):
    owner, events = served
    type_into(window.editor.peak, "0.0314")  # the window's own plan (a tune's winner, say), before it attaches
    click(window.editor.use_button)
    events.wait_for(lambda ev: ev.of(StepsLogged) and ev.of(StepsLogged)[-1].steps[-1] >= 10, LONG / 1000)
    attach_from_the_runs_tab(qtbot, window)
    assert window.tabs.currentIndex() == 0 and not window.start_action.isEnabled() and window.detach_action.isEnabled()
    # The Configuration tab's fields are the window's: it says which of the run's settings differ (read as the run's,
    # they said 32 px for a run at 16).
    assert not window.config_panel.followed.isHidden(), "the run's settings are not said"
    assert window.config_panel.followed.text() == ("The run followed trains with epochs 100: these fields are this "
                                                   "window's, for its next run.")
    type_into(window.config_panel.editors["epochs"], "100")
    assert window.config_panel.followed.text() == "The run followed trains with these settings."
    type_into(window.config_panel.editors["epochs"], "1")
    qtbot.waitUntil(lambda: len(window.loss.points) >= 10, timeout=LONG)  # the history arrived: the plots show the past
    # Its steps arrived in one burst; the pace is no faster than they trained ("a few seconds left" for minutes).
    # The pace averages blocks that each went no faster than their training speed, so no faster than the fastest
    # block (the smoothed speed is another average, with its own weights: on a loaded machine it can be slower).
    live = window.live
    qtbot.waitUntil(lambda: live.remaining.steps_per_s is not None, timeout=LONG)  # under load the check came before any pace
    fastest_steps_per_s = max(block.samples_per_s for block in events.of(StepsLogged)) / live.batch_size
    assert live.remaining.steps_per_s <= fastest_steps_per_s * 1.001

    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    type_into(window.editor.set_lr, "0.0123")
    click(window.editor.set_now)
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)
    assert f"(user, from {SOURCE}): set LR to 0.0123 for the rest" in window.editor.history.item(0).text()
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "running" and window.live.step > owner.step - 1, timeout=LONG)
    set_at = window.live.step
    qtbot.waitUntil(lambda: window.live.step >= set_at + 3, timeout=LONG)
    click(window.editor.undo)
    qtbot.waitUntil(lambda: window.editor.history.count() == 2, timeout=LONG)
    assert "undid edit #1 (set LR to 0.0123 for the rest" in window.editor.history.item(1).text()

    trigger(window.detach_action)
    qtbot.waitUntil(lambda: not window.controller.training and window.live.state == "detached", timeout=LONG)
    # The plots keep the run let go (Export writes it) and say where it was let go: they read as a run that ended there.
    left_at = re.search(r"no longer following run \S+ \(it was running at step (\d+)\)", window.log.toPlainText()).group(1)
    assert title_name(window.loss) == f"Loss · {window.live.run_id} (no longer followed since step {left_at})"
    # The editor holds the window's own plan again: it held the run's schedule squeezed into 22 steps, and the plan from
    # before attaching was gone. Export still writes the run followed.
    assert "the editor shows digits' own schedule again: Start trains it" in window.log.toPlainText()
    assert window.editor.plan().schedule.segments[0].max_lr == 0.0314
    assert window.status.text() == "detached · next run: 22 steps (1 epoch × 22 steps)"  # not the run let go, as if live
    # The LR plot keeps the run let go beside the next run's plan, and says which is which: "planned" read as its plan.
    qtbot.waitUntil(lambda: legend(window.lr)[-1:] == ["next run"], timeout=LONG)
    assert window.config_panel.followed.text() == IDLE_NOTE
    dialogs.answer("save_path", str(tmp_path / "followed.lrschedule.json"))
    trigger(window.export_action)
    assert dialogs.of("save_path")[-1].title == "Export the last run's schedule (0 edits in effect, of 2 made)"  # its set-lr, undone
    assert load_schedule(tmp_path / "followed.lrschedule.json").edits[0]["summary"].startswith("set LR to 0.0123 for the rest")
    # One step is named, where the plots stop: "detached at step 638" came before "no longer following … at step 648".
    detached = window.log.toPlainText().split(f"detaching from run {window.live.run_id}: it goes on training")[1]
    assert re.findall(r"step \d+", detached.split("the editor shows")[0]) == [f"step {left_at}"], detached
    attach_from_the_runs_tab(qtbot, window)  # paused, then let go: it was said to "go on training"
    qtbot.waitUntil(lambda: window.live.state == "running" and window.pause_action.isEnabled(), timeout=LONG)
    assert title_name(window.loss) == f"Loss · {window.live.run_id}"  # followed again
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    trigger(window.detach_action)
    qtbot.waitUntil(lambda: window.live.state == "detached", timeout=LONG)
    assert "it stays paused (Attach, then Resume, Ctrl+P, continues it)" in window.log.toPlainText()  # not "Pause": the button of a paused run reads Resume
    assert owner.request(Resume(), LONG / 1000).applied
    detached_at = owner.step
    events.wait_for(lambda ev: ev.of(StepsLogged)[-1].steps[-1] >= detached_at + 5, LONG / 1000)

    attach_from_the_runs_tab(qtbot, window)  # again, then close the window: the run is not the window's to stop
    qtbot.waitUntil(lambda: window.live.step > detached_at, timeout=LONG)
    press(window, "Ctrl+Q")  # no question: the run is not the window's to stop
    assert owner.state == "running" and owner.process.poll() is None
    owner.request(EditSchedule(Restretch(owner.step + 20)), LONG / 1000)
    assert owner.wait(LONG / 1000) and owner.outcome.state == "finished"
    set_lr, undo = [r for r in owner.outcome.run_schedule.edits if r.edit.reason == "user" and r.edit.source == SOURCE]
    steps = np.concatenate([e.steps for e in events.of(StepsLogged)])
    lrs = np.concatenate([e.lrs for e in events.of(StepsLogged)])
    held = (steps >= set_lr.step) & (steps < undo.step)
    assert held.sum() >= 3 and np.all(lrs[held] == 0.0123) and np.all(lrs[~held] != 0.0123)


def test_after_detach_in_a_narrow_window_the_loss_plots_key_shows_whole(qtbot, shared, window):
    """At 1024 px the title "(no longer followed since step N)" takes a second line: the shorter view cut the legend's
    last key, "validation", off. (The key is in the title now, where it hides no curve.)"""
    shared()
    # A laptop's width, and a height at which the old legend lost its key: at 700 px, since the "During a run" box got
    # compact, the view held three rows and the test passed without the fix.
    window.resize(1024, 640)
    attach_from_the_runs_tab(qtbot, window)
    qtbot.waitUntil(lambda: len(window.loss.validation) > 0, timeout=LONG)  # a validation point: its key is listed
    trigger(window.detach_action)
    qtbot.waitUntil(lambda: window.live.state == "detached", timeout=LONG)
    assert "no longer followed" in title_key(window.loss)
    qtbot.waitUntil(lambda: heading_fits(window.loss), timeout=LONG)  # beside the toolbar's buttons, and under them
    assert title_key(window.loss).endswith("━ train (raw) ━ train (smoothed) ●━ validation")
    assert not window.loss.plot.legend.isVisible()


def test_a_run_of_another_dataset_attached_to_and_edited_leaves_the_open_datasets_schedule_and_plots_alone(qtbot, launch, served):
    """Attached to a digits run with digits-camera2 open, edited, detached: Start trained camera2 with the digits run's
    edited schedule, without a word, and reopening camera2 kept the digits run's plots under camera2's plan."""
    from helpers import CAMERA2

    window = launch({"image_size": 16, "epochs": 1}, data=CAMERA2)
    attach_from_the_runs_tab(qtbot, window)
    # The title and the Dataset tab said digits-camera2 beside the digits run's curves.
    qtbot.waitUntil(lambda: window.windowTitle().startswith(f"lrscope — following run {window.live.run_id}: digits ("), timeout=LONG)
    assert window.windowTitle().endswith(f" · open: digits-camera2 ({CAMERA2})")
    assert window.dataset_panel.followed.isVisible() and "trains <b>digits (" in window.dataset_panel.followed.text()
    trigger(window.pause_action)
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    type_into(window.editor.form.editors["max_lr"], "0.1")
    press(window, "Ctrl+Return")  # Apply from now
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)
    trigger(window.detach_action)
    qtbot.waitUntil(lambda: "the editor is back to digits-camera2's schedule" in window.log.toPlainText(), timeout=LONG)
    assert window.editor.plan().schedule.segments[0].max_lr == 0.2  # camera2's own (lrscope's default), not the run's 0.1
    assert window.windowTitle() == f"lrscope — digits-camera2 ({CAMERA2})" and not window.dataset_panel.followed.isVisible()

    window.dataset_panel.recent.menu().actions()[0].trigger()  # digits-camera2 again, from Recent
    qtbot.waitUntil(lambda: len(window.loss.points) == 0 and window.live.state == "idle", timeout=LONG)
    assert window.status.text().startswith("idle · next run")
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None and window.last_run.dataset["name"] == "digits-camera2", timeout=LONG)
    assert window.last_run.run_schedule.timeline.pieces[0].schedule.segments[0].max_lr == 0.2

    owner, _ = served  # its owner hears at once that the child was killed (it waited out seconds of silence)
    owner.process.kill()
    assert owner.wait(LONG / 1000) and str(owner.error).startswith("the training process ended (exit status -9) before its run did")


def test_a_window_attached_during_a_range_test_from_a_terminal_names_it_and_cancels_it(qtbot, shared, window, monkeypatch,
                                                                                       capsys):
    """It showed a probe started from `lrscope ctl` as "sweep running", its Cancel disabled: the run's store keeps only
    finished tests, so a window joining during one never heard that it began."""
    range_test_before_a_run(qtbot, window)  # its result stayed usable ("Use as …") while the run's test ran
    owner, events = shared()
    events.wait_for(lambda ev: ev.of(StepsLogged), LONG / 1000)
    owner.send(StartRangeTest(RangeTestSettings(mode="probe", probe_count=40, probe_steps=200, curvature=False)))  # hours
    events.wait_for(lambda ev: ev.of(RangeTestProgress), LONG / 1000)
    attach_from_the_runs_tab(qtbot, window, state="range_test")
    panel = window.range_panel
    qtbot.waitUntil(lambda: panel.status.text().startswith("probe running"), timeout=LONG)
    # The form shows this window's settings, not the test's: the line says what the test does.
    assert panel.status.text().startswith("probe running (asked elsewhere): ")
    assert panel.note.text() == "Asked elsewhere: probe of 40 candidate LRs from 0.0001 to 10, 200 steps each, 3 repeats"
    assert panel.result is None and not panel.use_constant.isEnabled() and not panel.use_cycle.isEnabled()
    show_tab(window.tabs, "Range test")
    click(panel.cancel)
    qtbot.waitUntil(lambda: "range test cancelled" in window.log.toPlainText(), timeout=LONG)
    qtbot.waitUntil(lambda: window.live.state == "running", timeout=LONG)
    assert panel.start.isEnabled() and not panel.cancel.isEnabled()
    # A refused edit from a terminal is the terminal's: it was shown in red beside the editor's buttons, as if pressed here.
    assert cli_done(capsys, "ctl", owner.access.address, "--token", owner.access.token, "undo").returncode == 1
    qtbot.waitUntil(lambda: "edit from lrscope ctl (127.0.0.1) refused at step" in window.log.toPlainText(), timeout=LONG)
    assert window.editor.problem.text() == "" and window.editor.run_edits.problem.text() == ""
    # Asked for elsewhere while attached: the tab says so from the run's state on (it offered Start, and no Cancel, until
    # the test's start came, after its first measurements).
    said = []
    monkeypatch.setattr(panel.status, "setText", lambda text, show=panel.status.setText: (said.append(text), show(text)))
    owner.send(StartRangeTest(RangeTestSettings(mode="probe", probe_count=40, probe_steps=200, curvature=False)))
    qtbot.waitUntil(lambda: panel.status.text().startswith("probe running"), timeout=LONG)
    assert said[0] == "starting in the run, asked from elsewhere…"
    click(panel.cancel)
    qtbot.waitUntil(lambda: window.live.state == "running", timeout=LONG)


def test_when_contact_with_an_attached_run_is_lost_the_window_stops_steering_it_and_says_so(qtbot, window, served):
    """Its process killed, the window logged the lost contact and went on showing "training · … left", with Apply and
    Set LR enabled and sending to nobody."""
    owner, _ = served
    type_into(window.editor.peak, "0.0314")  # the window's own plan, before it attaches
    click(window.editor.use_button)
    type_into(window.config_panel.editors["epochs"], "2")  # the next run is longer than the plan as drafted (22 steps)
    attach_from_the_runs_tab(qtbot, window)
    assert window.editor.set_now.isEnabled()
    panel = window.range_panel  # a range test in the run when contact is lost: its tab said "80% done" ever after
    show_tab(window.tabs, "Range test")
    type_into(panel.iterations, "100000")
    click(panel.start)
    qtbot.waitUntil(lambda: "% done" in panel.status.text(), timeout=LONG)
    owner.process.kill()
    qtbot.waitUntil(lambda: window.live.state not in ("running", "range_test"), timeout=LONG)
    for _ in range(2):  # the next redraws wrote "detached · epoch …" over it
        with qtbot.waitSignal(window.redraw_timer.timeout, timeout=LONG):
            pass
    assert window.live.state == "detached" and f"the run's process (pid {owner.process.pid}) ended" in window.status.text(), \
        window.status.text()
    assert window.progress.isHidden()  # its "5%" stayed beside "no longer following run" (helper-68)
    assert title_name(window.loss) == f"Loss · {window.live.run_id} (no longer followed since step {window.live.step})"
    # The plan from before attaching is back, as after Detach: the followed run's schedule stayed, squeezed into this run.
    assert window.editor.plan().schedule.segments[0].max_lr == 0.0314
    assert "the editor shows digits' own schedule again: Start trains it" in window.log.toPlainText()
    # The next run's length, as after Detach: "run: 110 steps; this schedule: steps 0–110, in force from 804" stayed.
    assert window.editor.length.text() == "run: 44 steps; this schedule: steps 0–44"
    # Its resume command ran past the window's edge, cut with nothing to say so: what is shown fits, "…" says there is
    # more, and the tooltip holds it all.
    window.resize(1024, window.height())  # a laptop's width: the line is longer than the bar
    qtbot.waitUntil(lambda: QLabel.text(window.status) != window.status.text(), timeout=LONG)
    shown = QLabel.text(window.status)
    assert window.status.fontMetrics().horizontalAdvance(shown) <= window.status.width() and shown.endswith("…"), shown
    assert window.status.toolTip() == window.status.text() and window.status.text().endswith("continues it from its last checkpoint")
    assert not window.editor.set_now.isEnabled() and not window.editor.apply.isEnabled()
    assert window.start_action.isEnabled() and "samples/s" not in window.status.text()
    assert panel.start.isEnabled() and not panel.cancel.isEnabled() and "no longer follows the run" in panel.status.text()
    click(panel.start)  # a test before a run now, cancelled: the status bar's line goes with it
    qtbot.waitUntil(lambda: window.controller.testing and "% done" in window.status.text(), timeout=LONG)
    click(panel.cancel)
    qtbot.waitUntil(lambda: "range test cancelled" in window.log.toPlainText(), timeout=LONG)
    assert "range test" not in window.status.text() and "next run" in window.status.text(), window.status.text()


def test_a_refused_token_is_said_in_a_box_with_where_the_right_one_is(qtbot, shared, window, dialogs):
    """A wrong token was said in the log and the status bar alone, as "no longer following run …", with no advice."""
    owner, _ = shared()
    dialogs.answer("attach_target", (owner.access.address, "wrong"))
    trigger(window.attach_action)
    qtbot.waitUntil(lambda: bool(dialogs.of("error")), timeout=LONG)
    shown = dialogs.of("error")[0]
    assert shown.title == "Cannot attach" and "refused this client: wrong token; give the token the run printed" in shown.text
    assert window.status.text().startswith("could not attach: ") and window.start_action.isEnabled()
    assert window.attach_target == (owner.access.address, "wrong")  # the dialog offers it again, to mend the token


def test_the_attach_dialog_keeps_what_was_given_and_refuses_an_empty_field(qtbot):
    from PySide6.QtWidgets import QDialogButtonBox

    from gui.attach_dialog import AttachDialog

    dialog = AttachDialog(None, ("127.0.0.1:5555", "t0k"))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.by_address.isChecked() and dialog.address.text() == "127.0.0.1:5555" and dialog.token.text() == "t0k"
    click(dialog.by_folder)
    assert dialog.by_folder.isChecked()
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    click(ok)  # no folder given: it said nothing and closed
    assert dialog.isVisible() and "Give the folder of a run started with --serve" in dialog.problem.text()
    type_into(dialog.folder, "/somewhere/run")
    click(ok)
    assert not dialog.isVisible() and dialog.target() == "/somewhere/run"


def test_a_run_that_is_not_served_is_not_offered_to_attach_and_file_attach_points_to_open_read_only(qtbot, window, dialogs):
    """Attach was enabled for any run, to say only that it was not served; the window had said "`lrscope show RUN` prints
    it" with Open read-only beside the Attach button."""
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    panel = window.runs_panel
    show_tab(window.tabs, "Runs")
    click(panel.buttons["Refresh"])
    select_rows(panel.table, [0])
    assert panel.buttons["Open read-only"].isEnabled() and not panel.buttons["Attach"].isEnabled()
    assert "Enabled when one run whose state says “served” is selected" in panel.buttons["Attach"].toolTip()
    dialogs.answer("attach_target", os.path.basename(window.last_run.run_dir))  # File → Attach, the run's id typed
    trigger(window.attach_action)
    qtbot.waitUntil(lambda: bool(dialogs.of("error")), timeout=LONG)
    shown = dialogs.of("error")[-1]
    assert shown.title == "Cannot attach" and shown.text.endswith("finished and is not being served: Open read-only shows it")


def test_a_warning_from_before_the_window_attached_is_logged_not_offered_as_current(qtbot, window):
    """Attached 1200 steps after a warning, the bar offered it as current ("measured now"), its "Scale ×0.36" without a
    button. A warning the run gives while followed still gets the bar."""
    from engine.events import StabilityWarning

    # 8 px: its λmax measurements cost a third of 16 px's, and LR 1 is above the bound there too (λmax about 11: 0.33).
    argv = ["train", "--data", str(SAMPLE), "--image-size", "8", "--epochs", "100", "--shape", "constant", "--lr", "1",
            "--curvature-every", "10"]
    with served_child(argv, LONG / 1000) as (owner, events):
        events.wait_for(lambda ev: bool(ev.of(StabilityWarning)), LONG / 1000)  # the LR 1 is above the bound
        owner.request(Pause(), LONG / 1000)
        attach_from_the_runs_tab(qtbot, window, "paused")
        qtbot.waitUntil(lambda: "earlier, at step 0: " in window.log.toPlainText(), timeout=LONG)
        assert not window.banner.isVisible()
        attached_at = window.live.step
        trigger(window.pause_action)  # resume: its next measurement warns again, now
        qtbot.waitUntil(window.banner.isVisible, timeout=LONG)
        assert window.banner.step >= attached_at
        trigger(window.detach_action)


def test_a_run_paused_on_a_fault_offers_its_rollback_to_a_window_that_attaches_and_to_ctl(qtbot, window, dialogs, capsys):
    """Attached to a run that `--on-fault pause` had paused, the window showed a plain pause: no box, Resume at the LR
    that blew the loss up, and no rollback; `ctl` had no rollback either."""
    from engine.cli import run_cli
    from engine.events import FaultRaised

    argv = ["train", "--data", str(SAMPLE), "--image-size", "16", "--epochs", "100", "--shape", "constant", "--lr", "100",
            "--on-fault", "pause"]
    with served_child(argv, LONG / 1000) as (owner, events):
        events.wait_for(lambda ev: bool(ev.of(FaultRaised)), LONG / 1000)
        attach_from_the_runs_tab(qtbot, window, "paused")
        assert any("or with `lrscope ctl RUN rollback | resume | stop`" in line for line in owner.output), owner.output
        qtbot.waitUntil(lambda: len(dialogs.of("offer")) == 1, timeout=LONG)
        assert dialogs.of("offer")[0].text == events.of(FaultRaised)[0].message
        dialogs.choose("Roll back")
        qtbot.waitUntil(lambda: "rolled back to step 0" in window.log.toPlainText(), timeout=LONG)
        events.wait_for(lambda ev: len(ev.of(FaultRaised)) == 2, LONG / 1000)  # at LR 10 it blows up again
        capsys.readouterr()
        code = run_cli(["ctl", "--token", owner.access.token, owner.access.address, "rollback"])
        out = capsys.readouterr().out
        assert code == 0 and re.match(r"applied at step \d+: rolled back to step \d+, LR ×0\.0?1$", out), out
        qtbot.waitUntil(lambda: window.log.toPlainText().count("rolled back to step") >= 2, timeout=LONG)
        trigger(window.detach_action)


def test_a_schedule_imported_while_attached_is_checked_against_the_runs_settings(qtbot, shared, launch, dialogs, tmp_path):
    """The window at 32 px, attached to a 16 px run: importing the run's own schedule asked whether to use a schedule
    "tuned at another image size", comparing the file with the window's settings, not those of the run it goes to; and
    the exported file carried the window's own range test."""
    window = launch({"image_size": 32, "epochs": 1})
    range_test_before_a_run(qtbot, window)  # of this window's 32 px settings: the file carried it as the run's own
    shared()
    attach_from_the_runs_tab(qtbot, window)
    path = tmp_path / "run.lrschedule.json"
    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    assert dialogs.of("save_path")[-1].title == "Export the running schedule" and path.exists()
    assert load_schedule(path).range_test is None
    dialogs.answer("open_file", str(path))
    trigger(window.import_action)
    qtbot.waitUntil(lambda: f"imported {path}" in window.log.toPlainText(), timeout=LONG)
    assert not dialogs.of("yes_no") and "imported schedule: " not in window.log.toPlainText()
    trigger(window.detach_action)  # and once let go: Export still writes the run followed, and so still without it
    qtbot.waitUntil(lambda: window.live.state == "detached", timeout=LONG)
    detached = tmp_path / "detached.lrschedule.json"
    dialogs.answer("save_path", str(detached))
    trigger(window.export_action)
    assert dialogs.of("save_path")[-1].title.startswith("Export the last run's schedule") and load_schedule(detached).range_test is None


def test_the_attach_dialog_takes_a_runs_id_as_ctl_and_watch_do(qtbot, shared, window, dialogs):
    """The id that `--serve` printed was "unknown and not being served: Resume continues it in this window"."""
    owner, _ = shared()
    qtbot.waitUntil(lambda: bool(owner.run_id), timeout=LONG)
    dialogs.answer("attach_target", owner.run_id)
    trigger(window.attach_action)
    qtbot.waitUntil(lambda: window.controller.attached and window.live.step > 0, timeout=LONG)
    assert not dialogs.of("error")
    dialogs.answer("attach_target", "no-such-run")
    trigger(window.detach_action)
    qtbot.waitUntil(window.attach_action.isEnabled, timeout=LONG)
    trigger(window.attach_action)
    [shown] = dialogs.of("error")
    assert shown.title == "Cannot attach" and shown.text.startswith("no run named 'no-such-run'"), shown.text
