"""The window's range-test actions: start one (on the running job or before a run), show it, use its suggestion."""

from __future__ import annotations

from PySide6.QtCore import Slot

from engine.commands import EditSchedule
from engine.schedules import SetPeak


class RangeTestActions:
    """Mixed into MainWindow: uses its controller, range-test panel and plot, editor and log."""

    @Slot(object)
    def range_test(self, settings) -> None:
        """Start a range test: on the running job, or from fresh weights before a run."""
        if self.dataset is None or self.controller.testing:
            return
        chosen = self._config_or_warn("Cannot start the range test")
        if chosen is None:
            return
        config, plan = chosen
        self.range_plot.clear()
        self.tabs.setCurrentIndex(1)
        self.controller.range_test(config, self.dataset, settings, self._timeline(plan, config.momentum), self.run_length())

    @Slot(object)
    def range_test_started(self, event) -> None:
        """Say how long the test will take."""
        self.range_plot.clear()
        self.range_panel.started(event.mode, event.estimated_seconds)
        self.log.add(f"range test ({event.mode}) started at step {event.step}: about {event.estimated_seconds:.0f} s")

    @Slot(object)
    def range_test_finished(self, event) -> None:
        """Mark the suggestions on the plot and list them."""
        self.range_panel.finished(event.result, event.message)
        if event.result is not None:
            self.range_plot.show_suggestions(event.result.suggestions)
            self.range_plot.show_bound(event.result.curvature)
            self.range_plot.show_half_way(event.result)
            self.last_range_test = event.result.to_dict()
        self.log.add(f"range test {'cancelled' if event.cancelled else 'finished'}: {event.message}")

    @Slot(float, str)
    def use_suggestion(self, lr: float, what: str) -> None:
        """Set the schedule's peak LR to a suggestion: in the running job, or in the editor before a run."""
        if self.controller.training:
            self.controller.send(EditSchedule(SetPeak(lr, reason="range_test")))
        else:
            self.imported = None
            self.editor.set_peak(lr)
        self.log.add(f"using the {what.replace('_', '-')} suggestion: peak LR {lr:.3g}")

