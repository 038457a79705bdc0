"""A plot's title and key in its toolbar's row, and the crosshair readout in the title's place while the mouse is over
the plot. Above the plot, as pyqtgraph sets a title, it took 30 px of every plot's height: at 1024 x 600 the accuracy and
momentum plots kept views of 10 px and less."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument, QTextOption
from PySide6.QtWidgets import QLabel, QSizePolicy, QStackedWidget

KEY_SPACE = " &nbsp;"  # between the entries of a key
# An entry of a key breaks onto the next line whole: "━" at one line's end and "applied" at the next's read as two.
KEY_ENTRY = '<span style="white-space: nowrap">{}</span>'


def label_beside_buttons(text: str = "", *, wraps: bool = False) -> QLabel:
    """A label that takes the width left beside the buttons: a long title wraps, a long readout is clipped, and neither
    widens the plot."""
    label = QLabel(text)
    label.setWordWrap(wraps)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter if wraps else Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)
    return label


def text_width(html: str, label: QLabel, wrapped_at: float = -1) -> float:
    """How wide ``html`` is in ``label``'s font: on one line, or wrapped at ``wrapped_at`` px (wider than that when a word
    is)."""
    document = QTextDocument()
    document.setDocumentMargin(0)
    document.setDefaultFont(label.font())
    document.setDefaultTextOption(QTextOption(label.alignment()))  # wraps between words only, as a label does
    document.setHtml(html)
    document.setTextWidth(wrapped_at)
    return document.idealWidth()


class PlotHeading:
    """The title (the plot's name, then its key's entries) beside the toolbar's buttons while it fits there on one line;
    otherwise what does not fit goes on lines of its own under the row, the plot's full width, as few as it needs."""

    def __init__(self):
        self.title, self.readout, self.key = label_beside_buttons(wraps=True), label_beside_buttons(" "), label_beside_buttons(wraps=True)
        # One place for the title and the readout, as tall as the taller: the view keeps its height as the mouse comes.
        self.place = QStackedWidget()
        self.place.addWidget(self.title)
        self.place.addWidget(self.readout)
        self.key.hide()
        self.name, self.entries = "", []

    def set(self, name: str, entries: list[str]) -> None:
        """Show ``name`` and the key's ``entries`` (rich text)."""
        shown = f"<b>{name}</b>", [KEY_ENTRY.format(entry) for entry in entries]
        if shown == (self.name, self.entries):  # the momentum plot sets its key at every redraw of a run's steps
            return
        self.name, self.entries = shown
        self.fit()

    def text(self) -> str:
        """The whole title as rich text, on one line."""
        return KEY_SPACE.join([self.name, *self.entries])

    def fit(self) -> None:
        """Place the title for the width the row now leaves it: all of it beside the buttons when it fits on one line;
        else the key under the row; and the name too when one of its words is wider than the room beside the buttons."""
        width = self.place.width()
        name_fits = text_width(self.name, self.title, wrapped_at=width) <= width
        if text_width(self.text(), self.title) <= width or (name_fits and not self.entries):
            beside, under = self.text(), ""
        elif name_fits:
            beside, under = self.name, KEY_SPACE.join(self.entries)
        else:
            beside, under = "", self.text()
        self.title.setText(beside)
        self.key.setText(under)
        self.key.setVisible(bool(under))

    def show_readout(self, said: str) -> None:
        """The crosshair's readout in the title's place (the title again when there is nothing to say)."""
        self.readout.setText(said)
        self.place.setCurrentWidget(self.readout if said.strip() else self.title)
