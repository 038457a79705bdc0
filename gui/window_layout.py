"""What the window is made of: the plots in tabs in the middle (a stability warning bar above them), the
dataset and configuration on the left, the schedule on the right, the log below, progress and state in the
status bar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.store.paths import runs_root

from .deferred import Deferred
from .idle_hidden_progress import IdleHiddenProgress
from .panels.config_panel import ConfigPanel
from .panels.dataset_panel import DatasetPanel
from .panels.group_table import GroupTable
from .panels.log_panel import LogPanel
from .panels.range_test_panel import RangeTestPanel
from .panels.runs_panel import RunsPanel
from .panels.schedule_editor import ScheduleEditor
from .panels.stability_banner import StabilityBanner
from .panels.tune_panel import TunePanel
from .plots.accuracy_plot import AccuracyPlot
from .plots.compare_plot import ComparePanel
from .plots.loss_plot import LossPlot
from .plots.lr_plot import LrPlot, MomentumPlot
from .plots.range_plot import RangePlot
from .plots.tune_plot import TunePlot
from .status_line import StatusLine

DOCKS = ("Dataset and configuration", "Schedule", "Log")
DOCK_AREAS = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea)


# The side docks' narrowest: a layout saved in a smaller window came back with both at about 120 px ("Dataset an…", the
# Configuration tab "Co", "peak L"), and they stayed so when the window grew. The log below takes any width.
SIDE_DOCK_MIN_WIDTHS = (200, 250, 0)
SIDE_DOCK_WIDTHS = (270, 400)  # the side docks' widths on a first launch


def scrollable(widget):
    """``widget`` in a scroll area, so that a dock can be smaller than its form (the window fits a laptop screen)."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


def scrolled_vertically(widget):
    """``widget`` in a scroll area that scrolls up and down only and is never narrower than the widget (a splitter
    would otherwise squeeze it, and the area then scrolled the form's left half out of sight)."""
    area = scrollable(widget)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumWidth(widget.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area


def pinned_above(pinned, widget) -> QWidget:
    """``pinned`` above ``widget`` scrolled: a form's reason for refusing a value stays in sight wherever it is scrolled."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(pinned)
    layout.addWidget(scrollable(widget), 1)
    return box


def splitter(orientation, widgets, sizes, collapsible: bool = True) -> QSplitter:
    """Widgets side by side (or stacked) that the user can resize (and, unless told not to, collapse)."""
    split = QSplitter(orientation)
    for widget in widgets:
        split.addWidget(widget)
    split.setChildrenCollapsible(collapsible)
    split.setSizes(sizes)
    return split


def build_layout(window: QMainWindow) -> None:
    """Create the window's panels and plots as attributes of ``window`` and place them."""
    window.loss, window.lr, window.momentum, window.accuracy = LossPlot(), LrPlot(), MomentumPlot(), AccuracyPlot()
    window.momentum.setVisible(False)
    for upper in (window.loss, window.lr):
        upper.name_unit_below()
    lower = splitter(Qt.Orientation.Horizontal, (window.accuracy, window.momentum), [500, 500])
    # Stacked plots keep a readable height: the splitter cannot squeeze one to a sliver (issue 12, at 1366 x 768).
    training = splitter(Qt.Orientation.Vertical, (window.loss, window.lr, lower), [360, 360, 280], collapsible=False)
    # The plots of the tabs not shown at launch are built when first shown or drawn on (gui/deferred.py).
    window.range_slot, window.range_panel = Deferred(RangePlot), RangeTestPanel()
    # Scrolled up and down: with the stability bar shown at 1366×768 the form's fields were squeezed to half their height.
    window.range_tab = splitter(Qt.Orientation.Horizontal, (window.range_slot, scrolled_vertically(window.range_panel)), [640, 300])
    window.runs_panel, window.compare_slot = RunsPanel(runs_root()), Deferred(ComparePanel)
    # Two fifths for the list: at 1366 x 768 a third showed three runs; half squeezed the comparison's plots to slivers.
    runs_tab = splitter(Qt.Orientation.Vertical, (window.runs_panel, window.compare_slot), [400, 600])
    window.tune_slot, window.tune_panel = Deferred(TunePlot), TunePanel()
    # Halves: with less, the trials table's last column (steps) was cut off at 1366 x 768. Scrolled up and down as the
    # range test's form: at 1024 x 600 the tune's notes wanted more height than the tab had, and were drawn over its buttons.
    window.tune_tab = splitter(Qt.Orientation.Horizontal, (window.tune_slot, scrolled_vertically(window.tune_panel)), [500, 500])
    window.tabs = QTabWidget()
    window.tabs.addTab(training, "Training")
    window.tabs.addTab(window.range_tab, "Range test")
    window.tabs.addTab(runs_tab, "Runs")
    window.tabs.addTab(window.tune_tab, "Tune")
    # Under the tabs: a stability warning is seen whichever tab is shown. Above them, its two or three lines pushed the
    # tab bar and the plots 70 px down as it came, and a click aimed a moment before landed elsewhere.
    window.banner = StabilityBanner()
    central = QWidget()
    column = QVBoxLayout(central)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(window.tabs, 1)
    column.addWidget(window.banner)
    window.setCentralWidget(central)
    window.dataset_panel, window.config_panel, window.editor, window.log = DatasetPanel(), ConfigPanel(), ScheduleEditor(), LogPanel()
    window.side_tabs = left = QTabWidget()
    left.addTab(scrollable(window.dataset_panel), "Dataset")
    left.addTab(pinned_above(window.config_panel.pinned, window.config_panel), "Configuration")
    window.group_table = GroupTable()
    left.addTab(scrollable(window.group_table), "Groups")
    schedule = QWidget()
    column = QVBoxLayout(schedule)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(scrollable(window.editor), 1)
    column.addWidget(window.editor.run_edits)  # pinned: the run controls never scroll out of sight
    schedule.installEventFilter(window.editor.run_edits)  # it packs itself closer when the column is short
    for title, widget, area, narrowest in zip(DOCKS, (left, schedule, window.log), DOCK_AREAS, SIDE_DOCK_MIN_WIDTHS):
        dock = QDockWidget(title, window)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setMinimumWidth(narrowest)
        window.addDockWidget(area, dock)
    # The schedule runs the window's full height, beside the log rather than above it: under it, a one-cycle's fields
    # began 280 px below the fold at 1366×768, and the log's lines are as readable in the width left to them.
    window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
    window.progress, window.status = IdleHiddenProgress(), StatusLine("idle")
    window.progress.setMaximumWidth(260)
    window.statusBar().addWidget(window.progress)
    window.statusBar().addWidget(window.status, 1)


def default_dock_sizes(window: QMainWindow) -> None:
    """The docks' sizes on a first launch."""
    docks = [window.findChild(QDockWidget, name) for name in DOCKS]
    window.resizeDocks(docks[:2], list(SIDE_DOCK_WIDTHS), Qt.Orientation.Horizontal)
    window.resizeDocks(docks[2:], [90], Qt.Orientation.Vertical)


def widen_squeezed_docks(window: QMainWindow, grown: int) -> None:
    """The window grew ``grown`` px wider: side docks narrower than a first launch has them take it back, the schedule
    first, before the plots get any. Qt gives all of it to the plots, so a layout squeezed in a small window (Remove and
    the peak LR cut off) stayed squeezed at any size, and nothing in the window said that Reset layout fixes it."""
    docks, widths = [], []
    for name, first in sorted(zip(DOCKS[:2], SIDE_DOCK_WIDTHS), key=lambda pair: pair[0] != "Schedule"):
        dock = window.findChild(QDockWidget, name)
        wider = min(grown, first - dock.width())
        if wider > 0 and dock.isVisible() and not dock.isFloating():
            docks.append(dock)
            widths.append(dock.width() + wider)
            grown -= wider
    if docks:
        window.resizeDocks(docks, widths, Qt.Orientation.Horizontal)


def reset_layout(window: QMainWindow) -> None:
    """Every panel shown, docked where a first launch has it and at its size: a layout squeezed in a small window stayed
    squeezed when the window grew, and was saved so (cut fields, a hidden Groups tab) on every later launch."""
    for name, area in zip(DOCKS, DOCK_AREAS):
        dock = window.findChild(QDockWidget, name)
        dock.setFloating(False)
        window.addDockWidget(area, dock)
        dock.show()
    default_dock_sizes(window)
