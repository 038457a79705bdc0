"""The Tune tab and an honest range test, driven through the window's controls."""

import pytest
from helpers import SAMPLE

from engine.schedules import load_schedule
from engine.tune.search import peak_of

pytest.importorskip("pytestqt")
LONG = 600_000


@pytest.fixture
def window(qtbot):
    from gui.main_window import MainWindow
    from gui.settings import open_settings, save_config

    settings = open_settings()
    save_config(settings, {"image_size": 16, "epochs": 1})
    main = MainWindow(settings, SAMPLE)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(lambda: main.dataset is not None, timeout=LONG)
    yield main
    main.close()


def test_tune_plots_its_trials_then_installs_and_exports_the_winner(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    panel = window.tune_panel
    panel.budget.selectAll()
    qtbot.keyClicks(panel.budget, "4")
    qtbot.keyClick(panel.budget, Qt.Key.Key_Tab)
    assert not panel.use.isEnabled() and not panel.cancel.isEnabled()
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "full runs" in panel.status.text(), timeout=LONG)
    assert window.tabs.currentWidget() is window.tune_tab and panel.cancel.isEnabled()
    qtbot.waitUntil(lambda: window.last_tune is not None, timeout=LONG)
    window.bridge.drain()
    record = window.last_tune.record
    assert record["budget"]["runs"] == pytest.approx(4.0) and record["budget"]["spent_steps"] <= record["budget"]["steps"]
    assert panel.table.rowCount() == len(record["trials"]) >= 2 and len(window.tune_plot.trials) == len(record["trials"])
    assert "best of" in panel.status.text() and panel.use.isEnabled()
    winner = record["winner"]["params"]["lr"]

    qtbot.mouseClick(panel.use, Qt.MouseButton.LeftButton)
    assert float(window.editor.peak.text()) == pytest.approx(winner, rel=1e-2)

    target = tmp_path / "won.lrschedule.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    qtbot.mouseClick(panel.export, Qt.MouseButton.LeftButton)
    loaded = load_schedule(target)
    assert loaded.search["winner"] == record["winner"] and peak_of(loaded.timeline) == pytest.approx(winner, rel=1e-6)


def test_a_range_test_that_cannot_recommend_says_so_in_the_window(qtbot, window):
    from PySide6.QtCore import Qt

    panel = window.range_panel
    qtbot.keyClicks(panel.start_lr, "3")
    qtbot.keyClicks(panel.end_lr, "50")
    panel.iterations.setValue(12)
    panel.repeats.setValue(1)
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.last_range_test is not None, timeout=LONG)
    assert panel.recommendation is None and "No recommendation." in panel.status.text()
    assert not panel.use_constant.isEnabled() and not panel.use_cycle.isEnabled()
