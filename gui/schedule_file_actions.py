"""The window's schedule-file actions: export the tuned schedule, import one (warning on another dataset)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Slot

from engine.commands import EditSchedule
from engine.config import TrainConfig
from engine.data.split import training_batches_per_epoch
from engine.errors import LrscopeError, cannot_write
from engine.export import run_metrics, unmeasured_note
from engine.schedules import ReplaceRest, ReplaceRestWithPlan, Revise, RunSchedule
from engine.schedules.model_match import model_differences
from engine.schedules.plateau import cuts_kept
from engine.text import counted, edits_in_effect, whose

from . import dialogs, schedule_io


@dataclass(frozen=True)
class Tuned:
    """A schedule to export: what it is (in the user's words), and the run settings and dataset it is tuned for."""

    what: str
    run_schedule: RunSchedule
    config: TrainConfig
    dataset: dict
    per_epoch: int
    metrics: dict | None
    groups: tuple[str, ...]  # the model's parameter groups: a per-group schedule is read by their names
    search: dict | None = None  # the record of the tune that chose it
    range_test: dict | None = None  # the window's last range test, when it measured what this schedule trains

    def weights(self) -> str:
        """What the model started from, as `lrscope train` records it: without it a window fine-tune's file said
        "random initialization", and `train --pretrained --schedule` refused it."""
        from engine.models.setup import weights_label  # imports torch: the window opens before it is needed

        return weights_label(self.config.model, self.config.pretrained, self.config.weights)


class ScheduleFileActions:
    """Mixed into MainWindow: uses its dataset, runs, editor, log and dialogs."""

    @Slot()
    def export_tuned(self) -> None:
        """Ask where, then write the tuned schedule (the running or last run's, or the editor's newer plan) for its dataset."""
        if self.dataset is None or (tuned := self._tuned_or_say()) is None:
            return
        # Named for the dataset the schedule is tuned for: a resumed run may have trained on another than the one open.
        path = dialogs.ask_schedule_path(self, f"Export {tuned.what}", f"{tuned.dataset['name']}.lrschedule.json")
        # What stands once the user chose where: a run that ended while the dialog was open was written as it stood at
        # Ctrl+E, "best val 38.83% so far, at step 50" of a run that finished at 98.04%.
        if path and (tuned := self._tuned_or_say()) is not None:
            self.write_tuned(Path(path), tuned)

    def _tuned_or_say(self) -> Tuned | None:
        """What Export writes now, or None after saying why nothing can be."""
        try:
            return self._tuned()
        except (ValueError, LrscopeError) as error:
            self.warn("Cannot export", str(error))
            return None

    @Slot(str)
    def export_stored_run(self, run_dir: str) -> None:
        """The Runs tab's Export…: a stored run's schedule, as `lrscope show RUN --export-schedule` writes it (Export
        while a run was shown read-only wrote the editor's schedule, of the dataset open)."""
        from engine.stored_export import stored_run_document

        name = Path(run_dir).name
        try:
            document = stored_run_document(Path(run_dir))
        except LrscopeError as error:
            self.warn("Cannot export", str(error))
            return
        path = dialogs.ask_schedule_path(self, f"Export run {whose(name)} schedule",
                                         f"{(document.get('dataset') or {}).get('name', 'run')}.lrschedule.json")
        if not path:
            return
        try:
            written, library = schedule_io.write_document(Path(path), document)
        except OSError as error:
            self.warn("Cannot export", cannot_write(Path(path), error))
            return
        self.log.add(f"run {whose(name)} schedule written to {written} and {library}")
        self._say_unmeasured(document.get("metrics"))
        self.refresh_library()

    def write_tuned(self, path: Path, tuned: Tuned) -> Path | None:
        """Write the schedule file and add it to the library; the written path, or None after saying why not."""
        try:
            written, library = schedule_io.export_schedule(path, tuned.run_schedule, tuned.config, tuned.dataset, tuned.per_epoch,
                                                           tuned.metrics, tuned.range_test, search=tuned.search,
                                                           groups=tuned.groups, weights=tuned.weights())
        except OSError as error:
            self.warn("Cannot export", cannot_write(path, error))
            return None
        except (ValueError, LrscopeError) as error:
            self.warn("Cannot export", str(error))
            return None
        self.log.add(f"{tuned.what} written to {written} and {library}")
        self._say_unmeasured(tuned.metrics)
        self.refresh_library()
        return written

    def _say_unmeasured(self, metrics: dict | None) -> None:
        """A schedule whose run never validated is said to be untried."""
        if note := unmeasured_note(metrics):
            self.log.add(f"note: {note}", "warning")

    def _tuned(self) -> Tuned:
        """What to export: the followed run's schedule; else the editor's plan when it was changed after the last run
        (the winner of a tune, a range-test suggestion, an import, the user's edits: what the editor shows is what the user
        means); else the last run's schedule with its edits; else the editor's plan."""
        if self.controller.training and self.live.run_schedule is not None:
            return Tuned("the running schedule", self.live.run_schedule, TrainConfig.from_dict(self.live.config), self.live.dataset,
                         self.live.per_epoch, self.live.metrics_so_far(), self.live.groups,
                         range_test=self._range_test_of(self.live.run_id, before_it=not self.controller.attached))
        if self.last_run is not None and not self.planned_after_run:
            run = self.last_run
            metrics = run_metrics(run.outcome.run_id, run.outcome.best_val_accuracy, run.outcome.val_accuracy, run.outcome.val_loss, run.outcome.step)
            # Those in effect: an edit and its undo read "2 edits" of a schedule they left as it was; and the ones made,
            # when they differ: a run of 10 edits, most undone, read "(0 edits)".
            edits = edits_in_effect(len(run.run_schedule.in_effect()), len(run.run_schedule.edits))
            return Tuned(f"the last run's schedule ({edits})", run.run_schedule, run.config, run.dataset, run.steps_per_epoch, metrics,
                         run.outcome.groups, range_test=self._range_test_of(run.outcome.run_id, before_it=not self.controller.remote))
        config, plan = self._config()
        per_epoch = training_batches_per_epoch(len(self.dataset.train_index), config.batch_size)
        return Tuned("the editor's schedule", RunSchedule(self._timeline(plan, config.momentum)), config,
                     self.dataset.summary.to_dict(), per_epoch, None, self.group_table.draft.names, self.editor_search,
                     self.last_range_test)

    def _range_test_of(self, run_id: str, before_it: bool) -> dict | None:
        """The last range test when it measured the run ``run_id``, or fresh weights before it (``before_it``: the
        window's own run, which such a test advised). A run attached to was not, while followed or after: its export
        carried the window's own test of another configuration, and its file warned of a test it had nothing to do with."""
        tested = self.range_test_of[0]
        return self.last_range_test if tested == run_id or (before_it and tested is None) else None

    @Slot()
    def import_schedule(self) -> None:
        """Ask for a schedule file and load it into the editor."""
        path = dialogs.ask_open_schedule(self, "Import schedule")
        if path:
            self.import_file(path)

    @Slot(str)
    def import_file(self, path: str) -> bool:
        """Load a schedule file into the editor, warning (and asking) when it was tuned for another dataset."""
        following = self.controller.training and bool(self.live.dataset)  # the file goes to that run, trained as it is
        dataset = self.live.dataset if following else self.dataset.summary.to_dict() if self.dataset is not None else None
        try:
            loaded, differences = schedule_io.read_schedule(Path(path), dataset)
        except LrscopeError as error:
            self.warn("Cannot import", str(error))
            return False
        if problem := self.drives_other_groups(loaded.timeline):  # "use it anyway?" was a choice with no working answer
            tuned = (loaded.context or {}).get("model")
            self.warn("Cannot import", f"{path}: {problem}. Set the model{f' to {tuned}' if tuned else ''} in the "
                      "Configuration panel, as the schedule was tuned, then import it again")
            return False
        model = self._model_differences(loaded, following)
        same_images = dataset is not None and (loaded.dataset or {}).get("fingerprint") == dataset.get("fingerprint")
        other = tuned_for(bool(differences), same_images, bool(model))
        differences += model
        for warning in loaded.warnings:  # before the question: its "tuned on '?'" is explained by one of them
            self.log.add(f"{path}: {warning}", "warning")
        if differences and not dialogs.ask_yes_no(
                self, f"Schedule tuned {other}",
                f"This schedule was tuned {other}. A schedule fits the data and the model it was tuned on: use it anyway?",
                "\n".join(differences)):
            self.log.add(f"import of {path} cancelled: it was tuned {other}")
            return False
        for line in differences:
            self.log.add(f"imported schedule: {line}", "warning")
        timeline = loaded.for_run(self.run_length() or loaded.timeline.total_steps)
        self.install_timeline(timeline, tuned_on=tuned_elsewhere(loaded.dataset, path) if differences and not same_images else "")
        self.imported_mid_run = timeline if self.controller.training and len(timeline.pieces) > 1 else None
        kept = f"; {cuts_kept(loaded.plateau_cuts)}" if loaded.plateau_cuts else ""
        batch = self.config_panel.values()["batch_size"]  # the window trains on one process
        batch_note = loaded.batch_note(batch) if isinstance(batch, int) else ""
        self.log.add(f"imported {path}: {timeline.total_steps} steps{loaded.stretch_note(timeline.total_steps)}{batch_note}, "
                     f"{counted(len(loaded.edits), 'edit')}{kept}")
        return True

    @Slot(object)
    def send_edit(self, edit) -> None:
        """Send the editor's edit to the run. *Apply from now* of a file of several pieces imported during the run sends
        the whole plan, stretched over the steps left: the editor shows its last piece, and that alone replaced (or
        revised) the rest (the file's one-cycle before its Set LR was dropped)."""
        plan = self.imported_mid_run
        if isinstance(edit, (ReplaceRest, Revise)) and plan is not None:
            edit = ReplaceRestWithPlan.of(plan)
            self.imported_mid_run = None
        if not self._length_kept_or_agreed(edit):
            self.log.add(f"not applied: the run keeps its {self.live.total} steps; the editor still holds the schedule")
            return
        self.controller.send(EditSchedule(edit))

    def _length_kept_or_agreed(self, edit) -> bool:
        """Whether ``edit`` keeps the run's length, or the user agreed to the new one: a segment's steps changed in the
        editor ended the run at step 678 instead of 890, with nothing said but the editor's header (helper-79)."""
        total, per_epoch = self.live.total, max(1, self.live.per_epoch)
        if isinstance(edit, Revise):
            end, near = self.editor.origin + edit.schedule.total_steps, ""
        elif isinstance(edit, ReplaceRest) and not edit.fit_rest:  # from the step it lands at, a step or two from now
            end, near = self.live.step + edit.schedule.total_steps, "about "
        else:
            return True
        if not total or end == total:
            return True
        return dialogs.ask_yes_no(self, "Change the run's length?",
                                  f"This schedule ends the run at {near}step {end} (epoch {end / per_epoch:.3g}) instead of step "
                                  f"{total} (epoch {total / per_epoch:.3g}). Apply it?",
                                  "Its segments' steps add up to another length than the run's. To keep the run's length, answer "
                                  "No and make them end at the run's last step (the editor's header shows both).")

    def _model_differences(self, loaded, following: bool) -> list[str]:
        """How the model, groups, weights and optimizer the file was tuned with differ from the followed run's
        (``following``) or the configured ones (none while the configuration is invalid: it says so itself)."""
        from engine.models.setup import weights_label  # imports torch: the window opens before it is needed

        if following:  # an attached run's settings, not this window's (it compared 32 px with the run's 16)
            config, names = TrainConfig.from_dict(self.live.config), self.live.groups
        elif self.dataset is None:
            return []
        else:
            try:
                config = self.config_panel.config(data=self.dataset.summary.root)
                names = tuple(name for name, _ in self._outline(config.model, config.pretrained))
            except (ValueError, LrscopeError):
                return []
        return model_differences(loaded.context, config.model, names, weights_label(config.model, config.pretrained, config.weights),
                                 config.optimizer)

    def install_timeline(self, timeline, tuned_on: str = "") -> None:
        """Show ``timeline`` in the editor (its last piece); one with earlier pieces (a run's edits) runs as it is until edited.
        ``tuned_on``: which other dataset's schedule it is, as its draft keeps it ("": this dataset's own plan)."""
        self.draft_tuned_on = tuned_on
        last = timeline.pieces[-1]
        self.imported = timeline if len(timeline.pieces) > 1 else None  # before the editor draws it: the plan is all of it
        self.editor.load(last.schedule, last.origin, last.groups, timeline.plateau, last.start)
        self.loaded_groups = last.groups  # the file's head ×3 goes to the group table, and so into the run
        # Not the preset: with a fine-tune configured it replaced what was just installed (the run's edits after a run,
        # an import, a tune's winner), while the log said the editor held it (helper-77).
        self.show_model_groups(preset=False)
        self.keep_draft()


def tuned_elsewhere(dataset: dict | None, path: str) -> str:
    """Where a schedule of another dataset came from, as the draft keeps it and the log says it on a relaunch."""
    dataset = dataset or {}
    if not dataset:
        return f"a schedule that does not say which dataset it was tuned on, imported from {path}"
    return f"a schedule tuned on {str(dataset.get('name', '?'))!r} (fingerprint {dataset.get('fingerprint', '?')}), imported from {path}"


def tuned_for(data_differs: bool, same_images: bool, model_differs: bool) -> str:
    """How the schedule's origin differs, for the question's title: the same images at another size were called
    "another dataset"."""
    data = ["at another image size" if same_images else "for another dataset"] if data_differs else []
    return " and ".join(data + (["for another model or optimizer"] if model_differs else []))
