"""The desktop app, driven as a user would, headless; every wait is on a condition, never a sleep."""

import json

import numpy as np
import pytest
from helpers import CAMERA2, SAMPLE

from engine.schedules import load_schedule

pytest.importorskip("pytestqt")
LONG = 120_000


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
    main.ask = lambda *args: True  # a run still going at the end of a test is stopped without asking
    main.close()


def type_into(qtbot, editor, text):
    editor.selectAll()
    qtbot.keyClicks(editor, text)


def set_epochs(qtbot, window, epochs):
    type_into(qtbot, window.config_panel.editors["epochs"], str(epochs))
    qtbot.waitUntil(lambda: window.editor.total_steps == epochs * 22)


def run_to_end(qtbot, window):
    qtbot.waitUntil(lambda: window.last_run is not None, timeout=LONG)
    return window.last_run


def test_launch_shows_the_sample(window):
    assert "1797 images, 10 classes" in window.dataset_panel.summary.text()
    assert window.windowTitle() == f"lrscope — digits ({SAMPLE})"
    assert window.dataset_panel.classes.rowCount() == 10 and window.dataset_panel.thumbnails.count() == 30
    assert window.editor.total_steps == 22 and window.start_action.isEnabled()


def test_a_run_fills_the_plots(qtbot, window):
    window.start_run()
    run = run_to_end(qtbot, window)
    window.bridge.drain()
    window.live.refresh()
    assert run.outcome.state == "finished"
    assert len(window.loss.points) == 22 and len(window.lr.points) == 22 and len(window.accuracy.points) == 1
    legend = [label.text for _, label in window.lr.plot.legend.items]
    assert window.lr.groups == ("block1", "block2", "block3", "head") and set(window.lr.groups) <= set(legend)
    assert "applied" not in legend and all(len(curve.getData()[0]) == 22 for curve in window.lr.applied)
    x, y = window.loss.smooth.getData()
    assert len(x) > 0 and np.all(np.isfinite(y))
    assert "finished" in window.status.text() and window.progress.value() == 22
    assert window.loss.describe_at(5).startswith("step 5: loss ")
    window.x_unit.setCurrentIndex(1)
    x, _ = window.loss.raw.getData()
    assert x[-1] == pytest.approx(21 / 22) and window.loss.plot.getAxis("bottom").labelText == "epoch"


def test_edit_mid_run_applies_from_that_step(qtbot, window):
    set_epochs(qtbot, window, 4)
    window.start_run()
    qtbot.waitUntil(lambda: window.live.step >= 5, timeout=LONG)
    window.pause_or_resume()
    qtbot.waitUntil(lambda: window.live.state == "paused", timeout=LONG)
    type_into(qtbot, window.editor.set_lr, "0.0123")
    window.editor.set_now.click()
    qtbot.waitUntil(lambda: window.editor.history.count() == 1, timeout=LONG)
    window.pause_or_resume()
    run = run_to_end(qtbot, window)
    record = run.run_schedule.edits[0]
    assert record.summary == "set LR to 0.0123 for the rest"
    window.bridge.drain()
    steps, applied = window.lr.points.view(0), window.lr.points.view(1)
    assert np.all(applied[steps >= record.step] == 0.0123) and np.all(applied[steps < record.step] != 0.0123)


def test_range_test_mid_run_then_use_its_suggestion(qtbot, window):
    set_epochs(qtbot, window, 6)
    window.range_panel.iterations.setValue(25)
    window.range_panel.repeats.setValue(1)
    window.start_run()
    qtbot.waitUntil(lambda: window.live.step >= 3, timeout=LONG)
    window.range_panel.start.click()
    qtbot.waitUntil(lambda: window.last_range_test is not None, timeout=LONG)
    assert window.range_panel.table.rowCount() == 4 and len(window.range_plot.markers) == 4
    window.range_panel.use_cycle.click()
    run = run_to_end(qtbot, window)
    reasons = [r.edit.reason for r in run.run_schedule.edits]
    assert "range_test" in reasons and run.outcome.state == "finished"


def test_range_test_before_a_run_sets_the_editor_peak(qtbot, window):
    window.range_panel.iterations.setValue(20)
    window.range_panel.repeats.setValue(2)
    window.range_panel.start.click()
    qtbot.waitUntil(lambda: window.last_range_test is not None, timeout=LONG)
    qtbot.waitUntil(lambda: not window.controller.testing, timeout=LONG)
    lr = window.range_panel.recommendation.constant_lr
    assert "median of 2 repeats" in window.range_panel.status.text()
    assert np.isnan(window.range_plot.points.view(0)).sum() == 1  # two lines, one per repeat
    window.range_panel.use_constant.click()
    assert float(window.editor.peak.text()) == pytest.approx(lr, rel=1e-2)


def test_export_then_import_for_another_dataset_warns(qtbot, window, tmp_path):
    window.start_run()
    run_to_end(qtbot, window)
    path = window.export(str(tmp_path / "tuned.json"))
    loaded = load_schedule(path)
    assert loaded.dataset["fingerprint"] == window.dataset.summary.fingerprint
    assert loaded.metrics["best_val_accuracy"] == run_to_end(qtbot, window).outcome.best_val_accuracy
    assert window.dataset_panel.library.count() >= 1 and "tuned.json" not in window.dataset_panel.library.item(0).text()

    window.open_folder(str(CAMERA2))
    qtbot.waitUntil(lambda: window.dataset.summary.name == "digits-camera2", timeout=LONG)
    asked = []
    window.ask = lambda title, text, details: asked.append(details) or False
    assert window.import_(str(path)) is False
    assert "tuned on 'digits'" in asked[0] and "this is 'digits-camera2'" in asked[0]
    window.ask = lambda *args: True
    assert window.import_(str(path)) is True


def test_invalid_configuration_is_refused_at_the_field(qtbot, window):
    editor = window.config_panel.editors["batch_size"]
    type_into(qtbot, editor, "0")
    assert "2px solid" in editor.styleSheet() and "batch size: must be at least 1" in window.config_panel.message.text()
    window.start_run()
    assert not window.controller.training
    assert "batch size: must be at least 1" in window.log.toPlainText()


def test_a_broken_folder_shows_the_error_in_the_window(qtbot, window, tmp_path):
    window.open_folder(str(tmp_path / "missing"))
    qtbot.waitUntil(lambda: window.dataset_panel.problems.count() > 0, timeout=LONG)
    assert "no such folder" in window.dataset_panel.problems.item(0).text()
    assert "cannot be used" in window.dataset_panel.summary.text()


def test_closing_during_a_run_stops_the_worker_cleanly(qtbot, window):
    set_epochs(qtbot, window, 50)
    window.start_run()
    qtbot.waitUntil(lambda: window.live.step >= 3, timeout=LONG)
    asked = []
    window.ask = lambda title, text, details: asked.append(title) or True
    window.close()
    assert asked == ["Stop the run?"]
    assert not window.controller.training
    assert window.last_run.outcome.state == "stopped" and 3 <= window.last_run.outcome.step < 50 * 22
    from engine.store import read_meta

    assert read_meta(window.last_run.run_dir)["state"] == "stopped"


def test_keypoints_drag_on_the_plot(qtbot, window):
    window.editor.kind.setCurrentText("keypoints")
    window.editor.add_segment()
    qtbot.waitUntil(lambda: len(window.lr.handles) == 3)
    handle = window.lr.handles[1]
    x, y = handle.pos().x(), handle.pos().y()
    handle.setPos((x + 2, y - 0.5))
    segment = window.editor.segments[window.editor._selected_index()]
    assert segment.points[1][1] == pytest.approx(10 ** (y - 0.5), rel=1e-6)


def test_plots_export_png_and_csv(qtbot, window, tmp_path):
    window.start_run()
    run_to_end(qtbot, window)
    window.bridge.drain()
    window.live.refresh()
    assert window.loss.export_png(tmp_path / "loss.png").stat().st_size > 1000
    rows = (window.loss.export_csv(tmp_path / "loss.csv")).read_text().splitlines()
    assert rows[0] == "step,loss,smoothed,val_step,val_loss" and len(rows) == 23


def test_settings_persist_between_launches(qtbot, window):
    type_into(qtbot, window.config_panel.editors["seed"], "7")
    window.close()
    from gui.settings import open_settings, saved_config

    assert saved_config(open_settings())["seed"] == 7
    assert json.loads(open_settings().value("data/recent"))[0].endswith("digits")


def test_the_window_fits_a_laptop_screen(window):
    """Docks scroll rather than impose their forms' sizes: the window's minimum stays well under 1366 x 768."""
    smallest = window.minimumSizeHint()
    assert smallest.width() <= 1024 and smallest.height() <= 640, smallest


def test_window_layout_and_view_persist_between_launches(qtbot, window):
    from PySide6.QtWidgets import QDockWidget

    from gui.main_window import MainWindow
    from gui.settings import open_settings

    window.resize(760, 700)  # inside the offscreen platform's 800 x 800 screen
    window.findChild(QDockWidget, "Log").hide()
    window.x_unit.setCurrentIndex(1)
    window.smoothing.setValue(55)
    window.close()
    again = MainWindow(open_settings(), SAMPLE)
    qtbot.addWidget(again)
    again.show()
    assert (again.width(), again.height()) == (760, 700)
    assert again.findChild(QDockWidget, "Log").isHidden() and not again.findChild(QDockWidget, "Schedule").isHidden()
    assert again.x_unit.currentIndex() == 1 and again.smoothing.value() == 55
    qtbot.waitUntil(lambda: again.dataset is not None, timeout=LONG)
    again.close()


def test_compare_two_stored_runs_and_open_one_read_only(qtbot, window):
    for _ in range(2):
        window.last_run = None
        window.start_run()
        run_to_end(qtbot, window)
    window.runs_panel.refresh()
    assert window.runs_panel.table.rowCount() == 2
    window.runs_panel.table.selectAll()
    window.runs_panel._compare()
    assert len(window.compare.loss.series) == 2 and len(window.compare.lr.series) == 2
    from PySide6.QtCore import Qt

    run_dir = window.runs_panel.table.item(0, 0).data(Qt.ItemDataRole.UserRole)
    window.open_run(run_dir)
    assert len(window.loss.points) == 22 and "(read-only)" in window.loss.plot.titleLabel.text


def test_resume_a_stopped_run_from_the_runs_tab(qtbot, window):
    set_epochs(qtbot, window, 3)
    window.start_run()
    qtbot.waitUntil(lambda: window.live.step >= 25, timeout=LONG)
    window.stop_action.trigger()
    stopped = run_to_end(qtbot, window)
    assert stopped.outcome.state == "stopped"
    window.last_run = None
    window.resume_run(stopped.run_dir)
    resumed = run_to_end(qtbot, window)
    assert resumed.outcome.state == "finished" and resumed.outcome.step == 66


def test_closing_during_a_range_test_before_a_run(qtbot, window):
    window.range_panel.iterations.setValue(100_000)
    window.range_panel.start.click()
    qtbot.waitUntil(lambda: window.controller.testing and window.range_plot.points.size > 0, timeout=LONG)
    window.close()
    assert not window.controller.testing


def test_dropping_a_folder_opens_it(qtbot, window):
    from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(CAMERA2))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.dataset.summary.name == "digits-camera2", timeout=LONG)
