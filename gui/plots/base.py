"""A plot with the tools every lrscope plot shares.

Curves are pyqtgraph PlotDataItems fed whole numpy arrays with ``setData`` (at
most once per bridge tick), drawn with 1 px pens, peak-downsampled and clipped
to the view, so a million points per curve redraw quickly with bounded work.
"""

from __future__ import annotations

import csv
import errno
import html
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter
from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QHBoxLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import cannot_write

from .. import dialogs
from .heading import KEY_SPACE, PlotHeading
from .log_axis import log_axes

pg.setConfigOptions(antialias=False, background="w", foreground="k")
# Below this a plot shows fewer than two tick labels and a line: stacked plots keep at least this much (issue 12). At 115
# the window could not be less than 635 px tall, past a 600 px screen (helper-83).
MIN_PLOT_HEIGHT = 90
# How a key in a title draws each line style of the curves it names.
PEN_MARKS = {Qt.PenStyle.SolidLine: "━", Qt.PenStyle.DashLine: "╌", Qt.PenStyle.DotLine: "┈", Qt.PenStyle.DashDotLine: "━·"}


def key_colour(color, alpha: int = 255) -> tuple[int, int, int]:
    """The colour a title's key names a curve in: a faint curve's is drawn at least half as strong as the curve on white
    (text as faint as the curve could not be read)."""
    strength = max(alpha, 128) / 255
    return tuple(round(255 - (255 - c) * strength) for c in pg.mkColor(color).getRgb()[:3])


def make_curve(plot: pg.PlotItem, color, *, width: float = 1, style=Qt.PenStyle.SolidLine, alpha: int = 255,
               name: str | None = None, symbol: str | None = None) -> pg.PlotDataItem:
    """A downsampled, clipped curve on ``plot``."""
    qcolor = pg.mkColor(color)
    qcolor.setAlpha(alpha)
    curve = plot.plot([], [], pen=pg.mkPen(qcolor, width=width, style=style), name=name,
                      symbol=symbol, symbolSize=6, symbolBrush=qcolor, symbolPen=None)
    curve.setDownsampling(auto=True, method="peak")
    curve.setClipToView(True)
    return curve


class PlotPanel(QWidget):
    """A titled plot with a toolbar: log y, follow the data, export as PNG or CSV, then the title, which a crosshair
    readout replaces while the mouse is over the plot."""

    def __init__(self, title: str, y_label: str, *, x_label: str = "step", log_y: bool = False, log_x: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.widget = pg.PlotWidget(axisItems=log_axes("left", "bottom"))
        self.widget.setMinimumHeight(MIN_PLOT_HEIGHT)
        # Not a Tab stop: a plot shows no focus and offers nothing to the keyboard, and the plots' stops stood between
        # the keyboard and the panels after them. A click still focuses it, as before.
        self.widget.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.plot = self.widget.getPlotItem()
        self.plot.setLabel("left", y_label)
        self.plot.setLabel("bottom", x_label)
        # Every plot names its curves in its title's key, none in a legend box: wherever a box went it covered curves
        # (the steps just trained, a range test's flat start, a momentum held at 0.9), and at 1024 x 600 its rows took
        # most of a view. The legend stays, hidden, where a plot that names its curves as they come keeps their names in
        # order (key_from_legend).
        self.plot.addLegend()
        self.plot.legend.setVisible(False)
        self.keyed_from_legend = False
        for axis in ("left", "bottom"):
            # An SI prefix on a log axis reads as "LR (x0.001)" next to 10^2: show the values as they are.
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        for item in (self.plot.getAxis("left"), self.plot.getAxis("bottom")):
            # Tick labels cost more to paint than the curves; keep them as pixmaps until they change.
            # (No grid: pyqtgraph draws it inside the axis, which would make that pixmap plot-sized and
            # translucent, blended on every frame: 5 ms a paint, more than everything else together.)
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.log_x = log_x
        self.log_y = QCheckBox("log y")
        self.log_y.setToolTip("Show the vertical axis on a logarithmic scale.")
        self.log_y.setChecked(log_y)
        self.log_y.toggled.connect(self._apply_log)
        self.follow = QToolButton(text="Follow")
        self.follow.setCheckable(True)
        self.follow.setChecked(True)
        self.follow.setToolTip("Keep the axes fitted to the data while the run goes on (zooming turns this off).")
        self.follow.toggled.connect(self._follow_changed)
        self.heading = PlotHeading()
        self.readout = self.heading.readout
        self.png_button, self.csv_button = png, table = QToolButton(text="PNG"), QToolButton(text="CSV")
        png.setToolTip("Save this plot as a PNG image.")
        table.setToolTip("Save the data of this plot as a CSV file.")
        png.clicked.connect(lambda: self._ask_and_save("PNG image (*.png)", self.export_png))
        table.clicked.connect(lambda: self._ask_and_save("CSV file (*.csv)", self.export_csv))
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)
        # Buttons close together leave the title 20 px more: at 1024 px "Momentum" had 75 px and needed 77.
        bar.setSpacing(2)
        for widget in (self.log_y, self.follow, png, table):
            bar.addWidget(widget)
        bar.addWidget(self.heading.place, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.heading.key)
        layout.addWidget(self.widget, 1)  # the height to spare is the plot's: the title's row took 80 px of it in a tall tab
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DotLine))
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.cursor.hide()  # shown while the mouse is over the plot
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        # pyqtgraph drops mouse moves that come too fast, the last one off the plot included: leaving clears too.
        self.widget.viewport().installEventFilter(self)
        self.plot.getViewBox().sigRangeChangedManually.connect(lambda *_: self.follow.setChecked(False))
        self._apply_log(log_y)
        self.set_key_title([title])

    def set_key_title(self, parts: list[str]) -> None:
        """A title of ``parts`` (the plot's name, then its key's entries, as rich text) in the toolbar's row, the key under
        it when the row is too narrow: a key in the title hides no curve, as a legend box inside the plot does."""
        name, *key = parts
        self.heading.set(name, key)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """The key goes beside the buttons or under them as the width allows (the row is laid out by now)."""
        super().resizeEvent(event)
        self.heading.fit()

    def key_from_legend(self) -> None:
        """Key the title with the (hidden) legend's entries from now on: each name after a mark in its curve's colour and
        line style."""
        self.keyed_from_legend = True
        self.title_the_key()

    def title_the_key(self) -> None:
        """The title with the legend's entries as they are now."""
        entries = []
        for sample, label in self.plot.legend.items:
            pen = pg.mkPen(sample.item.opts["pen"])
            colour = key_colour(pen.color(), pen.color().alpha())
            entries.append(f'<span style="color: rgb{colour}">{PEN_MARKS.get(pen.style(), "━")} {html.escape(label.text)}</span>')
        self.set_key_title([self.title, *entries])

    def show_in_legend(self, item: pg.PlotDataItem, name: str, shown: bool = True) -> None:
        """Name ``item`` in the legend only while it is ``shown``: a key for what is not drawn takes room from the title.
        A key listed under another name is named again."""
        listed = next((label.text for sample, label in self.plot.legend.items if sample.item is item), None)
        if listed is not None and (not shown or listed != name):
            self.plot.legend.removeItem(item)
            listed = None
        if shown and listed is None:
            self.plot.legend.addItem(item, name)
        if self.keyed_from_legend:
            self.title_the_key()

    # -- subclasses describe their data -------------------------------------------------

    def columns(self) -> dict[str, np.ndarray]:
        """The plot's data as named columns (for CSV export)."""
        return {}

    def describe_at(self, x: float) -> str:
        """The readout text for the data nearest to ``x`` (in plot coordinates)."""
        return ""

    # -- tools ------------------------------------------------------------------------

    @Slot(bool)
    def _apply_log(self, on: bool) -> None:
        self.plot.setLogMode(x=self.log_x, y=on)

    @Slot(bool)
    def _follow_changed(self, on: bool) -> None:
        """Follow the data again (plots that follow a run override how)."""
        if on:
            self.plot.enableAutoRange()

    @Slot(object)
    def _mouse_moved(self, position) -> None:
        view = self.plot.getViewBox()
        if not view.sceneBoundingRect().contains(position):
            self.clear_readout()
            return
        x = view.mapSceneToView(position).x()
        self.cursor.setPos(x)
        self.cursor.show()
        self.heading.show_readout(self.readout_at(10**x if self.log_x else x))

    def readout_at(self, x: float) -> str:
        """The readout for plot coordinate ``x`` (subclasses limit it to where there are data)."""
        return self.describe_at(x)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Leave:
            self.clear_readout()
        return False

    def clear_readout(self) -> None:
        """No crosshair: the mouse left the plot, or the data it described are gone."""
        self.cursor.hide()
        self.heading.show_readout(" ")

    def export_png(self, path: str | Path) -> Path:
        """Save the plot as a PNG image, titled (OSError when it cannot be written: pyqtgraph only returns False)."""
        self._title_for_image()
        try:
            saved = ImageExporter(self.plot).export(str(path))
        finally:
            self.plot.setTitle(None)
        if saved is False:
            raise OSError(errno.EACCES, "the image could not be saved there", str(path))
        return Path(path)

    def _title_for_image(self) -> None:
        """pyqtgraph's title over the plot, on as many lines as the plot's width needs: an image is shown away from the
        window, so it carries the title and key that the toolbar's row holds on screen."""
        lines = [[self.heading.name]]
        for entry in self.heading.entries:
            self.plot.setTitle("<br>".join(KEY_SPACE.join(line) for line in [*lines[:-1], [*lines[-1], entry]]))
            if self.plot.titleLabel.item.boundingRect().width() > self.widget.width():
                lines.append([entry])
            else:
                lines[-1].append(entry)
        self.plot.setTitle("<br>".join(KEY_SPACE.join(line) for line in lines))
        # pyqtgraph gives a title one line's 30 px: the first line of a longer key was cut off at the top.
        height = max(30, int(self.plot.titleLabel.item.boundingRect().height()) + 4)
        self.plot.titleLabel.setMaximumHeight(height)
        self.plot.layout.setRowFixedHeight(0, height)
        self.plot.layout.activate()

    def export_csv(self, path: str | Path) -> Path:
        """Save the plot's data columns as CSV (columns of different lengths are padded)."""
        columns = self.columns()
        length = max((len(v) for v in columns.values()), default=0)
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for i in range(length):
                writer.writerow([repr(float(v[i])) if i < len(v) else "" for v in columns.values()])
        return Path(path)

    def _ask_and_save(self, kind: str, save) -> None:
        name = self.title.lower().replace(" ", "-")
        path = dialogs.ask_save_path(self, f"Save {self.title}", f"{name}.{kind[-4:-1]}", kind)
        if path:
            try:
                save(path)
            except OSError as error:  # an unwritable folder was "Something went wrong" with a traceback (CSV), or nothing (PNG)
                dialogs.show_error(self, f"Cannot save {self.title}", cannot_write(path, error))
