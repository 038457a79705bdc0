"""The window's dataset actions: open a folder (the Open action, Recent, or a drop), show what was found,
and keep one dataset state on screen at a time."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QTimer, Slot

from engine.config import TrainConfig
from engine.schedules import RunSchedule, Timeline
from engine.schedules.plateau import cuts_kept
from engine.schedules.timeline import merged_spans
from engine.text import counted, edits_in_effect, images_used, whose

from . import dialogs
from .drafts import load_draft, save_draft
from .live_run import FOLLOWING
from .panels.schedule_editor import default_schedule
from .settings import remember_folder


def dropped_folders(mime) -> list[str]:
    """The local folders in a drag's mime data."""
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and Path(url.toLocalFile()).is_dir()] if mime.hasUrls() else []


def replanned(run_schedule: RunSchedule, timeline, next_run: int) -> str:
    """What the editor holds after a run whose schedule and edits were ``run_schedule``, ``timeline`` to train again in
    a next run of ``next_run`` steps."""
    # An attached run of 8800 steps was said to be trained again "as the run had it" in the window's run of 110.
    stretched = (f"; the run had {timeline.total_steps} steps, so Start stretches it to the next run's {next_run} "
                 "(set the epochs to train it at its own length)") if next_run and next_run != timeline.total_steps else ""
    cuts = run_schedule.plateau_cuts
    edits = len(run_schedule.edits) - cuts
    if len(timeline.pieces) == 1:  # every edit was undone
        return f"the run's {counted(edits, 'edit')} left its schedule as it began: the editor holds it, and Start trains it again{stretched}"
    in_effect = sum(record.edit.reason != "plateau" for record in run_schedule.in_effect())
    # Counted as the edit history lists them (the plateau rule's cuts are said apart): "its 2 edits" sat beside 4.
    made = f" with its {edits_in_effect(in_effect, edits)}" if in_effect else ""
    # An undone edit's steps are left out of the plan (Timeline.to_train_again): "as the run had them" alone was untrue.
    undone = " (less the steps of what it took back)" if merged_spans(run_schedule.taken_back()) else ""
    kept = f"; {cuts_kept(cuts)} (turn it on to let it react afresh)" if cuts else ""
    # In the next run's steps, as the editor shows the piece: "steps 0 to 21" beside "from step 27" once stretched; and
    # "as the run had them" named steps past where a stopped run ended.
    start = (timeline.stretched(next_run) if stretched else timeline).pieces[-1].start
    return (f"the editor holds the run's schedule{made}: steps 0 to {start} follow the run's{undone}, "
            f"then the piece shown; Start trains it again (change it, or use a preset, to plan afresh){kept}{stretched}")


class DatasetActions:
    """Mixed into MainWindow: uses its controller, dataset panel, editor, live run and log."""

    @Slot()
    def choose_folder(self) -> None:
        """Ask for a dataset folder and open it."""
        near = str(Path(self.dataset.summary.root).parent) if self.dataset is not None else None  # its siblings are likely datasets too
        folder = dialogs.ask_open_folder(self, "Open a dataset folder", near)
        if folder:
            self.open_folder(folder)

    @Slot(str)
    def open_folder(self, folder: str, typed: bool = False) -> None:
        """Open a dataset folder in the background; until it is open, no dataset is shown or trained. ``typed``: asked by
        a field being typed (the image size): its images are decoded once typing pauses, not at every digit."""
        if self.controller.busy:
            what = "a run" if self.controller.training else "a tune" if self.controller.tuning else "a range test"
            self.log.add(f"{what} is in progress: stop it (or let it end) before opening another dataset", "warning")
            return
        self.dataset = None
        self.show_title()
        self.dataset_panel.loading(folder)
        self.status.setText(f"opening {Path(folder).name}: reading and decoding its images…")  # not the last dataset's "next run"
        self.decoded_with, self.folder_to_open = self.decoding(), folder
        if typed:
            self.open_timer.start()  # each digit starts the wait again
        else:
            self.open_now()
        self._update_actions()

    @Slot()
    def open_now(self) -> None:
        """Start decoding the folder asked for last, at the size asked for last."""
        self.open_timer.stop()
        self.log.add(f"opening {self.folder_to_open}")
        self.opening = (self.folder_to_open, *self.decoded_with)
        self.controller.open_dataset(*self.opening)

    def superseded(self, end) -> bool:
        """Whether ``end`` (TaskDone or TaskFailed) is of an open asked before the last one: a size typed while the images
        decoded at another, that decode could end last, and the window would show and train its images beside a field
        that says otherwise."""
        return end.name == "open" and end.tag != self.opening

    def decode_again_as_typed(self) -> None:
        """The image size or memory budget was typed: the open dataset's images are decoded at it once typing pauses."""
        if self.dataset is not None:
            self.open_folder(str(self.dataset.summary.root), typed=True)
        elif self.open_timer.isActive() or self.controller.tasks.busy("open"):  # the decode under way is for another size
            self.open_folder(self.folder_to_open, typed=True)

    def decoding(self) -> tuple[int, int]:
        """The image size and memory budget the configuration asks the images to be decoded with."""
        values = self.config_panel.values()
        image_size, budget = values.get("image_size"), values.get("memory_budget_mb")
        return (image_size if isinstance(image_size, int) else 0, budget if isinstance(budget, int) else TrainConfig.memory_budget_mb)

    def decode_again_if_asked(self) -> bool:
        """Decode the open dataset again when the image size or memory budget changed since it was (typed during a run,
        which cannot change its data: the field said 16 px, the next Start trained on the 8 px images and recorded 16,
        and a resume then trained at 16; helper-72). Whether it does."""
        if self.dataset is None or self.controller.busy or self.decoding() == self.decoded_with:
            return False
        self.open_folder(str(self.dataset.summary.root))
        return True

    def dataset_failed(self, message: str) -> None:
        """The folder cannot be used: say why. The dataset open before stays open, as it was (a failed open cleared it,
        its run's plots and its tune); with none, nothing is shown (a run's curves under "no dataset" read as the new
        folder's)."""
        self.resume_when_open, self.start_when_open = None, False  # they were for the folder that failed
        kept = self.opened_dataset
        if kept is None:
            self.forget_run("the folder could not be opened")
            self.forget_tune()
            self.dataset_panel.show_error(message)
            self.status.setText("no dataset: open a folder of class subfolders with images (see the Problems list)")
            return
        self.dataset = kept.dataset
        self._display(kept)
        name = kept.dataset.summary.name
        self.show_next_run()
        self.log.add(f"{name} is still open", "warning")
        dialogs.show_error(self, "Cannot open the folder", f"{message} ({name} is still open)")

    def dataset_opened(self, opened) -> None:
        """Show the dataset and offer the schedules tuned for it."""
        summary = opened.dataset.summary
        # A run attached to, of another dataset, is shown too: its plots and history are not this dataset's.
        switched = bool({self.shown_fingerprint, self.live.dataset.get("fingerprint")} - {None, summary.fingerprint})
        if switched:
            self.forget_run(f"{summary.name} opened")
            self.forget_tune()
        self.dataset, self.shown_fingerprint, self.opened_dataset = opened.dataset, summary.fingerprint, opened
        # What they said was of the folder open before: "(digits is still open)" stayed over the next dataset (helper-66).
        for title in ("Cannot open the folder", "Cannot start"):
            dialogs.dismiss(self, title)
        self._display(opened)
        self.dataset_panel.set_recent(remember_folder(self.settings, summary.root))
        images = images_used(summary.found, summary.image_count)
        self.log.add(f"{summary.name}: {images}, {len(summary.classes)} classes, fingerprint {summary.fingerprint}")
        if opened.library:
            count = len(opened.library)
            self.log.add(f"{count} schedule{'s' if count != 1 else ''} tuned for this dataset {'are' if count != 1 else 'is'} "
                         "in the library (File → Schedules tuned for this dataset, or the arrow beside Import, loads one)")
        for warning in opened.dataset.warnings:
            self.log.add(warning, "warning")
        drafted = self.restore_draft(switched)
        self.editor.set_run_length(self.run_length())
        self.show_next_run()
        self.show_tune_plan()
        self.show_model_groups(preset=not drafted)  # a fine-tune's preset replaced the dataset's draft on every open
        self.apply_x_unit()
        if self.resume_when_open is not None:
            run_dir, self.resume_when_open = self.resume_when_open, None
            self.resume_now(run_dir)  # not resume_run: a folder changed since the run would be opened again and again
        elif self.start_when_open:
            self.start_when_open = False
            QTimer.singleShot(300, self.start_run)

    def _display(self, opened) -> None:
        """The dataset panel and the title show ``opened`` (the dataset just made ``self.dataset``)."""
        self.dataset_panel.show_dataset(opened.dataset, opened.thumbnails)
        self.refresh_library()  # read as the File menu reads it, not as the open found it before the images were decoded
        self.show_title()

    def show_title(self) -> None:
        """The title names the open dataset and, while the window follows a run of another one, that run's dataset:
        attached to a run of camera2, the title and the Dataset tab said digits beside camera2's curves."""
        summary = self.dataset.summary if self.dataset is not None else None
        opened = f"{summary.name} ({summary.root})" if summary is not None else ""
        trains = self.live.dataset if self.live.state in FOLLOWING else {}
        if trains.get("fingerprint") in (None, getattr(summary, "fingerprint", None)):
            self.setWindowTitle(f"lrscope — {opened}" if opened else "lrscope")
            self.dataset_panel.show_followed("")
            return
        other = f"{trains.get('name', 'another dataset')} ({trains.get('root', 'its folder is not known')})"
        self.setWindowTitle(f"lrscope — following run {self.live.run_id}: {other}" + (f" · open: {opened}" if opened else ""))
        self.dataset_panel.show_followed(f"The run followed trains <b>{html.escape(other)}</b>, not the dataset below: the "
                                         "plots, log and Export are the run's; Start trains the dataset below.")

    def restore_draft(self, switched: bool) -> bool:
        """Show the schedule last drafted for this dataset (it is stretched to the run next); whether there was one. A
        dataset without one starts from lrscope's default when another dataset's (or run's) was shown: a schedule tuned
        for one dataset is never carried silently to the next (importing it from that dataset's library asks first)."""
        if self.controller.training:
            return False
        kept = load_draft(self.settings, self.dataset.summary.fingerprint)
        draft = None if kept is None else kept.timeline
        self.loaded_groups = None if draft is None else draft.pieces[-1].groups
        if draft is not None:
            last = draft.pieces[-1]
            self.imported = draft if len(draft.pieces) > 1 else None  # a run's schedule with its edits runs as it is
            self.draft_tuned_on = kept.tuned_on  # before the editor shows it: what it shows is kept as a draft again
            self.editor.load(last.schedule, last.origin, last.groups, draft.plateau, last.start)
            if kept.tuned_on:
                self.log.add(f"{whose(self.dataset.summary.name)} draft in the editor is {kept.tuned_on}, not one tuned on "
                             f"{self.dataset.summary.name}: a range test or a tune checks it for this dataset", "warning")
        elif switched:
            self.imported = None
            self.draft_tuned_on = ""
            self.editor.load(default_schedule())  # stretched to the run next
            # "draft": "no schedule of its own" came just after "1 schedule tuned for this dataset is in the library"
            self.log.add(f"{self.dataset.summary.name} has no draft of its own in the editor yet: it starts from lrscope's default, "
                         f"{TrainConfig.shape} peaking at {TrainConfig.lr:g} (the schedule shown before is not carried over)")
        return draft is not None

    def back_to_the_open_dataset(self) -> bool:
        """After a run of another dataset (one attached to, served from elsewhere): the editor shows the open dataset's
        own schedule again. It showed the run's, and Start trained the open dataset with it, without a word. Whether it
        was such a run."""
        trained_on = self.live.dataset.get("fingerprint")
        if self.dataset is None or trained_on in (None, self.dataset.summary.fingerprint):
            return False
        drafted = self.restore_draft(switched=True)
        self.editor.set_run_length(self.run_length())
        self.show_model_groups(preset=not drafted)  # the preset replaced the draft just put back (helper-123)
        self.log.add(f"{self.run_let_go()} trained {self.live.dataset.get('name', 'another dataset')}: the editor is back to "
                     f"{whose(self.dataset.summary.name)} schedule")
        return True

    def after_a_run(self) -> None:
        """What the editor holds once a run is no longer followed: after the window's own run, the run's schedule to
        train again, when it has edits and fits the configured model, and the groups of a model chosen during the run;
        after a run followed from elsewhere, or a stored run resumed, the open dataset's own plan and the configured
        model's groups, as before attaching or resuming.
        (Detached, the editor held the followed run's schedule squeezed into the window's run, and the plan from before
        attaching, a tune's winner, was gone; after a resumed run of another model, the Groups tab kept its groups.)"""
        if self.controller.remote:
            self.back_to_the_window_plan()
            if self.dataset is not None:  # the followed run's "epoch 10/100 · step 203/2200" stayed, as if still live
                self.show_next_run()
            return
        replanned = self.plan_the_run_again()
        if self.controller.resumed:
            if not replanned:
                self.back_to_the_window_plan()
        elif replanned or not self.back_to_the_open_dataset():
            self.groups_of_the_model_chosen(preset=not replanned)

    def groups_of_the_model_chosen(self, preset: bool) -> None:
        """A model chosen during the window's own run is the next run's: its groups, which waited for the run to end, are
        shown now (the Groups tab kept the run's, and Start trained resnet18 beside the small CNN's table). ``preset``:
        a fine-tune configured gets its preset, unless the run's schedule was just put back to train again."""
        chosen = self.config_panel.values()["model"]
        if self.live.config.get("model") in (None, chosen):
            return
        self.show_model_groups(preset=preset)
        self.log.add(f"{chosen}, chosen during the run, is the next run's model: the Groups tab shows its groups")

    def run_let_go(self) -> str:
        """The run the window no longer follows, as its messages name it: "the run followed" was said of a stored run
        resumed from the Runs tab, as of one attached to."""
        if self.controller.remote:
            return "the run followed"
        return "the run resumed" if self.controller.resumed else "the last run"

    def back_to_the_window_plan(self) -> None:
        """The editor and the group table show what Start trains next: the open dataset's draft and the configured model's
        groups (not those of the run just followed, which came from elsewhere or from a stored run)."""
        shown = self.groups_shown()
        if not self.back_to_the_open_dataset() and self.dataset is not None:
            self.show_model_groups(preset=not self.restore_draft(switched=True))
            self.log.add(f"the editor shows {whose(self.dataset.summary.name)} own schedule again: Start trains it (Export "
                         f"still writes {self.run_let_go()}; import that file to train its schedule here)")
        if self.groups_shown() != shown:  # after a resumed run of another model the table changed without a word
            self.log.add(f"the Groups tab shows {whose(self.config_panel.values()['model'])} groups again: Start trains them "
                         f"({self.run_let_go()} trained {whose(self.live.config.get('model', 'another model'))})")

    def groups_shown(self) -> list[tuple[str, int]]:
        """The groups the Groups tab lists, each with its size."""
        return [(row.name, row.parameters) for row in self.group_table.draft.rows]

    def plan_the_run_again(self) -> bool:
        """After a run with edits, the editor holds the run's schedule with its edits (as Export writes it), and Start
        trains it again until it is edited. It held the last piece alone, and Start stretched that over the next run:
        a Set LR 0.01 at step 145 of 220 trained the next run at 0.01 from step 0. Whether it did."""
        run = self.last_run
        if self.dataset is None or run is None or run.dataset.get("fingerprint") != self.dataset.summary.fingerprint:
            return False
        timeline = run.run_schedule.timeline
        if len(timeline.pieces) < 2:
            return False
        if problem := self.drives_other_groups(timeline):  # a run of another model, followed: the window's cannot train it
            self.log.add(f"{self.run_let_go()} trained {run.config.model}, and its schedule cannot train the configured "
                         f"{self.config_panel.values()['model']} ({problem})")
            return False
        timeline = run.run_schedule.to_train_again()
        self.install_timeline(timeline)
        self.planned_after_run = False  # Export still writes the run, with its results
        self.log.add(replanned(run.run_schedule, timeline, self.run_length()))
        return True

    @Slot()
    def draft_replaced(self) -> None:
        """A preset replaced the editor's schedule: the draft is no longer the one imported from another dataset."""
        self.draft_tuned_on = ""

    @Slot()
    def keep_draft(self) -> None:
        """Remember the editor's schedule for this dataset, with each group's setting as the group table has it (not
        during a run: the editor then shows the run's)."""
        if self.dataset is None or self.controller.training:
            return
        try:
            plan = self.editor.plan()
        except ValueError:
            return
        self.loaded_groups = self.starting_groups(plan)
        self.save_as_draft(self.imported or Timeline.of(plan.schedule, groups=self.loaded_groups, plateau=plan.plateau))
        self.planned_after_run = True

    def save_as_draft(self, timeline) -> None:
        """``timeline`` as the open dataset's draft (not during a run: the editor then shows the run's)."""
        if self.dataset is not None and not self.controller.training:
            save_draft(self.settings, self.dataset.summary.fingerprint, timeline, self.draft_tuned_on)
