"""The window's Tune tab: start a search of the editor's schedule, follow its trials, install or export the winner."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Slot

from engine.data.split import training_batches_per_epoch
from engine.errors import LrscopeError
from engine.events import TuneFinished, TuneIntervalChosen, TuneStarted, TuneTrialFinished, TuneTrialReported, TuneTrialStarted
from engine.export import winner_metrics
from engine.schedules.edits import RunSchedule
from engine.text import counted, percent
from engine.tune.budget import OVERHEAD as TUNE_OVERHEAD
from engine.tune.budget import larger_budget
from engine.tune.record import TrialRecord

from . import dialogs, schedule_io

TUNE_RANGE_TEST = "tuning · a range test sets the interval"  # the status line while a tune's range test runs


def tune_status(event) -> str | None:
    """The status bar's line for a tune's event (None: the line stays as it is)."""
    if isinstance(event, TuneStarted):
        return TUNE_RANGE_TEST
    if isinstance(event, TuneTrialStarted):
        return f"tuning · trial {event.number} trains at peak LR {event.params['lr']:.3g}"
    if isinstance(event, TuneTrialReported):  # a trial's epochs take a while: the line moved only between trials
        return f"tuning · trial {event.number}: {counted(event.epochs, 'epoch')} done, val accuracy {percent(event.val_accuracy)}"
    if isinstance(event, TuneFinished):
        ended = f"tune {'cancelled' if event.cancelled else 'finished'}"
        return f"{ended}: its result is in the Tune tab" if event.record.get("winner") else f"{ended}: {event.message}"
    return None


# What sets the time of a step, besides the data: a plan timed at another of these said "5 min" of a 17 s tune (helper-74).
SPEED_FIELDS = ("model", "pretrained", "image_size", "batch_size", "device", "amp", "optimizer")


def speed_key(config: dict, fingerprint) -> tuple:
    """The settings whose speed one timing tells, and the dataset it was timed on."""
    return (fingerprint, *(config.get(name) for name in SPEED_FIELDS))


class TuneActions:
    """Mixed into MainWindow: uses its controller, tune plot and panel, editor, configuration and log."""

    def connect_tune(self) -> None:
        """Wire the panel and the bridge to the actions below."""
        self.tune_panel.startRequested.connect(self.start_tune)
        self.tune_panel.cancelRequested.connect(self.controller.cancel_tune)
        self.tune_panel.goOnRequested.connect(self.go_on_with_tune)
        self.tune_panel.useRequested.connect(self.use_tune_winner)
        self.tune_panel.exportRequested.connect(self.export_tune_winner)
        self.bridge.tuneEvent.connect(self.tune_event)

    @Slot(object)
    def start_tune(self, settings) -> None:
        """Search the peak LR of the editor's schedule (stretched to the configured run) on the open dataset."""
        if self.dataset is None or self.controller.busy:
            self.log.add("a tune needs an open dataset and no run, tune or range test in progress", "warning")
            return
        chosen = self._config_or_warn("Cannot start the tune")
        if chosen is None:
            return
        config, plan = chosen
        self.last_tune = None
        if (plot := self.tune_slot.existing()) is not None:
            plot.clear()
        self.tabs.setCurrentWidget(self.tune_tab)
        timeline = self._timeline(plan, config.momentum).stretched(self.run_length())
        if len(timeline.pieces) > 1:  # the editor shows its last piece: "yours" at 0.2 beside a peak LR field of 0.02 (helper-90)
            self.log.add(f"the schedule tuned is the editor's whole plan, {len(timeline.pieces)} pieces (a run's edits) scaled "
                         f"together: its peak LR, {timeline.peak_lr():.3g}, is the one the tune calls yours", "warning")
        self.controller.tune(config, self.dataset, timeline, settings)
        self.tune_panel.starting()
        self.status.setText("tuning · starting: building the model and timing a step…")
        self._update_actions()

    @Slot()
    def go_on_with_tune(self) -> None:
        """Go on with the tune that was cancelled, on its own settings and the open dataset (the one it ran on)."""
        from engine.tune.resume import read_resumable, standing_going_on

        if self.dataset is None or self.controller.busy or self.tune_panel.record is None:
            self.log.add("going on with a tune needs its dataset open and no run, tune or range test in progress", "warning")
            return
        try:
            resumed = read_resumable(Path(self.tune_panel.record["folder"]))
        except LrscopeError as error:
            self.tune_panel.failed(str(error))
            self.log.add(f"the tune cannot go on: {error}", "warning")
            return
        # The budget box, where it gives more than the tune had: its budget spent by the trial the cancel cut short, Go on
        # had nothing left to spend (helper-90).
        settings, run_steps, budget_steps = resumed.settings, resumed.timeline.total_steps, resumed.budget_steps
        if self.tune_panel.budget.value() * run_steps > budget_steps:
            settings = replace(settings, budget_runs=self.tune_panel.budget.value(), budget_minutes=None)
            budget_steps = int(settings.budget_runs * run_steps)
        runs = larger_budget(resumed.spent, budget_steps, run_steps)
        if runs is not None:  # said in the tab, where the budget is set; Go on stays offered
            self.tune_panel.failed(f"Its budget is spent ({resumed.spent} of {budget_steps} training steps, the trial the "
                                   f"cancel cut short included): set the budget to {runs} full runs or more, then Go on.")
            return
        self.last_tune = None
        self.tabs.setCurrentWidget(self.tune_tab)
        self.controller.tune(resumed.config, self.dataset, resumed.timeline, settings, resume=resumed)
        # The trial the cancel cut short runs again: its row and marker, "cancelled" at its LR, stayed until the tune ended.
        trials = standing_going_on(resumed.trials)
        self.tune_panel.starting(trials)
        self.tune_plot.show_trials(trials)
        self.status.setText("tuning · going on: building the model and timing a step…")
        self._update_actions()

    @Slot(object)
    def tune_event(self, event) -> None:
        """Follow the search: its budget, interval, trials and result."""
        line = tune_status(event)
        if line is not None:  # the status bar spoke of the last run while a tune went on
            self.status.setText(line)
        if isinstance(event, TuneStarted):
            # Timed by the tune itself, for the next one's plan: the last run's speed said "15 min" of a tune it timed at 8.
            self.timed_speed = (speed_key(self.config_panel.values(), self.dataset.summary.fingerprint),
                                event.estimated_seconds / max(1, event.budget_steps), "the last tune's speed")
            self.tune_panel.started(event)
            self.tune_plot.show_baseline(event.baseline["lr"])
            self.log.add(f"tune going on: {event.spent_steps} of its {event.budget_steps} training steps were spent; record in {event.folder}"
                         if event.resumed else
                         f"tune started: about {event.budget_steps / event.run_steps:.1f} full runs; record in {event.folder}")
        elif isinstance(event, TuneIntervalChosen):
            self.tune_panel.interval(event)
            self.tune_plot.show_interval(event.low, event.high)
        elif isinstance(event, TuneTrialFinished):
            self.tune_panel.trial_finished(event)
            self.tune_plot.add_trial(event.number, event.params["lr"], event.val_accuracy, event.state)
        elif isinstance(event, TuneFinished):
            self._time_the_tune(event.record)
            self.tune_panel.finished(event)
            self.tune_plot.show_trials([TrialRecord.from_dict(trial) for trial in event.record["trials"]])
            if event.record.get("chance"):
                self.tune_plot.show_chance(event.record["chance"]["accuracy"])
            winner = event.record.get("winner")
            if winner is not None:
                self.tune_plot.show_winner(winner["params"]["lr"], winner["val_accuracy"])
            self.log.add(f"tune {'cancelled' if event.cancelled else 'finished'}: {event.message}")
        # The status bar's bar showed the last run's 100% all through a tune; it follows the tune's budget now, and is put
        # away when the tune ends (a search that spent 84% of its budget left "84%" beside "tune finished").
        if isinstance(event, TuneFinished):
            self.progress.reset()
            return
        bar = self.tune_panel.progress
        self.progress.setRange(bar.minimum(), bar.maximum())
        self.progress.setValue(bar.value())

    def _time_the_tune(self, record: dict) -> None:
        """The next tune's plan at the speed this one trained at: its estimate, timed on a few steps at its start, said
        "about 6 min" after a tune that took 18 s (helper-122)."""
        spent, seconds = record["budget"]["spent_steps"], record.get("seconds") or 0
        if self.timed_speed is not None and spent > 0 and seconds > 0:
            self.timed_speed = (self.timed_speed[0], seconds / spent, "the last tune's speed")
        self.show_tune_plan()

    def show_tune_plan(self) -> None:
        """What a tune of the configured run would cost, at the speed last timed here for the same kind of step."""
        if self.dataset is None:
            return
        key, seconds, timed_by = self.timed_speed or (None, None, "")
        same = key == speed_key(self.config_panel.values(), self.dataset.summary.fingerprint)
        self.tune_panel.plan(self.run_length(), seconds if same else None, timed_by)

    def time_the_last_run(self) -> None:
        """Keep the speed of the run that just ended, for the next tune's plan."""
        outcome = self.last_run.outcome if self.last_run is not None else None
        # The steps this process trained: a resumed run's time over all its steps made a tune look 2.4 times shorter.
        trained = outcome.step - outcome.start_step if outcome is not None else 0
        if trained > 0 and outcome.train_seconds:
            # A tune's trials pay for their starts and validations too (its own estimate says so).
            self.timed_speed = (speed_key(outcome.config, outcome.dataset.get("fingerprint")),
                                TUNE_OVERHEAD * outcome.train_seconds / trained, "the last run's speed")

    def tune_done(self, result) -> None:
        """The search returned: keep its winner for *Use* and *Export*."""
        self.last_tune = result
        self.tune_panel.set_running(False)
        self.show_tune_plan()  # at the speed it timed
        self.runs_panel.refresh()

    def forget_tune(self) -> None:
        """Another dataset is open: the last tune's trials and winner belong to the old one."""
        self.last_tune = None
        self.tune_plot.clear()
        self.tune_panel.forget()

    @Slot()
    def use_tune_winner(self) -> None:
        """Put the winning schedule in the editor (and the weight decay, if searched, in the configuration)."""
        if self.last_tune is None or self.last_tune.config is None:
            return
        if self.controller.training:
            self.log.add("a run is in progress: use the tune's winner after it ends", "warning")
            return
        params = self.last_tune.record["winner"]["params"]
        self.install_timeline(self.last_tune.timeline)
        self.editor_search = self.last_tune.record  # Export (Ctrl+E) then writes the search that chose it
        if "weight_decay" in params:
            self.config_panel.set_values({"weight_decay": params["weight_decay"]})
        self.log.add(f"using the tune's winner: peak LR {params['lr']:.3g}")

    @Slot()
    def export_tune_winner(self) -> None:
        """Ask where, then write the winning schedule with the search record."""
        if self.last_tune is None or self.last_tune.config is None or self.dataset is None:
            return
        path = dialogs.ask_schedule_path(self, "Export the tune's winner", f"{self.dataset.summary.name}.tuned.lrschedule.json")
        if path:
            self.write_tune_winner(Path(path))

    def write_tune_winner(self, path: Path) -> Path | None:
        """Write the winning schedule with the search record and add it to the library; the path, or None after saying why not."""
        result = self.last_tune
        try:
            per_epoch = training_batches_per_epoch(len(self.dataset.train_index), result.config.batch_size)
            written, library = schedule_io.export_schedule(path, RunSchedule(result.timeline), result.config, self.dataset.summary.to_dict(), per_epoch,
                                                     winner_metrics(result.record["winner"]), None, search=result.record,
                                                     groups=result.groups)
        except (ValueError, OSError, LrscopeError) as error:
            self.warn("Cannot export", str(error))
            return None
        self.log.add(f"the tune's winner was written to {written} and {library}")
        self.dataset_panel.show_library(schedule_io.library_entries(self.dataset)[0])
        return written
