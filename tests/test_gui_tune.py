"""The Tune tab and an honest range test, driven through the window's controls (``window`` and ``dialogs``: gui_fixtures)."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from gui_fixtures import LONG, TINY, laid_out, position, title_key

from engine.schedules import load_schedule
from engine.schedules.presets import peak_lr
from gui.panels.config_panel import IDLE_NOTE

pytest.importorskip("pytestqt")


def test_tune_plots_its_trials_then_installs_and_exports_the_winner(qtbot, launch, dialogs, tmp_path, monkeypatch):
    from gui.driving import click, press, show_tab, type_into, wheel

    window = launch(TINY)
    panel = window.tune_panel
    # Every line the status bar was given, in order: a trial's "epochs done" line lasts until the next trial starts,
    # which on a loaded machine may come in the same batch of events, before a poll of the label could see it.
    lines, tab_lines = [], []
    for label, said in ((window.status, lines), (panel.status, tab_lines)):
        monkeypatch.setattr(label, "setText", lambda text, show=label.setText, said=said: (said.append(text), show(text)))
    show_tab(window.tabs, "Tune")
    assert panel.progress.isHidden()  # before any tune: no empty box between the budget and the table
    lrs, accuracies = window.tune_plot.plot.viewRange()  # before any trial: axes a tune could fill, not 1 … 10 and 0 … 1
    assert np.allclose(lrs, (-4, 1)) and np.allclose(accuracies, (0, 100))
    plan = panel.plan_label
    type_into(panel.budget, "3")  # room for your schedule alone (22-step runs after a 30-step range test): said before Start
    assert "<b>Note:</b> at 3 full runs the range test (30 steps) leaves room for one full run of 22 steps, your schedule's" in plan.text()
    type_into(panel.budget, "4")  # two full trials fit: yours and about one other
    assert "at 4 full runs the search has room for your schedule and about one other trial" in plan.text()
    type_into(panel.budget, "5")
    assert "Note:" not in plan.text()
    assert not panel.use.isEnabled() and not panel.cancel.isEnabled()
    # What it will spend is said before Start is pressed (no run has been timed yet: no minutes).
    steps = window.run_length()
    assert f"about <b>5.0 full runs</b> of {steps} steps ({5 * steps} training steps)." in plan.text()
    laid_out()
    cancel_at = position(panel.cancel, window)
    click(panel.start)
    # Said at once: the tab showed the plan, unchanged, for the seconds it takes to build the model and time a step.
    assert panel.status.text().startswith("Starting: building the model") and window.status.text().startswith("tuning · starting")
    assert plan.isHidden()  # the tune in progress says what it spends
    laid_out()
    assert position(panel.cancel, window) == cancel_at  # the plan's lines kept: Cancel jumped up as Start was pressed
    qtbot.waitUntil(lambda: window.status.text().startswith("tuning · "), timeout=LONG)  # the tune's line, not the last run's
    # Its range test says how far it is (the line and the tab stood still for its first minute or two).
    qtbot.waitUntil(lambda: any(re.match(r"tuning · a range test sets the interval: \d+% done", line) for line in lines), timeout=LONG)
    assert any("A range test sets the interval: <b>" in line and "% done" in line for line in tab_lines)
    assert window.tabs.currentWidget() is window.tune_tab and panel.cancel.isEnabled()
    assert not window.start_action.isEnabled() and not window.open_action.isEnabled()  # one training at a time
    # Within a trial too: the line said only "trial 0 trains at peak LR 0.05" until the next trial.
    qtbot.waitUntil(lambda: any(re.match(r"tuning · trial \d+: \d+ epochs? done, val accuracy \d", line) for line in lines), timeout=LONG)
    assert not window.progress.isHidden()  # the status bar's bar follows the tune
    assert "or a tune" not in window.log.toPlainText()  # the range test's advice to run one, logged in the middle of one
    qtbot.waitUntil(lambda: window.last_tune is not None and panel.use.isEnabled(), timeout=LONG)
    assert window.config_panel.followed.text() == IDLE_NOTE  # no trial's settings are said to be a run's going on
    record = window.last_tune.record
    assert record["budget"]["runs"] == pytest.approx(5.0) and record["budget"]["spent_steps"] <= record["budget"]["steps"]
    assert panel.table.rowCount() == len(record["trials"]) >= 2 and len(window.tune_plot.trials) == len(record["trials"])
    # The accuracy a trial must clear is drawn (trials at 10-12% on shuffled labels had nothing beside them: helper-67).
    chance = window.tune_plot.chance
    assert chance.scene() is not None and chance.value() == pytest.approx(100 * record["chance"]["accuracy"])
    status = panel.status.text()  # the winner, or the schedule as given when no trial beat it by half a point
    assert ("best of" in status or "your schedule stays" in status) and window.start_action.isEnabled()
    # The next tune's cost follows its settings beside the result (the result hid it, unchanged: helper-67).
    assert plan.isVisible()
    type_into(panel.budget, "6")
    assert f"about <b>6.0 full runs</b> of {steps} steps" in plan.text() and panel.status.text() == status
    assert panel.progress.text().startswith("done: ") and window.status.text() == "tune finished: its result is in the Tune tab"
    # Timed by the tune itself, and only for a step like its own: a plan timed at another batch or image size said
    # "about 5 min" of a tune that took 17 s (helper-74).
    assert re.search(r"training steps, (under a minute|about \d+ (s|min)) at the last tune's speed\)", plan.text()), plan.text()
    # At the speed it trained at, not the estimate it made from a few steps at its start ("about 6 min" of an 18 s tune).
    assert panel.run_plan[1] == pytest.approx(record["seconds"] / record["budget"]["spent_steps"])
    batch = window.config_panel.editors["batch_size"]
    was = batch.text()
    type_into(batch, str(2 * int(was)))
    assert "speed" not in plan.text(), plan.text()
    type_into(batch, was)
    assert "at the last tune's speed" in plan.text()
    # The status bar's bar followed the tune (it said the last run's 100% throughout), then is put away: "84%" stayed
    # beside "tune finished"; the tab's own bar says what was spent.
    assert window.progress.isHidden() and panel.progress.value() > 0 and not panel.progress.isHidden()
    # However far the user zooms out, accuracy stays within 0 … 100 %: one trial at 94.7% was framed from 45 to 145.
    wheel(window.tune_plot.widget, window.tune_plot.widget.rect().center(), -10)
    assert -2 <= window.tune_plot.plot.viewRange()[1][0] and window.tune_plot.plot.viewRange()[1][1] <= 102
    winner = record["winner"]["params"]["lr"]
    # The Runs tab says which runs are the tune's trials (they looked like runs of the user's own).
    show_tab(window.tabs, "Runs")
    tune = window.runs_panel.table.topLevelItem(0)  # its trials under one row
    notes = {tune.child(row).text(0): tune.child(row).text(tune.columnCount() - 1) for row in range(tune.childCount())}
    for trial in record["trials"]:
        note = notes[Path(trial["run_dir"]).name]
        assert note.startswith(f"tune trial {trial['number']}, peak LR ") and f"(tune {Path(record['folder']).name})" in note
        assert ("; stopped early by its tune after epoch " in note) == (trial["state"] == "pruned")  # it read as the user's stop
    # In the Tune tab, a trial stopped early says on hover what it fell behind (its accuracy is mid-run: helper-74).
    assert [panel.table.item(row, 3).toolTip() for row in range(panel.table.rowCount())] == [t["why"] for t in record["trials"]]
    # At 1366 px the note column lies past the table's right edge: the run's name, in sight, says it on hover.
    assert {tune.child(row).toolTip(0) for row in range(tune.childCount())} == set(notes.values())
    show_tab(window.tabs, "Tune")

    click(panel.use)
    assert peak_lr(window.editor.plan().schedule) == pytest.approx(winner, rel=1e-6)
    # Ctrl+E now writes the editor's schedule with the search that chose it, not the tune's own range test as its source.
    assert window.last_range_test is None
    dialogs.answer("save_path", str(tmp_path / "editor.lrschedule.json"))
    press(window, "Ctrl+E")
    exported = load_schedule(tmp_path / "editor.lrschedule.json")
    assert exported.search["winner"] == record["winner"] and exported.range_test is None

    target = tmp_path / "won.lrschedule.json"
    dialogs.answer("save_path", str(target))
    click(panel.export)
    loaded = load_schedule(target)
    assert loaded.search["winner"] == record["winner"] and loaded.timeline.peak_lr() == pytest.approx(winner, rel=1e-6)
    assert not loaded.warnings and not dialogs.of("error")


def test_a_tune_cancelled_before_any_trial_ended_says_there_is_no_result_and_can_go_on(qtbot, window):
    from gui.driving import click, show_tab, trigger
    from gui.tune_actions import TUNE_RANGE_TEST

    panel = window.tune_panel
    trigger(window.start_action)  # a run first: its "finished · epoch 5/5" was written over the tune's line at every redraw
    qtbot.waitUntil(lambda: window.last_run is not None and window.live.state == "finished", timeout=LONG)
    show_tab(window.tabs, "Tune")
    assert "at the last run's speed)" in panel.plan_label.text()  # a step like the tune's was timed
    click(panel.start)
    qtbot.waitUntil(lambda: window.status.text() == TUNE_RANGE_TEST, timeout=LONG)
    click(panel.cancel)  # in its range test: no interval is chosen, and none is shaded as searched (helper-74)
    qtbot.waitUntil(lambda: window.last_tune is not None, timeout=LONG)
    assert window.tune_plot.region not in window.tune_plot.plot.items
    assert "the tune was cancelled in its range test, before it chose an interval to search" in window.log.toPlainText()
    # It said "its result is in the Tune tab", where there was none to use.
    assert window.status.text() == "tune cancelled: no trial finished, so there is no winner"
    for _ in range(2):
        with qtbot.waitSignal(window.redraw_timer.timeout, timeout=LONG):
            pass
    assert window.status.text() == "tune cancelled: no trial finished, so there is no winner"
    assert not panel.use.isEnabled() and not panel.export.isEnabled()
    # Go on takes the search up again, on its own record: a search cancelled by mistake was lost (helper-74).
    cancelled = window.last_tune.record
    assert cancelled["state"] == "cancelled" and panel.go_on.isEnabled()
    click(panel.go_on)
    assert not panel.go_on.isEnabled() and panel.cancel.isEnabled()
    qtbot.waitUntil(lambda: window.last_tune is not None, timeout=LONG)
    record = window.last_tune.record
    assert record["folder"] == cancelled["folder"] and record["state"] == "finished" and record["winner"] is not None
    assert record["budget"]["steps"] == cancelled["budget"]["steps"] >= record["budget"]["spent_steps"] > cancelled["budget"]["spent_steps"]
    assert panel.table.rowCount() == len(record["trials"]) >= 2 and panel.use.isEnabled() and not panel.go_on.isEnabled()
    assert f"tune going on: {cancelled['budget']['spent_steps']} of its {cancelled['budget']['steps']} training steps were spent" in window.log.toPlainText()


def test_closing_the_window_during_a_tune_asks_first(qtbot, window, dialogs):
    """The window closed at once and threw the tune away, 17 epochs into its first trial."""
    from gui.driving import click, press, show_tab

    show_tab(window.tabs, "Tune")
    click(window.tune_panel.start)
    qtbot.waitUntil(lambda: window.status.text().startswith("tuning · "), timeout=LONG)
    dialogs.answer("yes_no", False)
    press(window, "Ctrl+Q")
    assert window.isVisible() and window.controller.tuning
    dialogs.answer("yes_no", True)
    press(window, "Ctrl+Q")
    assert [shown.title for shown in dialogs.of("yes_no")] == ["Stop the tune?", "Stop the tune?"]
    assert not window.isVisible() and not window.controller.tuning


def test_a_budget_with_no_room_for_a_trial_is_refused_in_the_tab_before_anything_runs(qtbot, window):
    from gui.driving import click, show_tab, type_into

    panel = window.tune_panel
    show_tab(window.tabs, "Tune")
    type_into(panel.budget, "1.5")  # the run is 22 steps: the range test's 30 leave none for a trial
    click(panel.start)
    qtbot.waitUntil(lambda: "give at least" in panel.status.text(), timeout=LONG)
    assert "no room for a trial of 22 training steps" in panel.status.text() and window.last_tune is None
    # The refusal is said as the task fails, and the task's end enables the buttons a moment later (1 run in a loaded suite
    # of 946 read them between the two).
    qtbot.waitUntil(lambda: panel.start.isEnabled() and window.start_action.isEnabled(), timeout=LONG)
    assert not panel.cancel.isEnabled()


def test_a_range_test_that_cannot_recommend_says_so_in_the_window(qtbot, launch):
    from gui.driving import click, show_tab, type_into

    window = launch(TINY)
    panel = window.range_panel
    show_tab(window.tabs, "Range test")
    type_into(panel.start_lr, "3")
    type_into(panel.end_lr, "50")
    type_into(panel.iterations, "12")
    type_into(panel.repeats, "1")
    click(panel.start)
    qtbot.waitUntil(lambda: window.last_range_test is not None, timeout=LONG)
    assert panel.recommendation is None and "No recommendation" in panel.status.text()
    assert not panel.use_constant.isEnabled() and not panel.use_cycle.isEnabled()
    # Rows listed beside greyed buttons read as a result the window would not let be used: it says they are no advice.
    assert panel.table.rowCount() > 0 and "none is advice, so there is nothing to use" in panel.status.text()


def test_a_probe_names_the_loss_it_plots(qtbot, launch):
    """A probe's points are held-out losses after each candidate's steps: plotted as "loss", 0.25 beside a training loss
    of 0.024 was read as a fault."""
    from gui.driving import click, show_tab, type_into

    window = launch(TINY)
    panel, axis = window.range_panel, window.range_plot.plot.getAxis("left")
    show_tab(window.tabs, "Range test")
    click(panel.probe)
    type_into(panel.count, "3")
    type_into(panel.steps, "2")
    type_into(panel.repeats, "1")
    click(panel.start)
    qtbot.waitUntil(lambda: window.last_range_test is not None and not window.controller.testing, timeout=LONG)
    assert axis.labelText == "held-out loss after each candidate's steps"
    # What it cost, in steps and in runs: a probe "about 3 min" (auto: 10% of the run per candidate) trained 3.4 runs.
    assert f"range test (probe) started at step 0: 6 training steps, {6 / window.run_length():.2g}× the run, about " in window.log.toPlainText()
    click(panel.sweep)
    type_into(panel.iterations, "10")
    qtbot.waitUntil(lambda: window.start_action.isEnabled(), timeout=LONG)
    click(panel.start)
    assert axis.labelText == "loss"  # at once: the probe's title stayed over the new sweep until its first points
    qtbot.waitUntil(lambda: not window.controller.testing and window.last_range_test["mode"] == "sweep", timeout=LONG)
    assert axis.labelText == "loss"


def test_a_trial_cancelled_before_its_first_evaluation_gets_no_marker_at_zero(qtbot):
    import numpy as np

    from gui.plots.tune_plot import TunePlot

    plot = TunePlot()
    qtbot.addWidget(plot)
    plot.add_trial(0, 0.2, 0.9638, "complete")
    plot.add_trial(1, 0.42, float("nan"), "cancelled")  # stopped mid-epoch: the run has no accuracy
    plotted = np.concatenate([scatter.getData()[1] for scatter in plot.scatters.values() if scatter.getData()[1] is not None])
    assert plotted.tolist() == [96.38]
    assert plot.describe_at(0.42) == "trial 1: peak LR 0.42, no accuracy (cancelled)"


def test_a_tune_of_a_runs_edited_schedule_says_which_peak_it_calls_yours(qtbot, launch):
    """After a run with an edit the editor shows its last piece (peak LR 0.02) while the tune scaled the whole plan and
    called 0.2 "yours", with nothing to say why (helper-90)."""
    from gui_fixtures import SMALL, paused_with_lr_set

    from gui.driving import click, show_tab, trigger

    window = launch({**SMALL, "epochs": 40})
    paused_with_lr_set(qtbot, window, "0.02", 3)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    show_tab(window.tabs, "Tune")
    click(window.tune_panel.start)
    # The LR set at step 3, not the one-cycle's 0.2: its first steps, all it trained, were far below 0.02 (helper-91).
    assert ("the schedule tuned is the editor's whole plan, 2 pieces (a run's edits) scaled together: its peak LR, 0.02, is "
            "the one the tune calls yours") in window.log.toPlainText()
    click(window.tune_panel.cancel)
    qtbot.waitUntil(lambda: window.last_tune is not None, timeout=LONG)


def test_go_on_with_no_budget_left_asks_for_a_larger_one_and_takes_it_from_the_box(qtbot, launch):
    """A tune cancelled in a trial that left no room for another had nothing Go on could do (helper-90). It says what
    budget has room, and Go on takes the larger budget typed in the tab; the trial cut short runs again."""
    from gui_fixtures import SMALL

    from gui.driving import click, show_tab, type_into

    window = launch({**SMALL, "epochs": 4})  # 88-step runs, compared from epoch 2 on: none is stopped early at 1
    panel = window.tune_panel
    show_tab(window.tabs, "Tune")
    type_into(panel.budget, "2.5")  # 220 steps: the sweep's 44, trial 0's 88 and trial 1's 88, not a step more
    click(panel.start)
    qtbot.waitUntil(lambda: window.status.text().startswith("tuning · trial 1: 1 epoch done"), timeout=LONG)
    click(panel.cancel)  # 22 steps or more into trial 1: what is left holds no trial of 88
    qtbot.waitUntil(lambda: window.last_tune is not None, timeout=LONG)
    assert window.last_tune.record["state"] == "cancelled"
    click(panel.go_on)
    needed = re.search(r"set the budget to (\d+) full runs or more, then Go on\.", panel.status.text())
    assert "Its budget is spent (" in panel.status.text() and needed, panel.status.text()
    assert panel.go_on.isEnabled() and not panel.cancel.isEnabled()
    type_into(panel.budget, needed.group(1))
    click(panel.go_on)
    qtbot.waitUntil(lambda: window.last_tune is not None, timeout=LONG)
    record = window.last_tune.record
    assert record["state"] == "finished" and record["budget"]["steps"] == int(needed.group(1)) * record["budget"]["run_steps"]
    assert [t["number"] for t in record["trials"]] == [0, 2] and record["trials"][1]["params"] == record["run_again"][0]["params"]


def test_your_schedule_cancelled_mid_trial_and_run_again_by_go_on_is_no_row_no_marker_and_not_yours(qtbot, launch, capsys):
    """Start tune, Cancel in trial 0 (your schedule), Go on: the cancelled trial 0 (one epoch, 18%) stayed a row and a
    marker beside its rerun, until the tune ended, and the closing line called its 18% "your schedule", which any other
    trial beat. The Runs tab counted it as a trial, and gave the best trial's accuracy, not the winner's score."""
    from gui_fixtures import SMALL
    from helpers import cli

    from gui.driving import click, show_tab, type_into

    window = launch({**SMALL, "epochs": 3})  # 66-step runs: Cancel lands after trial 0's first epoch, before its end
    panel = window.tune_panel
    show_tab(window.tabs, "Tune")
    type_into(panel.budget, "4")
    click(panel.start)
    qtbot.waitUntil(lambda: window.status.text().startswith("tuning · trial 0: 1 epoch done"), timeout=LONG)
    click(panel.cancel)
    qtbot.waitUntil(lambda: window.last_tune is not None, timeout=LONG)
    assert [t["state"] for t in window.last_tune.record["trials"]] == ["cancelled"]
    click(panel.go_on)

    def rows():
        return [[panel.table.item(row, column).text() for column in (0, 3)] for row in range(panel.table.rowCount())]

    def no_cancelled_marker():
        cancelled = window.tune_plot.scatters["cancelled"].getData()[0]
        return cancelled is None or len(cancelled) == 0

    assert rows() == [] and no_cancelled_marker()  # from the start of Go on: trial 0 runs again, as trial 1
    qtbot.waitUntil(lambda: panel.table.rowCount() > 0, timeout=LONG)
    assert rows()[0] == ["1", "complete"] and no_cancelled_marker(), rows()
    qtbot.waitUntil(lambda: window.last_tune is not None, timeout=LONG)
    record = window.last_tune.record
    assert rows()[0] == ["1", "complete"] and "cancelled" not in {state for _, state in rows()}, rows()
    assert [int(number) for number, _ in rows()] == [t["number"] for t in record["trials"]] == [t[0] for t in window.tune_plot.trials]
    assert no_cancelled_marker()
    assert f"{100 * record['baseline']['val_accuracy']:.2f}%" in panel.status.text() and record["baseline"]["number"] == 1
    # The Runs tab's row says what `lrscope runs` and the tune's closing line say: its trials, the winner's score.
    tune = Path(record["folder"]).name
    show_tab(window.tabs, "Runs")
    row = next(window.runs_panel.table.topLevelItem(i) for i in range(window.runs_panel.table.topLevelItemCount())
               if window.runs_panel.table.topLevelItem(i).text(0) == f"tune {tune}")
    assert (row.text(3), row.text(5)) == (f"{len(record['trials'])} trials", f"{100 * record['winner']['smoothed_accuracy']:.2f}%")
    line = next(line for line in cli(capsys, "runs")[1].splitlines() if line.startswith(f"tune {tune}: "))
    said = line.removeprefix(f"tune {tune}: ").split("; `lrscope runs")[0]
    assert said.startswith(f"{len(record['trials'])} trial runs (and 1 run of a trial it ran again), ") and row.toolTip(0).startswith(said)
    closing = said.split("ran again), ", 1)[1]
    assert closing in window.log.toPlainText(), (closing, window.log.toPlainText()[-600:])


def test_the_runs_tab_lists_a_tune_as_one_row_whose_trials_open_compare_and_go_with_it(qtbot, window, dialogs, capsys):
    """A tune's trials were listed as runs of their own beside the user's, tens of them after a tune of minutes."""
    from helpers import SAMPLE, cli
    from PySide6.QtGui import QKeySequence

    from engine.store.paths import tunes_root
    from gui.driving import click, double_click_item, press, select_rows, show_tab

    quick = ["--data", SAMPLE, "--image-size", "8", "--epochs", "1"]
    assert cli(capsys, "train", *quick)[0] == 0  # a run of the user's own
    code, out, err = cli(capsys, "tune", *quick, "--budget", "4", "--json")
    assert code == 0, err
    record = json.loads(out)
    tune, trials = Path(record["folder"]).name, {Path(t["run_dir"]).name for t in record["trials"]}
    best = record["winner"]["smoothed_accuracy"]  # the score the tune chose its winner by, not the luckiest trial's own
    show_tab(window.tabs, "Runs")
    panel = window.runs_panel
    tree = panel.table
    # Listed as the tab is shown: the user's run and the tune, not the user's run among the tune's trials.
    assert tree.model().rowCount() == 2, [tree.model().index(row, 0).data() for row in range(tree.model().rowCount())]
    row = next(tree.topLevelItem(i) for i in range(2) if tree.topLevelItem(i).text(0).startswith("tune "))
    assert row.text(0) == f"tune {tune}"
    assert (row.text(3), row.text(5)) == (f"{len(trials)} trials", f"{100 * best:.2f}%")
    double_click_item(tree, row)  # opens it: its trials under it
    assert row.isExpanded() and {row.child(i).text(0) for i in range(row.childCount())} == trials
    first, second = row.child(0), row.child(1)
    select_rows(tree, [first])
    click(panel.buttons["Open read-only"])
    assert first.text(0) in title_key(window.loss) and "(read-only)" in title_key(window.loss)
    show_tab(window.tabs, "Runs")
    select_rows(tree, [first, second])
    click(panel.buttons["Compare"])
    assert len(window.compare.loss.series) == 2
    row = next(tree.topLevelItem(i) for i in range(2) if tree.topLevelItem(i).text(0).startswith("tune "))
    select_rows(tree, [row])
    dialogs.answer("yes_no", True)
    press(window, QKeySequence.StandardKey.Delete)
    asked = dialogs.of("yes_no")[-1]
    assert asked.text.startswith(f"Delete tune {tune} ({len(trials)} trial runs and its search record) and all they hold")
    assert tree.topLevelItemCount() == 1 and not tree.topLevelItem(0).text(0).startswith("tune ")
    assert not (tunes_root() / tune).exists() and f"deleted tune {tune}" in window.log.toPlainText()
    assert not any((Path(t["run_dir"])).exists() for t in record["trials"])


def test_after_a_tune_at_1024_by_600_the_tabs_words_and_buttons_do_not_overlap(qtbot, launch):
    """The budget's note ran under Start tune and Go on, "several LRs." was printed over the result's first line, and the
    result's last line lay behind the progress bar (helper-126): the panel's lines wanted more height than the tab had."""
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QWidget

    from gui.driving import click, show_tab, type_into

    window = launch(TINY)
    window.resize(1024, 600)
    panel = window.tune_panel
    show_tab(window.tabs, "Tune")
    type_into(panel.budget, "3")
    click(panel.start)
    qtbot.waitUntil(lambda: window.controller.tuning, timeout=LONG)
    qtbot.waitUntil(lambda: not window.controller.tuning, timeout=LONG)
    laid_out()
    shown = [child for child in panel.findChildren(QWidget) if child.parent() is panel and child.isVisible()]
    boxes = [QRect(child.mapTo(panel, child.rect().topLeft()), child.size()) for child in shown]
    overlaps = [(a.objectName() or type(a).__name__, b.objectName() or type(b).__name__)
                for i, (a, box) in enumerate(zip(shown, boxes)) for b, other in zip(shown[i + 1:], boxes[i + 1:])
                if box.intersects(other)]
    assert overlaps == [] and len(shown) > 5, overlaps
