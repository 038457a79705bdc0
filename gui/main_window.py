"""The main window: dataset and configuration on the left, schedule editor on the right, plots in the middle."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTabWidget,
)

from engine.commands import EditSchedule, Pause, Resume, Stop
from engine.data.split import training_batches_per_epoch
from engine.schedules import Timeline
from engine.schedules.presets import peak_lr
from engine.store.paths import runs_root
from engine.store.reader import read_steps

from .bridge import EngineBridge
from .fine_tuning_actions import FINE_TUNING_FIELDS, FineTuningActions
from .live_run import LiveRun
from .panels.config_panel import ConfigPanel
from .panels.dataset_panel import DatasetPanel
from .panels.log_panel import LogPanel
from .panels.range_test_panel import RangeTestPanel
from .panels.runs_panel import RunsPanel
from .panels.schedule_editor import ScheduleEditor
from .plots.accuracy_plot import AccuracyPlot
from .plots.compare_plot import ComparePanel
from .plots.loss_plot import LossPlot
from .plots.lr_plot import LrPlot, MomentumPlot
from .plots.range_plot import RangePlot
from .range_test_actions import RangeTestActions
from .run_controller import RunController
from .schedule_file_actions import ScheduleFileActions
from .settings import recent_folders, remember_folder, save_config, saved_config

# Events are drained at 20 Hz; plots are redrawn at 4 Hz, which looks live and leaves the CPU to training
# (on a 2-core machine every GUI burst delays torch's threads; see docs/benchmarks.md).
REDRAW_MS = 250
MAX_REDRAW_MS = 1000
DRAIN_MS = 50


def scrollable(widget):
    """``widget`` in a scroll area, so that a dock can be smaller than its form (the window fits a laptop screen)."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


class MainWindow(QMainWindow, RangeTestActions, ScheduleFileActions, FineTuningActions):
    """lrscope's window."""

    def __init__(self, settings: QSettings, sample: Path, data: Path | None = None, start: bool = False):
        super().__init__()
        self.setWindowTitle("lrscope")
        self.setAcceptDrops(True)
        self.settings, self.sample = settings, sample
        self.bridge = EngineBridge(interval_ms=DRAIN_MS, parent=self)
        self.controller = RunController(self.bridge)
        self.dataset = None
        self.imported: Timeline | None = None
        self.last_run = None
        self.last_range_test = None
        self.start_when_open = start
        self._build_widgets()
        self._build_actions()
        self.live = LiveRun(self.bridge, self.controller.send, self.loss, self.lr, self.momentum, self.accuracy,
                            self.editor, self.log, self.progress, self.status, parent=self)
        self._connect()
        self._restore()
        self._update_actions()
        QTimer.singleShot(0, lambda: self.start_up(data))

    # -- construction ------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.loss, self.lr, self.momentum, self.accuracy = LossPlot(), LrPlot(), MomentumPlot(), AccuracyPlot()
        self.momentum.setVisible(False)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.accuracy)
        lower.addWidget(self.momentum)
        training = QSplitter(Qt.Orientation.Vertical)
        for widget in (self.loss, self.lr, lower):
            training.addWidget(widget)
        training.setSizes([400, 400, 220])
        self.range_plot, self.range_panel = RangePlot(), RangeTestPanel()
        range_tab = QSplitter(Qt.Orientation.Horizontal)
        range_tab.addWidget(self.range_plot)
        range_tab.addWidget(self.range_panel)
        range_tab.setSizes([700, 300])
        self.runs_panel, self.compare = RunsPanel(runs_root()), ComparePanel()
        runs_tab = QSplitter(Qt.Orientation.Vertical)
        runs_tab.addWidget(self.runs_panel)
        runs_tab.addWidget(self.compare)
        self.tabs = QTabWidget()
        self.tabs.addTab(training, "Training")
        self.tabs.addTab(range_tab, "Range test")
        self.tabs.addTab(runs_tab, "Runs")
        self.setCentralWidget(self.tabs)
        self.dataset_panel, self.config_panel, self.editor, self.log = DatasetPanel(), ConfigPanel(), ScheduleEditor(), LogPanel()
        self.config_panel.set_values(saved_config(self.settings))
        left = QTabWidget()
        left.addTab(scrollable(self.dataset_panel), "Dataset")
        left.addTab(scrollable(self.config_panel), "Configuration")
        left.addTab(scrollable(self._build_group_table()), "Groups")
        for title, widget, area in (("Dataset and configuration", left, Qt.DockWidgetArea.LeftDockWidgetArea),
                                    ("Schedule", scrollable(self.editor), Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Log", self.log, Qt.DockWidgetArea.BottomDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
        self.progress, self.status = QProgressBar(), QLabel("idle")
        self.progress.setMaximumWidth(260)
        self.statusBar().addWidget(self.progress)
        self.statusBar().addWidget(self.status, 1)

    def _action(self, text: str, shortcut: str, tip: str, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({shortcut})")
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("Open…", "Ctrl+O", "Open a dataset folder", self.dataset_panel.choose_folder)
        self.start_action = self._action("Start", "Ctrl+R", "Start training with this configuration and schedule", self.start_run)
        self.pause_action = self._action("Pause", "Ctrl+P", "Pause or resume the run at the next step", self.pause_or_resume)
        self.stop_action = self._action("Stop", "Ctrl+.", "Stop the run (it stays resumable)", lambda: self.controller.send(Stop()))
        self.test_action = self._action("Range test", "Ctrl+T", "Start an LR range test (before or during a run)", self.range_panel._start)
        self.export_action = self._action("Export tuned schedule…", "Ctrl+E", "Write the schedule tuned for this dataset and add it to the library", self.export)
        self.import_action = self._action("Import schedule…", "Ctrl+I", "Load a schedule file (warns if it was tuned for another dataset)", self.import_)
        self._action("Apply from now", "Ctrl+Return", "Send the edited schedule to the running job", self.editor.apply_from_now)
        self._action("Undo last edit", "Ctrl+U", "Undo the last schedule edit, from now on", self.editor.undo.click)
        self.unfreeze_action = self._action("Unfreeze now", "Ctrl+Shift+U", "Make the frozen parameter groups (the selected "
                                            "ones in the group table, or all) trainable from now on", self.group_table.unfreeze.click)
        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("run toolbar")
        for action in (self.open_action, self.start_action, self.pause_action, self.stop_action, self.test_action,
                       self.export_action, self.import_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        self.x_unit = QComboBox()
        self.x_unit.addItems(["x: steps", "x: epochs"])
        self.x_unit.setToolTip("Draw the training plots against steps or epochs.")
        self.x_unit.currentIndexChanged.connect(self._x_unit_changed)
        self.smoothing = QSpinBox(minimum=1, maximum=100_000, value=20, suffix=" steps")
        self.smoothing.setPrefix("smooth ")
        self.smoothing.setToolTip("The smoothed loss is the mean of this many last steps (independent of the run's length).")
        self.smoothing.valueChanged.connect(self.loss.set_window)
        toolbar.addWidget(self.x_unit)
        toolbar.addWidget(self.smoothing)
        menu = self.menuBar().addMenu("&File")
        for action in (self.open_action, self.import_action, self.export_action):
            menu.addAction(action)

    def _connect(self) -> None:
        self.bridge.taskDone.connect(self.task_done)
        self.bridge.taskFailed.connect(self.task_failed)
        self.bridge.stateChanged.connect(lambda _event: self._update_actions())
        self.bridge.logLine.connect(lambda event: self.log.add(event.text, event.level))
        self.bridge.rangeTestStarted.connect(self.range_test_started)
        self.bridge.rangeTestProgress.connect(lambda e: self.range_plot.add_points(e.lrs, e.losses, e.smoothed, e.repeat))
        self.bridge.rangeTestFinished.connect(self.range_test_finished)
        self.redraw_timer = QTimer(self, interval=REDRAW_MS)
        self.redraw_timer.timeout.connect(self.redraw)
        self.redraw_timer.start()
        self.dataset_panel.openRequested.connect(self.open_folder)
        self.dataset_panel.scheduleChosen.connect(self.import_)
        self.config_panel.changed.connect(self.config_changed)
        self.editor.previewChanged.connect(self.preview)
        self.editor.edited.connect(self._forget_import)
        self.editor.editRequested.connect(lambda edit: self.controller.send(EditSchedule(edit)))
        self.editor.keypointsShown.connect(self.keypoints_shown)
        self.range_panel.startRequested.connect(self.range_test)
        self.range_panel.cancelRequested.connect(self.controller.cancel_range_test)
        self.range_panel.useRequested.connect(self.use_suggestion)
        self.runs_panel.openRequested.connect(self.open_run)
        self.runs_panel.compareRequested.connect(self.compare_runs)
        self.runs_panel.resumeRequested.connect(self.resume_run)

    # -- startup, datasets, settings ----------------------------------------------------------

    def start_up(self, data: Path | None) -> None:
        """Open the requested folder, else the last one, else the bundled sample; find the devices."""
        last = self.settings.value("data/last", "")
        folder = str(data) if data else (last if last and Path(last).is_dir() else str(self.sample))
        self.open_folder(folder)
        self.controller.probe_devices()
        self.runs_panel.refresh()

    @Slot(str)
    def open_folder(self, folder: str) -> None:
        """Open a dataset folder in the background."""
        if self.controller.training:
            self.log.add("a run is in progress: stop it before opening another dataset", "warning")
            return
        self.dataset_panel.loading(folder)
        self.log.add(f"opening {folder}")
        image_size = self.config_panel.values().get("image_size")
        self.controller.open_dataset(folder, image_size if isinstance(image_size, int) else 0)

    @Slot(object)
    def task_done(self, done) -> None:
        """A background task finished."""
        if done.name == "open":
            self.dataset_opened(done.result)
        elif done.name == "devices":
            self.config_panel.set_devices(done.result)
        elif done.name == "train":
            self.last_run = done.result
            self.runs_panel.refresh()
        self._update_actions()

    @Slot(object)
    def task_failed(self, failed) -> None:
        """A background task failed: the message goes where the user looks."""
        self.log.add(failed.message, "error")
        if failed.name == "open":
            self.dataset_panel.show_error(failed.message)
        elif failed.name == "range_test":
            self.range_panel.finished(None, failed.message)
        elif failed.name == "train":
            self.status.setText(f"could not train: {failed.message}")
        self._update_actions()

    def dataset_opened(self, opened) -> None:
        """Show the dataset and offer the schedules tuned for it."""
        self.dataset = opened.dataset
        self.dataset_panel.show_dataset(opened.dataset, opened.thumbnails)
        self.dataset_panel.show_library(opened.library)
        self.dataset_panel.set_recent(remember_folder(self.settings, opened.dataset.summary.root))
        summary = opened.dataset.summary
        self.setWindowTitle(f"lrscope — {summary.name} ({summary.root})")
        self.log.add(f"{summary.name}: {summary.image_count} images, {len(summary.classes)} classes, fingerprint {summary.fingerprint}")
        if opened.library:
            self.log.add(f"{len(opened.library)} schedules tuned for this dataset are in the library (double-click one to load it)")
        for warning in opened.dataset.warnings:
            self.log.add(warning, "warning")
        self.editor.set_run_length(self.run_length())
        self.live.show_planned(self.run_length(), self.steps_per_epoch())
        self.show_model_groups()
        if self.start_when_open:
            self.start_when_open = False
            QTimer.singleShot(300, self.start_run)

    def run_length(self) -> int:
        """Steps of a run with the configured epochs and batch size on the open dataset."""
        values = self.config_panel.values()
        if self.dataset is None or not isinstance(values["batch_size"], int) or not isinstance(values["epochs"], int):
            return 0
        return values["epochs"] * training_batches_per_epoch(len(self.dataset.train_index), values["batch_size"])

    @Slot(str)
    def config_changed(self, name: str) -> None:
        """Epochs and batch size change the run's length; image size needs the images decoded again."""
        if name in ("epochs", "batch_size"):
            self.editor.set_run_length(self.run_length())
            self.live.show_planned(self.run_length(), self.steps_per_epoch())
        elif name == "image_size" and self.dataset is not None:
            self.open_folder(self.dataset.summary.root)
        if name in FINE_TUNING_FIELDS:
            self.show_model_groups()

    # -- running ----------------------------------------------------------------------------

    def _config(self):
        plan = self.editor.plan()
        return self.config_panel.config(data=self.dataset.summary.root, lr=peak_lr(plan.schedule)), plan

    def _config_or_warn(self, title: str):
        """(config, plan), or None after telling the user what is invalid."""
        try:
            return self._config()
        except ValueError as error:
            self._warn(title, str(error))
            return None

    def _timeline(self, plan, momentum: float) -> Timeline:
        if self.imported is not None:
            return self.imported
        return Timeline.of(plan.schedule, groups=self.starting_groups(plan), plateau=plan.plateau, base_momentum=momentum)

    @Slot()
    def start_run(self) -> None:
        """Train with the configuration and the editor's schedule."""
        if self.dataset is None or self.controller.training:
            return
        chosen = self._config_or_warn("Cannot start")
        if chosen is None:
            return
        config, plan = chosen
        save_config(self.settings, self.config_panel.values())
        self.controller.start(config, self.dataset, self._timeline(plan, config.momentum))
        self.tabs.setCurrentIndex(0)
        self._update_actions(starting=True)

    @Slot()
    def pause_or_resume(self) -> None:
        """Pause a running job, resume a paused one."""
        self.controller.send(Pause() if self.live.state == "running" else Resume())

    @Slot(str)
    def resume_run(self, run_dir: str) -> None:
        """Continue a stored run."""
        if not self.controller.training:
            self.controller.resume(run_dir)
            self.tabs.setCurrentIndex(0)
            self._update_actions(starting=True)

    # -- plots ---------------------------------------------------------------------------------

    @Slot()
    def redraw(self) -> None:
        """Redraw the plots that are on screen and changed, less often when that gets expensive."""
        started = time.perf_counter()
        self.live.refresh()
        if self.range_plot.isVisible():
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
            group_lrs = self.planned_group_lrs(plan, steps)
            self.lr.set_plan(steps, lrs if group_lrs is None else group_lrs)
        # During a run the preview shows unsent edits only; otherwise it would hide the applied curve.
        shown = self.controller.training and self.editor.dirty
        self.lr.set_preview(steps if shown else steps[:0], lrs if shown else lrs[:0])

    @Slot()
    def _forget_import(self) -> None:
        """The user changed the imported schedule: the editor's version is what will run."""
        self.imported = None

    @Slot(object)
    def keypoints_shown(self, keypoints) -> None:
        """Draggable markers for the selected free-form segment."""
        if keypoints is None:
            self.lr.hide_handles()
            return
        index, points = keypoints
        self.lr.show_handles(points, lambda point, step, lr: self.editor.move_keypoint(index, point, step, lr))

    def steps_per_epoch(self) -> int:
        """Steps per epoch of the run shown, else of a run with the current configuration (0 if unknown)."""
        batch_size = self.config_panel.values()["batch_size"]
        if self.live.per_epoch or self.dataset is None or not isinstance(batch_size, int):
            return self.live.per_epoch
        return training_batches_per_epoch(len(self.dataset.train_index), batch_size)

    @Slot(int)
    def _x_unit_changed(self, index: int) -> None:
        for plot in self.live.plots:
            plot.set_epochs(self.steps_per_epoch() if index == 1 else 0)

    @Slot(str)
    def open_run(self, run_dir: str) -> None:
        """Show a stored run in the training plots, read-only."""
        if self.controller.training:
            self.log.add("a run is in progress: its plots stay", "warning")
            return
        for plot in self.live.plots:
            plot.clear()
        self.live.show_run_name(f"{Path(run_dir).name} (read-only)")
        self.live.load_past(run_dir)
        self.tabs.setCurrentIndex(0)
        self.log.add(f"showing {Path(run_dir).name} (read-only)")

    @Slot(list)
    def compare_runs(self, run_dirs: list) -> None:
        """Overlay the loss and LR of several stored runs."""
        self.compare.show_runs([(Path(d).name, read_steps(d)) for d in run_dirs])
        self.log.add(f"comparing {len(run_dirs)} runs")

    # -- small helpers -----------------------------------------------------------------------------------

    def _warn(self, title: str, message: str) -> None:
        """Say what went wrong in the log and in a box that does not block the window."""
        self.log.add(f"{title}: {message}", "error")
        self.message_box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        self.message_box.setModal(False)
        self.message_box.show()

    def _update_actions(self, starting: bool = False) -> None:
        training = starting or self.controller.training
        self.start_action.setEnabled(self.dataset is not None and not training)
        for action in (self.pause_action, self.stop_action):
            action.setEnabled(training)
        self.pause_action.setText("Resume" if self.live.state == "paused" else "Pause")
        self.export_action.setEnabled(self.dataset is not None)
        self.open_action.setEnabled(not training)

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
            docks = [self.findChild(QDockWidget, name) for name in ("Dataset and configuration", "Schedule", "Log")]
            self.resizeDocks(docks[:2], [300, 480], Qt.Orientation.Horizontal)
            self.resizeDocks(docks[2:], [90], Qt.Orientation.Vertical)
        self.dataset_panel.set_recent(recent_folders(self.settings))
        self.x_unit.setCurrentIndex(int(self.settings.value("view/x_unit", 0)))
        self.smoothing.setValue(int(self.settings.value("view/smoothing", 20)))

    # -- Qt events ------------------------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(Path(u.toLocalFile()).is_dir() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        folders = [u.toLocalFile() for u in event.mimeData().urls() if Path(u.toLocalFile()).is_dir()]
        if folders:
            self.open_folder(folders[0])

    def closeEvent(self, event) -> None:
        """Save the layout and settings, stop the worker and wait for it (never destroy a running thread)."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("view/x_unit", self.x_unit.currentIndex())
        self.settings.setValue("view/smoothing", self.smoothing.value())
        save_config(self.settings, self.config_panel.values())
        self.settings.sync()
        if not self.controller.shutdown(timeout=60):
            self.log.add("the worker did not stop in time", "error")
        self.bridge.drain()
        super().closeEvent(event)

