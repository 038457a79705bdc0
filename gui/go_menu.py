"""The Go menu: keys that bring a tab or a field forward with the keyboard focus in it. Without them a keyboard user
reached the schedule editor through every control before it, if at all, and could switch no tab (helper-83)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QScrollArea, QTabWidget, QWidget

from .window_actions import make_action

# In the tab bars' order: Ctrl+1 is the first central tab, Alt+1 the left panel's first.
CENTRAL_TABS = ("Training", "Health", "Range test", "Runs", "Tune")
SIDE_TABS = ("Dataset", "Configuration", "Groups")


def bring_forward(widget: QWidget) -> None:
    """Show the dock, select the tabs and scroll the area that ``widget`` lies in, so that it is in sight."""
    outer = widget
    while (outer := outer.parentWidget()) is not None:
        if isinstance(outer, QTabWidget):
            outer.setCurrentIndex(next(i for i in range(outer.count()) if outer.widget(i).isAncestorOf(widget)
                                       or outer.widget(i) is widget))
        elif isinstance(outer, QDockWidget):
            outer.show()  # hidden from the View menu, or tabbed behind another dock
            outer.raise_()
        elif isinstance(outer, QScrollArea):
            outer.ensureWidgetVisible(widget)


def focus_field(field: QWidget) -> None:
    """``field`` in sight with the keyboard focus (a line edit's text selected, ready to be typed over)."""
    bring_forward(field)
    field.setFocus(Qt.FocusReason.ShortcutFocusReason)


def focus_tab(tabs: QTabWidget, title: str) -> None:
    """The tab called ``title`` shown, the focus on its tab bar: the arrows go on to the next tab, Tab into the page."""
    page = tabs.widget(next(i for i in range(tabs.count()) if tabs.tabText(i) == title))
    bring_forward(page)
    tabs.tabBar().setFocus(Qt.FocusReason.ShortcutFocusReason)


def build_go_menu(window: QMainWindow) -> None:
    """The Go menu, between View and Run, and its actions as ``window.go_actions`` (by their menu text)."""
    menu = QMenu("&Go", window)
    window.menuBar().insertMenu(window.run_menu.menuAction(), menu)
    editor = window.editor
    fields = (("Peak LR field", "Ctrl+Shift+P", "Type the schedule editor's peak LR (Enter uses the preset)", editor.peak),
              ("Segment table", "Ctrl+Shift+S", "Choose a segment of the schedule editor with the arrow keys", editor.table),
              ("Set LR now field", "Ctrl+Shift+N", "Type the LR to hold from now on (Enter sets it; during a run)", editor.set_lr),
              ("Scale the rest field", "Ctrl+Shift+X", "Type the factor for every LR still to come (Enter scales them; during a run)",
               editor.scale_by))
    window.go_actions = {}
    for text, key, tip, field in fields:
        window.go_actions[text] = make_action(window, text, key, tip, lambda field=field: focus_field(field))
    menu.addActions(list(window.go_actions.values()))
    menu.addSeparator()
    for tabs, titles, modifier in ((window.tabs, CENTRAL_TABS, "Ctrl"), (window.side_tabs, SIDE_TABS, "Alt")):
        for number, title in enumerate(titles, start=1):
            window.go_actions[title] = action = make_action(window, f"{title} tab", f"{modifier}+{number}", f"Show the {title} tab",
                                                            lambda tabs=tabs, title=title: focus_tab(tabs, title))
            menu.addAction(action)
    window.go_menu = menu
