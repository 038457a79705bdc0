"""The window's fine-tuning: the group table (before a run, the groups it starts with, previewed per group on the LR
plot; during a run, edits from the current step), *Unfreeze all now*, and the fine-tuning preset the configuration asks for."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from PySide6.QtCore import Slot

from engine.commands import EditSchedule
from engine.config import PRETRAINED_LR, TrainConfig
from engine.errors import LrscopeError
from engine.schedules import SetGroups, Timeline, Unfreeze
from engine.schedules.groups import EVERY_GROUP, GroupMismatch, resolve
from engine.schedules.presets import peak_lr, preset_of
from engine.schedules.pretrained_peak import pretrained_peak_warning
from engine.training.start_schedule import fine_tuning, starting_timeline

from .live_run import TERMINAL

FINE_TUNING_FIELDS = ("model", "pretrained", "freeze_epochs", "epochs", "batch_size")


class FineTuningActions:
    """Mixed into MainWindow: uses its controller, bridge, config panel, editor, LR plot and log."""

    def _connect_group_table(self) -> None:
        self.group_table.groupsEdited.connect(self.groups_edited)
        self.group_table.unfreezeRequested.connect(self.unfreeze_now)
        self.bridge.runStarted.connect(self.groups_run_started)
        self.bridge.scheduleChanged.connect(self.groups_schedule_changed)
        self.bridge.stepsLogged.connect(self.groups_steps)
        self.bridge.stateChanged.connect(self.groups_state_changed)
        self.editor.others.editingFinished.connect(self.others_edited)

    def _outline(self, model: str, pretrained: str) -> list[tuple[str, int]]:
        """The model's groups and their sizes for the open dataset (built on the meta device: nothing is read)."""
        from engine.models.setup import group_outline  # imports torch: the window opens before it is needed

        summary = self.dataset.summary
        return group_outline(model, channels=summary.channels, classes=len(summary.classes),
                             resolution=summary.resolution, pretrained=pretrained)

    def show_model_groups(self, keep_table: bool = False, preset: bool = True) -> None:
        """The configured model's groups; with a fine-tuning configuration the editor gets its preset to edit, unless
        ``preset`` is False (a plan of the user's was just put back: Detach with a fine-tune configured replaced it with
        the preset). With ``keep_table`` (a setting changed, not the dataset), the table keeps what was typed into it for
        the same groups: a change of epochs set an edited head ×3 back to ×1 without a word."""
        if self.dataset is None or self.controller.training:
            return
        try:
            config = self.config_panel.config(data=self.dataset.summary.root)
            if config.pretrained:  # as on the command line: pretrained weights start at their own, smaller peak LR
                config = replace(config, lr=PRETRAINED_LR)
            outline = self._outline(config.model, config.pretrained)
        except (ValueError, LrscopeError) as error:
            self.group_table.problem.setText(str(error))
            return
        self.group_table.problem.clear()
        self._say_weights_to_fetch(config)
        names = tuple(name for name, _ in outline)
        leaving = self.fine_tuning_shown and not fine_tuning(config)
        self.fine_tuning_shown = fine_tuning(config)
        if fine_tuning(config) and preset:
            self._load_preset(config, outline)
            plan = self.shown_plan()
        else:
            if preset:
                self._peak_for_weights(bool(config.pretrained))
            plan = self.shown_plan()
            if plan is not None:  # leaving fine-tuning drops the preset's frozen spans: they froze groups until step 22
                self.group_table.show_groups(outline, self._table_settings(keep_table and not leaving, names, plan))
            if leaving:
                self.log.add("no fine-tuning: every group trains from the start at the schedule's LR")
        if plan is not None:
            self.preview(plan)

    def _say_weights_to_fetch(self, config) -> None:
        """Weights that Start must download are said as they are chosen: on a machine without a network, the window
        said that they were missing only at Start."""
        from engine.models.setup import weights_to_fetch  # imports torch, as _outline does

        line = weights_to_fetch(config.model, config.pretrained)
        if line and line != self.fetch_said:
            self.log.add(line, "warning")
        self.fetch_said = line

    def _peak_for_weights(self, pretrained: bool) -> None:
        """Pretrained weights move the editor's preset from the default peak LR to theirs, as the command line's default
        follows --pretrained (at the window's 0.2 a pretrained MobileNetV2 went to chance); random weights move it back
        only if it is still the plan this moved it to. A peak the user typed stays: unticking took a typed 0.02 to 0.2."""
        if pretrained == self.weights_shown:  # only a change of weights acts
            return
        self.weights_shown = pretrained
        plan = self.shown_plan()
        shape = preset_of(plan.schedule) if plan is not None and not plan.origin else None
        moved, self.peak_moved_to = self.peak_moved_to, None
        if shape is None:
            return
        at_default = math.isclose(peak_lr(plan.schedule), TrainConfig.lr)
        if (pretrained and not at_default) or (not pretrained and plan.schedule != moved):
            return
        old, new = (TrainConfig.lr, PRETRAINED_LR) if pretrained else (PRETRAINED_LR, TrainConfig.lr)
        self.editor.install_preset(shape, new)
        if pretrained:
            self.peak_moved_to = self.shown_plan().schedule
        self.log.add(f"{'pretrained' if pretrained else 'random'} weights: the plan's peak LR is now {new:g} (it was "
                     f"{old:g}), as on the command line")

    def fine_tune_preset_at(self, lr: float) -> bool:
        """With a fine-tuning configuration, its preset (the head alone, then every group) peaking at ``lr``, as
        `lrscope range-test --export-schedule` writes it; whether the configuration is one. "Use as one-cycle max LR"
        put one cycle over the whole run, and the groups unfrozen half way started in its decay, with no warm-up."""
        if self.dataset is None:
            return False
        try:
            config = self.config_panel.config(data=self.dataset.summary.root)
        except (ValueError, LrscopeError):
            return False
        if not fine_tuning(config):
            return False
        self._load_preset(replace(config, lr=lr), self._outline(config.model, config.pretrained))
        if (plan := self.shown_plan()) is not None:
            self.preview(plan)
        return True

    def _load_preset(self, config, outline: list[tuple[str, int]]) -> None:
        """The fine-tuning preset of ``config`` in the editor and the group table, as the schedule Start trains: a run's
        schedule left to train again (``imported``) trained instead, while the editor showed the preset."""
        # The next run's epochs, not the run shown's: after a 2-process run "1 epoch" froze the head for half of one.
        piece = starting_timeline(config, self.next_steps_per_epoch(), tuple(name for name, _ in outline)).pieces[0]
        shown = self.shown_plan()
        changed = self.imported is not None or shown is None or shown.schedule != piece.schedule or \
            self.group_table.draft.settings() != piece.groups
        self.imported = self.editor_search = None
        self.draft_tuned_on = ""
        self.group_table.show_groups(outline, piece.groups)
        self.editor.load(piece.schedule)
        # The dataset's draft from now on: decoding the images again at another size brought the draft from before the
        # preset back, its freeze span too, while the field kept the new freeze epochs (helper-123).
        self.save_as_draft(Timeline.of(piece.schedule, groups=piece.groups))
        if changed:  # once: a setting typed again with the same preset said it again
            self.log.add(f"fine-tuning preset in the schedule editor (it replaces the schedule there): the head alone for "
                         f"{config.freeze_epochs} epoch(s), then every group; edit it in the editor and the group table")

    def _table_settings(self, keep_table: bool, names: tuple[str, ...], plan):
        """What the group table shows for the model's groups ``names``: what was typed into it (``keep_table``), else the
        plan last loaded (the dataset's draft, an imported file) when it names these groups, else the editor's "other
        groups ×" and head."""
        if keep_table and self.group_table.draft.names == names:
            return self.group_table.draft.settings()
        if self.loaded_groups is not None:
            try:
                return resolve(self.loaded_groups, names)
            except GroupMismatch:  # drafted for another model
                pass
        return plan.groups

    def shown_plan(self):
        """The editor's plan, or None when a field of it is invalid (the editor then says which: the plan is the user's
        to mend, and nothing should be drawn or sent from it meanwhile)."""
        try:
            return self.editor.plan()
        except ValueError as error:
            self.editor.show_problem(str(error))
            return None

    def starting_groups(self, plan):
        """The group settings a run starts with: the group table's when it shows the model's groups."""
        return self.group_table.draft.settings() if self.group_table.draft.rows else plan.groups

    def planned_group_lrs(self, timeline, steps: np.ndarray) -> tuple[tuple[str, ...], np.ndarray] | None:
        """The groups (named as the table) and the LR of each (columns) at ``steps`` of ``timeline``, or None before
        the groups are known."""
        if not self.group_table.draft.rows:
            return None
        names = self.group_table.draft.names
        if mismatch(timeline, names):  # the head's LR alone: a per-group plot raised, and left the window stuck
            return None
        return names, timeline.group_lrs(steps, names)

    def pretrained_peak(self, timeline) -> str:
        """The warning a fine-tune from pretrained weights gives before its first step when ``timeline`` takes a
        pretrained group far above the fine-tuning default (the run's own rule); "" when it would not, or before the
        model's groups are known."""
        if not self.config_panel.values()["pretrained"] or not self.group_table.draft.rows:
            return ""
        names = self.group_table.draft.names
        return "" if mismatch(timeline, names) else pretrained_peak_warning(timeline, names)

    def drives_other_groups(self, timeline) -> str:
        """Why ``timeline`` cannot train the configured model's groups (a schedule of another model: a followed run's, a
        file's), or "" when it can, or the configuration is invalid (it says so itself). The table is not asked: while a
        run is followed it shows the run's groups."""
        if self.dataset is None:
            return ""
        try:
            config = self.config_panel.config(data=self.dataset.summary.root)
            names = tuple(name for name, _ in self._outline(config.model, config.pretrained))
        except (ValueError, LrscopeError):
            return ""
        return mismatch(timeline, names)

    @Slot(object)
    def groups_edited(self, settings) -> None:
        """A cell of the group table changed: the running job gets it from now on, otherwise the preview follows."""
        if self.controller.training:
            self.controller.send(EditSchedule(SetGroups(tuple(settings))))
        elif (plan := self.shown_plan()) is not None:
            self.preview(plan)
            self.keep_draft()  # a typed head ×3 is part of the dataset's draft: it was lost on a switch or a relaunch
        self._show_others()

    def _show_others(self) -> None:
        """The editor's "other groups LR ×" shows the table's: the other groups' multiplier over the head's, when they
        share one (a head typed ×3 left it at 1, which by its own words meant the others at ×3)."""
        rows = self.group_table.draft.rows
        rest = {row.multiplier for row in rows[:-1]}
        if len(rest) == 1 and rows[-1].multiplier > 0:
            self.editor.others.setText(f"{rest.pop() / rows[-1].multiplier:g}")

    @Slot(object)
    def unfreeze_now(self, names) -> None:
        """Unfreeze ``names`` (every frozen group when empty) from the next step: an edit, recorded and undoable."""
        if self.controller.training:
            self.controller.send(EditSchedule(Unfreeze(tuple(names))))

    @Slot()
    def others_edited(self) -> None:
        """The editor's "other groups LR ×" sets every group but the head in the table, to the head's multiplier times it
        (as the field says, and shows: with the head at ×3 it showed 0.333 for groups at ×1, and 0.5 set them to ×0.5)."""
        draft = self.group_table.draft
        try:
            draft.set_all_but_head(float(self.editor.others.text()) * (draft.rows[-1].multiplier if draft.rows else 1.0))
        except ValueError:
            return
        self.group_table.show_settings(self.group_table.draft.settings(), self.group_table.step)
        self.groups_edited(self.group_table.draft.settings())

    @Slot(object)
    def groups_run_started(self, event) -> None:
        """A run began: the table shows its groups (their sizes from its configuration)."""
        try:
            outline = self._outline(event.config["model"], event.config.get("pretrained", ""))
        except (LrscopeError, KeyError, AttributeError):
            outline = [(name, 0) for name in event.groups]
        if tuple(name for name, _ in outline) != tuple(event.groups):
            outline = [(name, 0) for name in event.groups]
        self.group_table.show_groups(outline, EVERY_GROUP)  # the run's own settings follow with its schedule
        self.group_table.set_running(True, event.start_step)

    @Slot(object)
    def groups_schedule_changed(self, event) -> None:
        """The run's settings in force now (after an edit, an undo, a resume)."""
        self.group_table.show_settings(event.run_schedule.timeline.piece_at(event.step).groups, event.step)

    @Slot(object)
    def groups_steps(self, event) -> None:
        self.group_table.set_step(int(event.steps[-1]) + 1)

    @Slot(object)
    def groups_state_changed(self, event) -> None:
        if event.state in TERMINAL:
            self.group_table.set_running(False)


def mismatch(timeline, names: tuple[str, ...]) -> str:
    """Why ``timeline`` cannot drive the parameter groups ``names`` ("" when it can, or they are not known)."""
    try:
        if names:
            timeline.check_groups(names)
    except GroupMismatch as error:
        return str(error).split("; ")[0]
    return ""
