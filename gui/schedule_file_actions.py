"""The window's schedule-file actions: export the tuned schedule, import one (warning on another dataset)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.config import TrainConfig
from engine.data.split import training_batches_per_epoch
from engine.errors import LrscopeError
from engine.schedules import RunSchedule

from . import schedule_io


class ScheduleFileActions:
    """Mixed into MainWindow: uses its dataset, runs, editor, log and dialogs."""

    @Slot()
    def export(self, path: str | None = None) -> Path | None:
        """Write the tuned schedule of the last run (or the editor's plan) for this dataset."""
        if self.dataset is None:
            return None
        if path is None:
            suggested = str(Path.home() / f"{self.dataset.summary.name}.lrschedule.json")
            path, _ = QFileDialog.getSaveFileName(self, "Export tuned schedule", suggested, "lrscope schedule (*.json)")
            if not path:
                return None
        try:
            run_schedule, config, dataset, per_epoch, metrics = self._tuned()
            written, library = schedule_io.export_schedule(Path(path), run_schedule, config, dataset, per_epoch, metrics, self.last_range_test)
        except (ValueError, OSError, LrscopeError) as error:
            self._warn("Cannot export", str(error))
            return None
        self.log.add(f"tuned schedule written to {written} and added to the library ({library.parent.name})")
        self.dataset_panel.show_library(schedule_io.library_entries(self.dataset)[0])
        return written

    def _tuned(self):
        """What to export, and the dataset it is tuned for: the followed run's schedule, else the last run's, else the editor's plan."""
        if self.controller.training and self.live.run_schedule is not None:
            return self.live.run_schedule, TrainConfig.from_dict(self.live.config), self.live.dataset, self.live.per_epoch, None
        if self.last_run is not None:
            run = self.last_run
            metrics = {"best_val_accuracy": run.outcome.best_val_accuracy, "val_accuracy": run.outcome.val_accuracy,
                       "val_loss": run.outcome.val_loss, "steps": run.outcome.step}
            return run.run_schedule, run.config, run.dataset, run.steps_per_epoch, metrics
        config, plan = self._config()
        per_epoch = training_batches_per_epoch(len(self.dataset.train_index), config.batch_size)
        return RunSchedule(self._timeline(plan, config.momentum)), config, self.dataset.summary.to_dict(), per_epoch, None

    @Slot()
    def import_(self, path: str | None = None) -> bool:
        """Load a schedule file into the editor, warning (and asking) when it was tuned for another dataset."""
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Import schedule", str(Path.home()), "lrscope schedule (*.json)")
            if not path:
                return False
        try:
            loaded, differences = schedule_io.read_schedule(Path(path), self.dataset)
        except LrscopeError as error:
            self._warn("Cannot import", str(error))
            return False
        if differences and not self.ask("Schedule tuned for another dataset",
                                        "This schedule was tuned for another dataset. A schedule is dataset-specific: use it anyway?",
                                        "\n".join(differences)):
            self.log.add(f"import of {path} cancelled: it was tuned for another dataset")
            return False
        for line in differences:
            self.log.add(f"imported schedule: {line}", "warning")
        timeline = loaded.for_run(self.run_length() or loaded.timeline.total_steps)
        last = timeline.pieces[-1]
        self.editor.load(last.schedule, last.origin, last.groups, timeline.plateau)
        self.imported = timeline if len(timeline.pieces) > 1 else None
        self.log.add(f"imported {path}: {timeline.total_steps} steps, {len(loaded.edits)} edits")
        return True

    def ask(self, title: str, text: str, details: str) -> bool:
        """A yes/no question with details (tests replace it)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setDetailedText(details)
        box.setInformativeText(details.splitlines()[0] if details else "")
        return box.exec() == QMessageBox.StandardButton.Yes

