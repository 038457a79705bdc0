"""A run opened read-only stays drawn beside the next run's plan: the momentum plot frames both as the LR plot does."""

import numpy as np
import pytest
from gui_fixtures import LONG, SMALL
from PySide6.QtCore import QPoint, QPointF

from engine.store.reader import read_steps
from gui.driving import click, hover, select_rows, show_tab, trigger, type_into

pytest.importorskip("pytestqt")


def test_a_run_opened_read_only_beside_a_shorter_next_run_is_framed_whole_in_the_momentum_plot(qtbot, launch):
    """Epochs lowered after a 44-step run was opened in a window launched since: the momentum plot spanned the next
    run's 22 steps, the run's curve cut at step 23, under the LR plot spanning all 44; its readout gave the plan's
    momentum over the run's curve."""
    trained = launch({**SMALL, "epochs": 2})
    trigger(trained.start_action)
    qtbot.waitUntil(lambda: trained.last_run is not None and not trained.controller.training, timeout=LONG)
    run_dir = trained.last_run.run_dir
    trained.close()
    window = launch({**SMALL, "epochs": 2})
    show_tab(window.tabs, "Runs")
    select_rows(window.runs_panel.table, [0])
    click(window.runs_panel.buttons["Open read-only"])
    show_tab(window.side_tabs, "Configuration")
    type_into(window.config_panel.editors["epochs"], "1")
    qtbot.waitUntil(lambda: len(window.momentum.planned.getData()[0]) == 23, timeout=LONG)  # the next run's steps 0 to 22
    applied = read_steps(run_dir)
    steps, momenta = window.momentum.applied.getData()
    assert np.array_equal(steps, applied["step"]) and np.allclose(momenta, applied["momentum"])  # the run shown, all 44 steps
    x_range = window.momentum.plot.getViewBox().viewRange()[0]
    assert x_range[1] >= steps[-1], f"the momentum plot ends at step {x_range[1]:g}, its curve at {steps[-1]:g}"
    assert x_range == window.lr.plot.getViewBox().viewRange()[0]
    view, widget = window.momentum.plot.getViewBox(), window.momentum.widget

    def over_step_35() -> bool:  # on the run's curve, past the next run's end: it read the plan's step 22 there
        inside = widget.mapFromScene(view.mapViewToScene(QPointF(35, momenta[35])))
        hover(widget.viewport(), inside + QPoint(3, 0))  # from nearby: a move onto where the cursor already is sends no event
        hover(widget.viewport(), inside)
        return window.momentum.readout.text().startswith("step 35:")

    qtbot.waitUntil(over_step_35, timeout=LONG)
    assert window.momentum.readout.text() == f"step 35: momentum {applied['momentum'][35]:.4g} (applied)"
