"""Plots can be created, drawn and destroyed many times without crashing the process.

PySide6 6.12.0 fails this (a fatal refcount error inside QPainter while pyqtgraph draws an axis),
which is why pyproject.toml keeps PySide6 below 6.12. The loop runs in a subprocess so that a
crash fails this test instead of ending the test session.
"""

import os
import subprocess
import sys

SCRIPT = """
import numpy as np
from PySide6.QtWidgets import QApplication
app = QApplication([])
from gui.plots.loss_plot import LossPlot
for _ in range(40):
    plot = LossPlot()
    plot.resize(600, 300)
    plot.show()
    for i in range(20):
        plot.add_steps(np.arange(i * 10, i * 10 + 10), np.random.rand(10))
        plot.refresh()
        plot.widget.viewport().repaint()
    plot.close()
    del plot
print("survived")
"""


def test_plots_survive_being_created_and_destroyed():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 0 and "survived" in done.stdout, done.stderr[-2000:]
