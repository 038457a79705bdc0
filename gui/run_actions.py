"""The window's run actions: start, pause or resume, stop, resume a stored run, open, compare or delete stored runs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot

from engine.commands import Pause, Resume, Stop
from engine.data.split import batch_past_the_data, left_over, training_batches_per_epoch
from engine.errors import LrscopeError
from engine.run.handle import TERMINAL
from engine.schedules import Timeline
from engine.schedules.presets import peak_lr
from engine.store.reader import meta_object, read_meta, read_steps
from engine.text import counted, whose

from . import dialogs
from .settings import save_config


class RunActions:
    """Mixed into MainWindow: uses its controller, configuration, editor, live run, plots and log."""

    def _config(self):
        plan = self.editor.plan()
        return self.config_panel.config(data=self.dataset.summary.root, lr=peak_lr(plan.schedule)), plan

    def _config_or_warn(self, title: str):
        """(config, plan), or None after telling the user what is invalid."""
        try:
            return self._config()
        except ValueError as error:
            self.warn(title, str(error))
            return None

    def _timeline(self, plan, momentum: float) -> Timeline:
        if self.imported is not None:
            return self.imported
        return Timeline.of(plan.schedule, groups=self.starting_groups(plan), plateau=plan.plateau, base_momentum=momentum)

    def run_length(self) -> int:
        """Steps of a run with the configured epochs and batch size on the open dataset."""
        values = self.config_panel.values()
        if self.dataset is None or not isinstance(values["batch_size"], int) or not isinstance(values["epochs"], int):
            return 0
        return values["epochs"] * training_batches_per_epoch(len(self.dataset.train_index), values["batch_size"])

    def show_next_run(self) -> None:
        """Say how long the next run is, from the configuration: with the steps per epoch of the run shown, a 5-epoch
        run at batch 16 read "445 steps (21 epochs × 22 steps)"."""
        # Said before the run too: the window said "3 steps (3 epochs × 1 step)", then refused its default one-cycle.
        self.live.show_planned(self.run_length(), self.next_steps_per_epoch(), self._batch_past_the_data())

    def _batch_past_the_data(self) -> str:
        """Why the configured batch, bigger than the training images, is worth a word ("" when it is not)."""
        batch = self.config_panel.values()["batch_size"]
        if self.dataset is None or not isinstance(batch, int):
            return ""
        why = batch_past_the_data(len(self.dataset.train_index), batch)
        return f"{why}: lower the batch size (Configuration tab) for more steps" if why else ""

    def next_steps_per_epoch(self) -> int:
        """Steps per epoch of the next run, from the configuration (0 if unknown)."""
        total, epochs = self.run_length(), self.config_panel.values()["epochs"]
        return total // epochs if total else 0

    def steps_per_epoch(self) -> int:
        """Steps per epoch of the run shown, else of a run with the current configuration (0 if unknown)."""
        batch_size = self.config_panel.values()["batch_size"]
        if self.live.per_epoch or self.dataset is None or not isinstance(batch_size, int):
            return self.live.per_epoch
        return training_batches_per_epoch(len(self.dataset.train_index), batch_size)

    @Slot()
    def start_run(self) -> None:
        """Train with the configuration and the editor's schedule."""
        if self.dataset is None or self.controller.busy:
            return
        if self.decode_again_if_asked():  # the images at the size the run will record, then Start
            self.start_when_open = True
            return
        chosen = self._config_or_warn("Cannot start")
        if chosen is None:
            return
        config, plan = chosen
        save_config(self.settings, self.config_panel.values())
        timeline = self._timeline(plan, config.momentum)
        try:  # stretched to the run, as the run will be: a 1-step run's one-cycle is no one-cycle
            timeline.stretched(self.run_length()).validate()
        except ValueError as error:
            self.warn("Cannot start", f"over this run's {counted(self.run_length(), 'step')}, {error}")
            return
        if timeline.total_steps != self.run_length():  # a segment added past the end, say: it trained shrunk, unsaid
            self.log.add(f"the schedule covers {counted(timeline.total_steps, 'step')}: it is stretched to the run's "
                         f"{self.run_length()}, every segment in proportion")
        if why := self._batch_past_the_data():
            self.log.add(why, "warning")
        elif note := left_over(len(self.dataset.train_index), config.global_batch):
            self.log.add(note)
        self.controller.start(config, self.dataset, timeline)
        dialogs.dismiss(self, "Cannot start")  # it stayed over the plots for the whole run after the fix
        self.live.starting("starting the run")
        self.tabs.setCurrentIndex(0)
        self._update_actions(starting=True)

    @Slot()
    def pause_or_resume(self) -> None:
        """Pause a running job, resume a paused one. During a range test in the run, the run pauses (or resumes, when
        it was paused) once the test ends (Resume was sent, and the run trained on after the test)."""
        pausing = not self.live.paused
        self.controller.send(Pause() if pausing else Resume())
        if self.live.state == "range_test":  # the test holds the command until it ends: say that the click was heard
            self.log.add(f"the run {'pauses' if pausing else 'resumes'} when the range test ends")
            # It said "Pause" until then (also during a test of a paused run); the next state resets it.
            self.pause_action.setText(f"{'Pausing' if pausing else 'Resuming'} after the test")
            self.pause_action.setEnabled(False)

    @Slot()
    def stop_run(self) -> None:
        """Stop the run at the next step (it stays resumable)."""
        self.controller.send(Stop())

    @Slot(str)
    def resume_run(self, run_dir: str) -> None:
        """Continue a stored run; one trained on another dataset than the one open opens that dataset first, so that
        the window shows (and exports for) the data the run trains on."""
        if self.controller.busy:
            self.log.add("a run, tune or range test is in progress: stop it (or let it end) before resuming another run", "warning")
            return
        if self._checkpoint_seconds_or_warn() is None:  # said before another dataset is opened for nothing
            return
        folder = self._other_dataset(run_dir)
        if folder is not None:
            self.log.add(f"{Path(run_dir).name} trained on {Path(folder).name}: opening it before the run resumes")
            self.resume_when_open = run_dir
            self.open_folder(folder)
            return
        self.resume_now(run_dir)

    def resume_now(self, run_dir: str) -> None:
        """Resume ``run_dir`` on the dataset it names, whichever is open; on the open one when the run's folder is gone
        and the open one holds the same images (a moved folder could not be resumed from the window at all)."""
        seconds = self._checkpoint_seconds_or_warn()
        if seconds is None:
            return
        moved = self._moved_here(run_dir)
        if moved is not None:
            self.log.add(f"{Path(run_dir).name} trained on {moved}, which is gone: it resumes on {self.dataset.summary.root}, "
                         "the same images, and remembers that folder")
        self.controller.resume(run_dir, seconds, data=None if moved is None else str(self.dataset.summary.root))
        own = _stored(run_dir, "config").get("checkpoint_seconds")
        if isinstance(own, (int, float)) and own != seconds:
            self.log.add(f"{Path(run_dir).name} checkpoints {_checkpoints(seconds)} as the Configuration tab says (it was "
                         f"started to checkpoint {_checkpoints(own)})")
        self.live.starting(f"resuming {Path(run_dir).name}", resume=True)
        self.tabs.setCurrentIndex(0)
        self._update_actions(starting=True)

    def _checkpoint_seconds_or_warn(self) -> float | None:
        """The Configuration tab's checkpoint interval, which a resume keeps to as a new run does (the tab showed 10 s
        while a resume checkpointed every 60, as its run was started); None after saying why it cannot be used."""
        reason = self.config_panel.errors.get("checkpoint_seconds")
        if reason is not None:
            self.warn("Cannot resume", f"checkpoint (s): {reason}; correct it in the Configuration tab, then Resume again")
            return None
        return float(self.config_panel.values()["checkpoint_seconds"])

    def _moved_here(self, run_dir: str) -> str | None:
        """The run's dataset folder when it is gone and the open dataset has its fingerprint; else None."""
        root, fingerprint = _dataset_of(run_dir)
        if self.dataset is None or root is None or Path(root).is_dir() or fingerprint != self.dataset.summary.fingerprint:
            return None
        return root

    def _other_dataset(self, run_dir: str) -> str | None:
        """The folder of the run's dataset when it is another than the one open and still there; else None (a run whose
        folder is gone resumes as before: the engine says what it cannot find)."""
        root, fingerprint = _dataset_of(run_dir)
        shown = self.dataset.summary.fingerprint if self.dataset is not None else None
        if root is None or fingerprint == shown or not Path(root).is_dir():
            return None
        return root

    @Slot(str)
    def open_run(self, run_dir: str) -> None:
        """Show a stored run in the training plots, read-only."""
        if self.controller.training:
            self.log.add("a run is in progress: its plots stay", "warning")
            return
        self.live.show_stored(run_dir)
        self.curvature.show_run(run_dir)
        self.tabs.setCurrentIndex(0)
        self.log.add(f"showing {Path(run_dir).name} (read-only)")

    @Slot(list)
    def compare_runs(self, run_dirs: list) -> None:
        """Overlay the loss and LR of several stored runs."""
        self.compared = list(run_dirs)
        self._show_compared()
        self.log.add(f"comparing {len(run_dirs)} runs")

    def _show_compared(self) -> None:
        self.compare.show_runs([(Path(d).name, read_steps(d)) for d in self.compared])

    @Slot(list)
    def delete_runs(self, run_dirs: list, tunes: list = ()) -> None:
        """Delete stored runs after asking, and the search record of each of ``tunes`` (whose trial runs are among
        ``run_dirs``); the window's own live run is refused (its process is this one)."""
        from engine.store.delete import deletable, delete_runs

        following = self.live.state not in ("idle", "detached", *TERMINAL)
        if following and self.live.run_dir is not None and str(self.live.run_dir) in map(str, run_dirs):
            how = "is attached to it; detach (Ctrl+Shift+D)" if self.controller.remote else "is training it; stop it"
            self.warn("Cannot delete", f"{Path(self.live.run_dir).name}: this window {how} first, then delete it")
            return
        try:
            deletable([Path(d) for d in run_dirs])  # refused before asking, not after the user said yes
        except LrscopeError as error:
            self.warn("Cannot delete", str(error))
            return
        if not dialogs.ask_yes_no(self, "Delete runs", *self._what_is_deleted(run_dirs, tunes)):
            return
        deleted = []
        try:
            for run_dir in delete_runs([Path(d) for d in run_dirs]):
                self.log.add(f"deleted run {run_dir.name}")
                deleted.append(str(run_dir))
            self._delete_tune_records(tunes)
        except LrscopeError as error:
            self.warn("Cannot delete", str(error))
        self.runs_panel.refresh()
        if set(deleted) & set(self.compared):  # the overlay drew a deleted run on, its name in the key
            self.compared = [d for d in self.compared if d not in deleted]
            self._show_compared()

    def _what_is_deleted(self, run_dirs: list, tunes: list) -> tuple[str, str]:
        """The question before deleting, and its details: a tune named once with its count of trials, not as tens of runs."""
        trials = set(map(str, sum((self.runs_panel.trials_of(tune) for tune in tunes), [])))
        own = [Path(d).name for d in run_dirs if str(d) not in trials]
        what = [*(f"tune {tune} ({counted(len(self.runs_panel.trials_of(tune)), 'trial run')} and its search record)"
                  for tune in tunes), *([counted(len(own), "run")] if own else [])]
        holds = "they hold" if len(run_dirs) > 1 else "it holds"
        return (f"Delete {' and '.join(what)} and all {holds} (metrics, edits, checkpoints)? This cannot be undone.",
                "\n".join([*(f"tune {tune}" for tune in tunes), *own]))

    def _delete_tune_records(self, tunes: list) -> None:
        """Remove each tune's search record (its trial runs are deleted as runs); RunStoreError says why not."""
        from engine.store.paths import tunes_root
        from engine.tune.folders import delete_tune_folder, record_folder

        for tune in tunes:
            if (folder := record_folder(tune, tunes_root())) is not None:
                delete_tune_folder(folder)
                self.log.add(f"deleted tune {whose(tune)} search record ({folder})")

    def forget_run(self, why: str) -> None:
        """Another dataset is open: the last run, its range test and its plots belong to the old one."""
        shown = self.last_run is not None or self.last_range_test is not None or len(self.loss.points) > 0
        self.last_run = self.last_range_test = None
        self.live.forget()
        self.curvature.forget()
        self.banner.hide()
        if (plot := self.range_slot.existing()) is not None:
            plot.clear()
        self.range_panel.finished(None, "")
        if shown:
            self.log.add(f"{why}: the plots, edit history and range test of the previous dataset are cleared")


def _stored(run_dir: str, part: str) -> dict:
    """``part`` ("config", "dataset") of a stored run's record ({} when it cannot be read)."""
    try:
        return meta_object(read_meta(Path(run_dir)), part)
    except LrscopeError:
        return {}


def _checkpoints(seconds: float) -> str:
    """How often a run checkpoints, in words."""
    return f"every {seconds:g} s" if seconds else "at epoch ends only"


def _dataset_of(run_dir: str) -> tuple[str | None, object]:
    """The folder and fingerprint of the dataset a stored run trained on (None, None when its record cannot be read)."""
    dataset = _stored(run_dir, "dataset")
    root = dataset.get("root")
    return (root if isinstance(root, str) else None), dataset.get("fingerprint")
