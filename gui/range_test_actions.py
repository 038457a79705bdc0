"""The window's range-test actions: start one (on the running job or before a run), show it, use its suggestion."""

from __future__ import annotations

import math

from PySide6.QtCore import Slot

from engine.commands import EditSchedule
from engine.range_test.settings import RangeTestSettings
from engine.schedules import ReplaceRest, SetConstant
from engine.schedules.presets import preset
from engine.text import duration_text

from .remaining import remaining_text
from .tune_actions import TUNE_RANGE_TEST

PLAN_ABOVE = "⚠ the plan's peak: "


class RangeTestActions:
    """Mixed into MainWindow: uses its controller, range-test panel and plot, editor and log."""

    @Slot(object)
    def range_test(self, settings) -> None:
        """Start a range test: on the running job, or from fresh weights before a run."""
        if self.dataset is None or self.controller.testing or self.controller.tuning:
            return
        chosen = self._config_or_warn("Cannot start the range test")
        if chosen is None:
            return
        config, plan = chosen
        self.range_plot.clear()
        self.range_plot.set_mode(settings.mode)  # the last probe's axis title stayed over a sweep until its first points
        self.tabs.setCurrentWidget(self.range_tab)
        self.controller.range_test(config, self.dataset, settings, self._timeline(plan, config.momentum), self.run_length())
        self._say_starting(settings)
        self._update_actions()

    def _say_starting(self, settings: RangeTestSettings) -> None:
        """Say at once that the test is on its way: building the model and the first batches take seconds. In a run it
        starts from the run's weights at its next step ("building the model" there misled: helper-74). λmax is measured
        first ("starting…" stood for 40 s on a loaded machine, nothing moving): in a run the run's state says when that
        begins (``measuring_first`` is said then); before one nothing does, and the measurement says when it is done."""
        before = "sweep" if settings.mode == "sweep" else "probes"
        if self.controller.training:
            self.measuring_first = f"measuring λmax at the run's weights before the {before}…" if settings.curvature else ""
            self.range_panel.starting("starting at the run's next step, from its weights…")
            return
        self.measuring_first = f"measuring λmax before the {before}…" if settings.curvature else ""
        building = "starting: building the model and the first batches"
        self.range_panel.starting(f"{building}, then {self.measuring_first}" if settings.curvature else f"{building}…")
        self.status.setText("range test: starting (building the model)…")

    @Slot(object)
    def range_test_state(self, event) -> None:
        """A range test asked for elsewhere (`lrscope ctl`) shows from the run's state on: the tab offered Start, and no
        Cancel, for the seconds before the test's start said anything."""
        if event.state == "range_test" and not self.range_panel.testing:
            self.range_panel.starting("starting in the run, asked from elsewhere…", here=False)
            self._update_actions()
        elif event.state == "range_test" and self.measuring_first:  # the test asked here has begun, with its λmax
            self._test_says(self.measuring_first)

    @Slot(object)
    def range_test_measured(self, event) -> None:
        """λmax at the start of the test asked here (in a run or before one) came: its first steps are timed next, for
        its estimate."""
        if event.trigger == "range_test" and self.measuring_first:
            self.measuring_first = ""
            self._test_says(f"λmax {event.lambda_max:.3g} measured; timing the first steps…")

    def _test_says(self, text: str) -> None:
        """What the test asked here does before its estimate, in its tab and on the status line (the run's, in a run)."""
        self.range_panel.starting(text)
        if self.controller.training:
            self.live.test_says(text)
        else:
            self.status.setText(f"range test: {text}")

    @Slot(object)
    def range_test_started(self, event) -> None:
        """Say how long the test will take."""
        self.range_plot.clear()
        self.range_plot.set_mode(event.mode)
        self.range_plot.expect(event.settings.get("start_lr"), event.settings.get("end_lr"))
        took = duration_text(event.estimated_seconds)
        settings = RangeTestSettings.from_dict(event.settings)
        # A tune's own test is the tune's (its tab says so); one asked elsewhere is said in words, the form being ours.
        elsewhere = "" if self.range_panel.asked_here or self.controller.tuning else settings.describe()
        cost = self._test_cost(settings)
        self.measuring_first = ""
        self.range_panel.started(event.mode, took, elsewhere, cost)
        if self.controller.training:  # the status line said "timing the first steps…" until the first points
            self.live.test_says(f"{event.mode} running, about {took}")
        if not self.controller.training and not self.controller.tuning:  # a tune's own range test: the tune's line stays
            self.status.setText(f"range test ({event.mode}) running before a run: about {took}")
        self.log.add(f"range test ({event.mode}) started at step {event.step}: {cost}, about {took}")

    def _test_cost(self, settings: RangeTestSettings) -> str:
        """The test's training steps, and how many runs that is: a probe "about 3 min" trained 3.4 times the run."""
        return settings.cost_words(self.live.total if self.controller.training else self.run_length())

    @Slot(object)
    def range_test_progress(self, event) -> None:
        """Draw the new points; say how far the test is and how long the rest takes at the pace it has kept
        (the first estimate is timed on one step, and is far off once the machine gets busier)."""
        self.range_plot.add_points(event.lrs, event.losses, event.smoothed, event.repeat)
        left = remaining_text(event.seconds_left if math.isfinite(event.seconds_left) else None)
        text = f"{100 * event.done:.0f}% done{f', {left}' if left else ''}"
        self.range_panel.progressed(text)
        self.live.testing = text  # in a run, its status line (redrawn on the timer) says it
        if self.controller.tuning:  # a tune's first minute or two: its line said nothing moved, its bar stood at 0%
            self.status.setText(f"{TUNE_RANGE_TEST}: {text}")
            self.tune_panel.range_test_progressed(text)
        elif not self.controller.training:
            self.status.setText(f"range test ({self.range_panel.mode}) running before a run: {text}")
            self.progress.setRange(0, 100)  # it showed the last run's 27% all through the test
            self.progress.setValue(round(100 * event.done))

    @Slot(object)
    def range_test_finished(self, event) -> None:
        """Mark the suggestions on the plot and list them."""
        self.range_panel.finished(event.result, event.message)
        self.live.testing = self.measuring_first = ""  # a cancel during the λmax measurement ends the test before it came
        self._update_actions()
        if event.result is not None:
            self.range_plot.show_result(event.result)
            if not self.controller.tuning:  # a tune's own test sets its interval; its record keeps it, not a schedule's file
                self.last_range_test = event.result.to_dict()
                # whose weights it measured: the run's at that step, or fresh ones before any run
                self.range_test_of = (self.live.run_id if self.controller.training else None, event.step)
        if self.controller.tuning:  # its advice ("… or a tune (the Tune tab)") is for one who runs a test, not a tune
            self.log.add("the tune was cancelled in its range test, before it chose an interval to search" if event.cancelled
                         else "the tune's range test finished: it sets the interval the tune searches")
        else:
            self.log.add(f"range test {'cancelled' if event.cancelled else 'finished'}: {event.message}")
        if not self.controller.training and not self.controller.tuning:
            self.show_next_run()
            self.progress.reset()  # a cancelled test's 43% stayed beside "idle · next run"
            try:  # the plan typed before the test, checked against the bound the test just measured (it waited for an edit)
                self.preview(self.editor.plan())
            except ValueError:
                pass  # an invalid plan says so under the editor already

    def range_test_unfollowed(self) -> None:
        """The window stopped following a run during its range test (contact lost, detached): the tab said "80% done"
        ever after, and its Cancel "cancelling at the next batch…" forever."""
        if self.range_panel.testing and not self.controller.testing:
            self.range_panel.finished(None, "the window no longer follows the run: its range test's result is not shown here")
            self.live.testing = ""

    @Slot(float, str)
    def use_suggestion(self, lr: float, what: str) -> None:
        """Install the suggestion: a one-cycle peaking at it, or a constant LR at it (in the running job, from now on)."""
        lr = float(f"{lr:.3g}")  # a range test is not precise to more digits, and 0.164724 reads badly
        if self.controller.training:
            remaining = max(2, self.live.total - self.live.step)
            edit = (SetConstant(lr, reason="range_test") if what == "constant" else
                    ReplaceRest(preset("one_cycle", lr, remaining), from_current_lr=True, fit_rest=True, reason="range_test"))
            self.controller.send(EditSchedule(edit))
        elif what == "constant" or not self.fine_tune_preset_at(lr):
            self.imported = None
            self.editor.install_preset("constant" if what == "constant" else "one_cycle", lr)
        shape = "constant LR" if what == "constant" else "one-cycle with max LR"
        self.log.add(f"using the range test's {shape} {lr:g}")
        if stale := self._stale_test():
            self.log.add(f"{stale}: the loss may have moved since; a test now (Ctrl+T) measures the weights as they are", "warning")
        # Said again where it is acted on: a run shorter than 800 steps measures no λmax of its own to warn from.
        if above := self.range_panel.result.above_bound(lr):
            self.log.add(above, "warning")
            self.status.setText(f"⚠ {above}")
        elif not self.controller.training:  # a warning about the suggestion used before stays up no longer
            self.show_next_run()

    def _stale_test(self) -> str:
        """How old the suggestion is when the run has trained on since its test ("" when it is fresh): one measured at
        step 11 went into the run at step 1344 without a word."""
        if not self.controller.training:
            return ""
        run_id, step = self.range_test_of
        if run_id != self.live.run_id:
            return "the range test measured fresh weights, before this run"
        if self.live.step - step > self.live.per_epoch:
            return f"the range test measured this run's weights at step {step}; the run is at step {self.live.step}"
        return ""

    def check_the_plan(self, timeline, peak: float) -> None:
        """Before a run: a plan that peaks above the bound the last range test measured says so in the status bar,
        however it was made (a suggestion used, a preset typed, a file imported). Only "Use" said so: a preset typed
        at 12× the bound was silent until the run measured it. Only a test of fresh weights measured the start of the
        run planned: one of a run's trained weights (bound 1.62) was said to be "the stability bound at the start" of a
        fresh run whose own λmax gave 0.346. Without such a bound, a fine-tune's peak far above the pretrained default
        is said as the run will say it (it was said in the log alone, once Start was pressed)."""
        result = self.range_panel.result if self.range_test_of[0] is None else None
        if above := result.above_bound(peak) if result is not None else "":
            self.status.setText(f"{PLAN_ABOVE}{above} (the last range test's measurement)")
        elif far := self.pretrained_peak(timeline):
            self.status.setText(f"{PLAN_ABOVE}{far}")
        elif self.status.text().startswith(PLAN_ABOVE):
            self.show_next_run()

