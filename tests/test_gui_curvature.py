"""Curvature in the window, driven through its controls: the bound on the LR plot, the Health tab,
the warning bar and its one-click fix, measuring from a paused run."""

import numpy as np
import pytest
from helpers import opened_window, type_into
from PySide6.QtCore import Qt

pytest.importorskip("pytestqt")
LONG = 600_000  # runs with probes, on a loaded 2-core machine


@pytest.fixture
def window(qtbot):
    with opened_window(qtbot, {"image_size": 16, "epochs": 3}, LONG) as main:
        yield main


def configure(qtbot, window, **fields):
    for name, value in fields.items():
        type_into(qtbot, window.config_panel.editors[name], str(value))


def open_tab(qtbot, window, title):
    bar = window.tabs.tabBar()
    index = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == title)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert window.tabs.currentIndex() == index


def test_a_run_with_the_probe_draws_the_bound_and_the_health_pane(qtbot, window):
    configure(qtbot, window, curvature_every=10, epochs=1)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    window.bridge.drain()
    window.lr.refresh()
    x, bound = window.lr.stability.bound.getData()
    assert len(x) > 0 and np.all(np.isfinite(bound))
    readout = window.lr.describe_at(15)
    assert "LR·λmax" in readout and "in theory; bound" in readout
    open_tab(qtbot, window, "Health")
    qtbot.waitUntil(lambda: len(window.curvature.health.grad_norm.curves[-1].getData()[0] or []) > 0)
    health = window.curvature.health
    assert len(health.grad_norm.points) == 22 and health.grad_norm.groups[-1] == "head"
    assert len(health.sharpness.points) == 3 and "λmax" in window.curvature.last.text()


def test_the_warning_bar_scales_the_rest_of_the_schedule_in_one_click(qtbot, window):
    configure(qtbot, window, curvature_every=10, curvature_margin=0.05, epochs=5)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=LONG)
    window.pause_action.trigger()
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    assert "stability bound" in window.banner.text.text() and "Scale the rest" in window.banner.scale.text()
    qtbot.mouseClick(window.banner.scale, Qt.MouseButton.LeftButton)
    window.pause_action.trigger()
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    reasons = [record.edit.reason for record in window.last_run.run_schedule.edits]
    assert reasons.count("curvature") == 1 and not window.banner.isVisible()


def test_measure_now_from_a_paused_run(qtbot, window):
    configure(qtbot, window, curvature_every="off", epochs=5)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: window.live.step >= 3, timeout=LONG)
    window.pause_action.trigger()
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    window.measure_action.trigger()
    qtbot.waitUntil(lambda: "λmax" in window.curvature.last.text(), timeout=LONG)
    assert len(window.lr.stability.measurements) == 1 and window.live.state == "paused"
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
