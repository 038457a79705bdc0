"""The schedule editor at laptop sizes, as a user sees it: a segment's every field in sight, nothing to scroll sideways."""

from gui_fixtures import LONG

from gui.driving import choose, click, select_rows


def editor_area(window):
    """The scroll area the Schedule dock shows the editor in."""
    from PySide6.QtWidgets import QScrollArea

    return next(area for area in window.findChildren(QScrollArea) if area.widget() is window.editor)


def segment_fields(window) -> dict:
    """The selected segment's fields and their labels, by what each says (a field by its parameter's name)."""
    from PySide6.QtWidgets import QLabel

    form = window.editor.form
    labels = {label.text(): label for label in form.findChildren(QLabel) if label.isVisible() and label.text()}
    return labels | form.editors


def where(widget, area):
    """``widget``'s rectangle in the area's viewport, the part of the dock the user sees."""
    from PySide6.QtCore import QRect

    return QRect(widget.mapTo(area.viewport(), widget.rect().topLeft()), widget.size())


def cut_off(window, across_only: bool = False) -> list[str]:
    """The fields (and labels) not wholly inside the visible part of the editor (``across_only``: cut at its sides, not
    merely scrolled out of sight above or below)."""
    area = editor_area(window)
    seen = area.viewport().rect()
    if across_only:
        seen.setTop(-1_000_000)
        seen.setBottom(1_000_000)
    return [name for name, widget in segment_fields(window).items() if not seen.contains(where(widget, area))]


def overlapping(window) -> list[tuple[str, str]]:
    """Fields and labels drawn over one another."""
    area = editor_area(window)
    shown = [(name, where(widget, area)) for name, widget in segment_fields(window).items()]
    return [(a, b) for i, (a, one) in enumerate(shown) for b, other in shown[i + 1:] if one.intersects(other)]


def settles_with_none(qtbot, listing) -> None:
    """Wait for the layout to settle with ``listing()`` empty; else fail naming what it still lists."""

    def empty():
        assert not (listed := listing()), listed

    qtbot.waitUntil(empty, timeout=5000)


def test_every_field_of_a_segment_is_in_sight_at_1366_by_768_and_none_cut_at_1024_by_600(qtbot, window):
    """At 1366×768 the default one-cycle's fields below "max lr" were below the Schedule dock's fold (its form scrolled),
    and at 1024×600 the editor was wider than the dock: it scrolled sideways, Remove and the peak LR cut off."""
    editor, area = window.editor, editor_area(window)
    assert (window.width(), window.height()) == (1366, 768)  # the laptop screen the tests run on (conftest.py)
    choose(editor.kind, "cyclic")  # the other segment of ten fields, added after the one-cycle the window starts with
    click(editor.add_button)
    for row, kind in enumerate(("one_cycle", "cyclic")):
        select_rows(editor.table, [row])
        assert editor.form.segment.kind == kind
        settles_with_none(qtbot, lambda: cut_off(window))
        assert area.verticalScrollBar().value() == 0 and area.horizontalScrollBar().maximum() == 0
        assert not overlapping(window), kind
    window.resize(1024, 600)  # a netbook, or a window at half a 1920 px screen
    qtbot.waitUntil(lambda: window.width() == 1024 and area.viewport().width() < 300, timeout=LONG)
    for row in (0, 1):
        select_rows(editor.table, [row])
        settles_with_none(qtbot, lambda: cut_off(window, across_only=True))  # it may scroll down, not sideways
        assert area.horizontalScrollBar().maximum() == 0 and not overlapping(window)


def test_the_during_a_run_box_packs_itself_closer_at_1024_by_600(qtbot, window):
    """At 1024×600 the "During a run" box took 254 of the Schedule column's 507 px, and the editor above it, the thing
    being edited, had the other half; at 1366×768 it keeps its room."""
    box, area = window.editor.run_edits, editor_area(window)
    roomy = box.height()
    window.resize(1024, 600)
    qtbot.waitUntil(lambda: window.width() == 1024 and area.viewport().width() < 300, timeout=LONG)
    qtbot.waitUntil(lambda: box.height() <= 210, timeout=5000)
    for control in (box.apply, box.undo, box.redo, box.from_current, box.set_lr, box.set_now, box.scale_by, box.scale_now, box.history):
        assert box.rect().contains(control.geometry()), control  # every control still there, whole
    window.resize(1366, 768)
    qtbot.waitUntil(lambda: box.height() == roomy, timeout=5000)
