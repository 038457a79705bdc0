"""The main window: dataset and configuration on the left, schedule editor on the right, plots in the middle.

What the window does lives in mixins named for it (datasets, runs, range tests, schedule files);
what it is made of is in ``window_layout`` and ``window_actions``; this file wires them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QSettings, QTimer, Slot
from PySide6.QtWidgets import QMainWindow

from engine.config import TrainConfig
from engine.schedules import Timeline
from engine.schedules.presets import peak_lr

from . import dialogs
from .attach_actions import AttachActions
from .bridge import EngineBridge
from .closing import ClosingActions
from .curvature_actions import CurvatureActions
from .dataset_actions import DatasetActions, dropped_folders
from .errors import SlotErrorReporter
from .fine_tuning_actions import FINE_TUNING_FIELDS, FineTuningActions
from .go_menu import build_go_menu
from .library_actions import LibraryActions
from .live_run import COULD_NOT_TRAIN, LiveRun
from .panels.config_panel import FIELDS
from .plots.compare_plot import ComparePanel
from .plots.range_plot import RangePlot
from .plots.tune_plot import TunePlot
from .range_test_actions import RangeTestActions
from .run_actions import RunActions
from .run_controller import RunController
from .schedule_file_actions import ScheduleFileActions
from .settings import recent_folders, save_config, saved_config
from .tune_actions import TuneActions
from .wheel_guard import guard_wheel
from .window_actions import build_actions
from .window_layout import build_layout, default_dock_sizes, widen_squeezed_docks

# Events are drained at 20 Hz; plots are redrawn at 4 Hz, which looks live and leaves the CPU to training
# (on a 2-core machine every GUI burst delays torch's threads; see docs/benchmarks.md).
REDRAW_MS = 250
MAX_REDRAW_MS = 1000
DRAIN_MS = 50
TYPING_PAUSE_MS = 500  # an image size is typed a digit at a time: "96" asked for 9 px images first


class MainWindow(QMainWindow, DatasetActions, RunActions, RangeTestActions, ScheduleFileActions, LibraryActions, AttachActions,
                 CurvatureActions, TuneActions, FineTuningActions, ClosingActions):
    """lrscope's window."""

    def __init__(self, settings: QSettings, sample: Path, data: Path | None = None, start: bool = False):
        super().__init__()
        self.setWindowTitle("lrscope")
        self.setAcceptDrops(True)
        self.settings, self.sample = settings, sample
        self.bridge = EngineBridge(interval_ms=DRAIN_MS, parent=self)
        self.controller = RunController(self.bridge)
        self.dataset = self.shown_fingerprint = None
        self.opened_dataset = None  # what the last successful open found (DatasetOpened): a failed open goes back to it
        self.imported: Timeline | None = None
        self.imported_mid_run: Timeline | None = None  # a file of several pieces imported during a run: Apply sends it all
        self.draft_tuned_on = ""  # the editor's draft is a schedule tuned on another dataset: which, and from what file
        self.loaded_groups = None  # the group settings of the plan last loaded (a draft, an imported file), for the group table
        self.fine_tuning_shown = False  # the editor and group table hold the configuration's fine-tuning preset
        self.weights_shown = False  # the configuration's weights are pretrained ones (the editor's default peak follows)
        self.fetch_said = ""  # the last "not in the torch hub cache" line logged: said once per weights chosen
        self.peak_moved_to = None  # the plan the pretrained weights moved the editor's preset to (undone if still shown)
        self.last_run = None
        self.timed_speed = None  # (what was timed, seconds a tune's step costs, by what): for the next tune's plan
        self.compared: list[str] = []  # the run folders the Runs tab overlays
        self.planned_after_run = False  # the editor's plan changed since the last run ended: Export writes the plan
        self.last_range_test = None
        self.range_test_of: tuple[str | None, int] = (None, 0)  # the run (None: none, fresh weights) and step it measured
        self.measuring_first = ""  # what the range test asked in a run says while it measures λmax, before its first steps
        self.last_tune = None
        self.editor_search: dict | None = None  # the record of the tune whose winner the editor shows, until it is edited
        self.start_when_open = start
        self.decoded_with: tuple[int, int] | None = None  # the image size and memory budget of the open dataset's images
        self.folder_to_open: str | None = None  # the folder asked for last, opened now or once typing pauses
        self.opening: tuple[str, int, int] | None = None  # the last open started: (folder, image size, memory budget)
        self.open_timer = QTimer(self, singleShot=True, interval=TYPING_PAUSE_MS)
        self.closing_unasked = False  # a signal closes the window: no one may be at the screen to answer a question
        self.resume_when_open: str | None = None  # a stored run of another dataset, resumed once that dataset is open
        self.attach_target: str | tuple[str, str] | None = None  # the last run asked for in the Attach dialog
        build_layout(self)
        self.config_panel.set_values(saved_config(self.settings))
        build_actions(self)
        build_go_menu(self)
        guard_wheel(self)
        self.errors = SlotErrorReporter(self, self.log)
        self.errors.install()
        self.live = LiveRun(self.bridge, self.controller.send, self.loss, self.lr, self.momentum, self.accuracy,
                            self.editor, self.log, self.progress, self.status, parent=self)
        self.build_curvature()
        self._connect()
        self._restore()
        self._update_actions()
        QTimer.singleShot(0, lambda: self.start_up(data))

    @property
    def range_plot(self) -> RangePlot:
        """The Range test tab's plot (built when first shown or drawn on)."""
        return self.range_slot.get()

    @property
    def tune_plot(self) -> TunePlot:
        """The Tune tab's plot (built when first shown or drawn on)."""
        return self.tune_slot.get()

    @property
    def compare(self) -> ComparePanel:
        """The Runs tab's comparison plots (built when first shown or drawn on)."""
        return self.compare_slot.get()

    def _connect(self) -> None:
        self.bridge.taskDone.connect(self.task_done)
        self.bridge.taskFailed.connect(self.task_failed)
        for ended in (self.bridge.stateChanged, self.bridge.taskDone, self.bridge.taskFailed):
            ended.connect(self.withdraw_close_question)
        self.bridge.runStarted.connect(self.followed_run_started)
        self.bridge.stateChanged.connect(lambda _event: self._update_actions())
        self.bridge.logLine.connect(lambda event: self.log.add(event.text, event.level))
        self.bridge.stateChanged.connect(self.range_test_state)
        self.bridge.curvatureMeasured.connect(self.range_test_measured)
        self.bridge.rangeTestStarted.connect(self.range_test_started)
        self.bridge.rangeTestProgress.connect(self.range_test_progress)
        self.bridge.rangeTestFinished.connect(self.range_test_finished)
        self.open_timer.timeout.connect(self.open_now)
        self.redraw_timer = QTimer(self, interval=REDRAW_MS)
        self.redraw_timer.timeout.connect(self.redraw)
        self.redraw_timer.start()
        self.dataset_panel.open_button.clicked.connect(self.open_action.trigger)
        self.dataset_panel.openRequested.connect(self.open_folder)
        self.dataset_panel.scheduleChosen.connect(self.use_library_entry)
        self.dataset_panel.scheduleDeleteRequested.connect(self.delete_library_entry)
        self.config_panel.changed.connect(self.config_changed)
        self.show_momentum()
        self.editor.previewChanged.connect(self.preview)
        self.editor.presetUsed.connect(self.draft_replaced)
        self.editor.edited.connect(self._forget_import)
        self.editor.edited.connect(self.keep_draft)
        self.editor.editRequested.connect(self.send_edit)
        self.editor.keypointsShown.connect(self.keypoints_shown)
        self.range_panel.startRequested.connect(self.range_test)
        self.range_panel.cancelRequested.connect(self.controller.cancel_range_test)
        self.range_panel.useRequested.connect(self.use_suggestion)
        self.runs_panel.openRequested.connect(self.open_run)
        self.runs_panel.compareRequested.connect(self.compare_runs)
        self.runs_panel.resumeRequested.connect(self.resume_run)
        self.runs_panel.attachRequested.connect(self.attach)
        self.runs_panel.exportRequested.connect(self.export_stored_run)
        self.runs_panel.deleteRequested.connect(self.delete_runs)
        self.x_unit.currentIndexChanged.connect(lambda _index: self.apply_x_unit())
        self.smoothing.valueChanged.connect(self.loss.set_window)
        self.connect_tune()
        self._connect_group_table()

    # -- startup and background tasks ------------------------------------------------------

    def start_up(self, data: Path | None) -> None:
        """Open the requested folder, else the last one, else the bundled sample; find the devices."""
        last = self.settings.value("data/last", "")
        folder = str(data) if data else (last if last and Path(last).is_dir() else str(self.sample))
        if not data and last and folder != last:  # it fell back to the sample without a word
            self.log.add(f"the dataset open last, {last}, is no longer there (moved or on a drive not mounted): opening the "
                         "bundled sample instead; Open… (Ctrl+O) finds it where it is now", "warning")
        self.open_folder(folder)
        self.controller.probe_devices()
        self.runs_panel.refresh()
        if cut := self.runs_panel.cut_off():  # relaunched after a kill, the window said nothing of the run it lost (helper-81)
            self.log.add(f"the last run, {cut.run_id} ({cut.dataset}), was cut off at step {cut.steps_done} of {cut.total_steps} when its "
                         "process ended: select it in the Runs tab and press Resume to go on from its last checkpoint", "warning")

    @Slot(object)
    def task_done(self, done) -> None:
        """A background task finished."""
        if self.superseded(done):
            return
        if done.name == "open":
            self.dataset_opened(done.result)
        elif done.name == "devices":
            self.config_panel.set_devices(done.result)
        elif done.name == "train":
            self.run_no_longer_followed(done.result)
        elif done.name == "tune":
            self.config_panel.follow(None)  # a trial's settings (a searched weight decay) are no run's now
            self.tune_done(done.result)
        self.decode_again_if_asked()
        self._update_actions()

    @Slot(object)
    def task_failed(self, failed) -> None:
        """A background task failed: the message goes where the user looks."""
        if self.superseded(failed):  # of an image size no longer asked for
            return
        self.log.add(failed.message, "error")
        if failed.name == "open":
            self.dataset_failed(failed.message)
        elif failed.name == "range_test":
            self.range_panel.finished(None, failed.message)
            self.show_next_run()
        elif failed.name == "train" and self.controller.refused:  # a wrong token said in the log alone, as if a run had ended
            dialogs.show_error(self, "Cannot attach", failed.message)
            self.status.setText(f"could not attach: {failed.message}")
        elif failed.name == "train":
            # Contact lost, or the window's own run failed past what the engine turns into a "failed" end: the run as far
            # as its events went ends as any run does (the Groups tab kept a failed run's groups beside another model).
            self.run_no_longer_followed(self.controller.as_it_stood(), failure=failed.message)
        elif failed.name == "tune":
            self.config_panel.follow(None)
            self.tune_panel.failed(failed.message)
        self.decode_again_if_asked()
        self._update_actions()

    def run_no_longer_followed(self, ended, failure: str | None = None) -> None:
        """The one way a run leaves the window, however it ended (``ended``: the window's record of it, None if it never
        started; ``failure``: why its task failed): the editor, the Groups tab and the controls go back to the next run."""
        self.config_panel.follow(None)
        self.imported_mid_run = None  # for that run's Apply only
        self.last_run = ended or self.last_run
        self.planned_after_run = False
        self.time_the_last_run()
        self.show_tune_plan()
        if failure is None:
            self.live.let_go()
        if ended is not None or self.controller.remote:  # a run that never started changed nothing to give back
            self.after_a_run()
        if failure is not None:  # after: its message stays on the status line, where "next run: …" would replace it
            self.live.could_not_train(failure)
        self.range_test_unfollowed()
        self.banner.hide()  # its fix edits a run that is over, or no longer followed
        self.runs_panel.refresh()  # how the run stands now: interrupted, say
        # Epochs typed during the run are the next run's: contact lost, it read "run: 110 steps; …, in force from 804".
        self.editor.set_run_length(self.run_length())

    @Slot(str)
    def config_changed(self, name: str) -> None:
        """Epochs and batch size change the run's length; image size needs the images decoded again."""
        self.show_tune_plan()  # its time holds for the step timed alone: another model, size or batch takes its own
        if self.status.text().startswith(COULD_NOT_TRAIN) and not self.controller.busy:
            # Said of the configuration as it was: "could not train: pretrained: … needs the file …" stayed after the
            # model was changed back and pretrained unticked (helper-115).
            self.show_next_run()
        if name in ("epochs", "batch_size"):
            self.editor.set_run_length(self.run_length())
            self.show_next_run()
            self.apply_x_unit()
        elif name in ("image_size", "memory_budget_mb"):
            if self.controller.busy and self.dataset is not None:  # its images cannot change under it ("stop it before…")
                self.log.add(f"{FIELDS[name][0]} is for the next run: the images are decoded again once this one ends")
            else:
                self.decode_again_as_typed()
        if name in FINE_TUNING_FIELDS:
            self.show_model_groups(keep_table=True)
        if name == "momentum":
            self.show_momentum()

    def show_momentum(self) -> None:
        """Tell the editor the run's momentum (a number as typed; a field being typed keeps the last)."""
        momentum = self.config_panel.values()["momentum"]
        if isinstance(momentum, (int, float)):
            self.editor.set_momentum(float(momentum))

    # -- plots ---------------------------------------------------------------------------------

    @Slot()
    def redraw(self) -> None:
        """Redraw the plots that are on screen and changed, less often when that gets expensive."""
        started = time.perf_counter()
        self.live.refresh()
        self.curvature.refresh()
        if self.range_slot.isVisible():
            self.range_plot.refresh()
        # Painting costs about twice the update measured here; 60x keeps both to ~5% of a core
        # even for curves of millions of points.
        cost_ms = 1000 * (time.perf_counter() - started)
        self.redraw_timer.setInterval(int(min(MAX_REDRAW_MS, max(REDRAW_MS, 60 * cost_ms))))

    @Slot(object)
    def preview(self, plan) -> None:
        """Draw the editor's schedule dotted on the LR plot (and as the plan when no run is going)."""
        steps = np.arange(plan.origin, plan.origin + plan.schedule.total_steps + 1)
        # The editor's LR is the head's (the head's multiplier is 1); other groups follow it by their multipliers.
        lrs = plan.schedule.lrs(steps - plan.origin)
        if not self.controller.training:
            timeline = self._next_timeline(plan)
            self._show_plan(timeline)
            self.check_the_plan(timeline, peak_lr(plan.schedule))  # its peak, not its highest whole step's (0.199 of a 0.2 peak)
        # During a run the preview shows unsent edits only, from the current step on: the steps taken keep their LR.
        shown = (steps >= self.live.step) if self.controller.training and self.editor.dirty else np.zeros(len(steps), bool)
        self.lr.set_preview(steps[shown], lrs[shown])

    def _next_timeline(self, plan):
        """The timeline the next run trains: a run's or a file's schedule with earlier pieces whole (the steps before the
        editor's piece were left blank, and the momentum a full one-cycle the run would not train)."""
        momentum = self.config_panel.values().get("momentum")
        timeline = self._timeline(plan, momentum if isinstance(momentum, float) else TrainConfig.momentum)
        if self.imported is not None and self.run_length() >= 2:
            timeline = timeline.stretched(self.run_length())  # as Start will
        return timeline

    def _show_plan(self, timeline) -> None:
        """The next run's LRs and momenta as the plan."""
        steps = np.arange(timeline.total_steps + 1)
        names, lrs = self.planned_group_lrs(timeline, steps) or ((), timeline.lrs(steps))
        self.lr.set_plan(steps, lrs, key="next run", groups=names)
        self.momentum.set_plan(steps, timeline.momenta(steps), key="next run")
        self.momentum.setVisible(self.momentum.scheduled)

    @Slot()
    def _forget_import(self) -> None:
        """The user changed the imported schedule (or the tune's winner): the editor's version is what will run."""
        self.imported = self.editor_search = self.imported_mid_run = None

    @Slot(object)
    def keypoints_shown(self, keypoints) -> None:
        """Draggable markers for the selected free-form segment."""
        if keypoints is None:
            self.lr.hide_handles()
            return
        index, points = keypoints
        self.lr.show_handles(points, lambda point, step, lr: self.editor.move_keypoint(index, point, step, lr))

    def apply_x_unit(self) -> None:
        """Draw the step plots against epochs or steps, as the toolbar says (once epochs are known)."""
        per_epoch = self.steps_per_epoch() if self.x_unit.currentIndex() == 1 else 0
        for plot in self.live.plots:
            if plot.steps_per_epoch != per_epoch:
                plot.set_epochs(per_epoch)

    # -- small helpers -----------------------------------------------------------------------------------

    def warn(self, title: str, message: str) -> None:
        """Say what went wrong in the log and in a box that does not block the window."""
        self.log.add(f"{title}: {message}", "error")
        dialogs.show_error(self, title, message)

    def _update_actions(self, starting: bool = False) -> None:
        training = starting or self.controller.training
        # One job at a time: a run started during a range test before it trained beside the test, both on the CPU.
        free = not training and not self.controller.tuning and not self.controller.testing
        self.start_action.setEnabled(self.dataset is not None and free)
        self.tune_panel.start.setEnabled(self.dataset is not None and free)
        for action in (self.pause_action, self.stop_action, self.apply_action, self.undo_action, self.redo_action, self.measure_action,
                       self.go_actions["Set LR now field"], self.go_actions["Scale the rest field"]):
            action.setEnabled(training)
        self.measure_action.setEnabled(training and not self.curvature.pending)  # off until the one asked for comes
        self.attach_action.setEnabled(not training)
        self.detach_action.setEnabled(self.controller.attached)
        self.pause_action.setText("Resume" if self.live.paused else "Pause")
        self.export_action.setEnabled(self.dataset is not None)
        # One test at a time: a second Ctrl+T during a run's test queued a whole second test, whose start wiped the first's
        # suggestions from the tab and called it "asked elsewhere" (helper-91).
        self.test_action.setEnabled(self.dataset is not None and not self.controller.tuning and not self.range_panel.testing)
        self.open_action.setEnabled(free)
        for button in (self.dataset_panel.open_button, self.dataset_panel.recent):  # they looked clickable and did nothing
            button.setEnabled(free)
        self.show_title()

    def _restore(self) -> None:
        geometry, state = self.settings.value("window/geometry"), self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            screen = self.screen().availableGeometry()
            self.resize(min(1500, screen.width()), min(950, screen.height()))
        if state is not None:
            self.restoreState(state)
        else:
            default_dock_sizes(self)
        self.dataset_panel.set_recent(recent_folders(self.settings))
        self.x_unit.setCurrentIndex(int(self.settings.value("view/x_unit", 0)))
        self.smoothing.setValue(int(self.settings.value("view/smoothing", 20)))

    # -- Qt events (here, not in the mixins: QMainWindow comes first in the MRO) ------------------------------

    def resizeEvent(self, event) -> None:
        """Side docks squeezed in a smaller window take their width back as it grows (not as it is first shown)."""
        super().resizeEvent(event)
        if event.oldSize().width() > 0 and event.size().width() > event.oldSize().width():
            widen_squeezed_docks(self, event.size().width() - event.oldSize().width())

    def dragEnterEvent(self, event) -> None:
        if dropped_folders(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if dropped_folders(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        folders = dropped_folders(event.mimeData())
        if folders:
            event.acceptProposedAction()
            self.open_folder(folders[0])

    def changeEvent(self, event) -> None:
        # Back from a terminal: `lrscope train --export-schedule` or `schedule add` may have changed the library.
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.library_may_have_changed()
        super().changeEvent(event)

    def closeEvent(self, event) -> None:
        """Save the layout and settings, stop the window's own run (if the user agrees) or detach from an attached one,
        and wait for the workers (never destroy a running thread)."""
        if not self.may_close():
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("view/x_unit", self.x_unit.currentIndex())
        self.settings.setValue("view/smoothing", self.smoothing.value())
        save_config(self.settings, self.config_panel.values())
        self.settings.sync()
        if not self.controller.shutdown(timeout=60):
            self.log.add("the worker did not stop in time", "error")
        self.bridge.drain()
        self.errors.uninstall()
        super().closeEvent(event)
