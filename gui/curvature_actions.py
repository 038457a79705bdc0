"""The window's curvature actions: measure λmax now, the Health tab, and the stability bar's one-click fix."""

from __future__ import annotations

from engine.commands import MeasureCurvature

from .curvature_view import CurvatureView


class CurvatureActions:
    """Mixed into MainWindow: uses its bridge, controller, LR plot, log, banner, tabs and ``measure_action``."""

    def build_curvature(self) -> None:
        """The view that follows the run's curvature and health; its Health tab goes right after Training."""
        self.curvature = CurvatureView(self.bridge, self.controller.send, self.lr, self.log, self.banner, self.measure_action,
                                       parent=self, tuning=lambda: self.controller.tuning)
        self.tabs.insertTab(1, self.curvature.tab, "Health")

    def measure_curvature(self) -> None:
        """Ask the run (running or paused) to measure λmax at its next step boundary."""
        self.controller.send(MeasureCurvature())
        self.curvature.waiting()
        self.live.measuring = True
