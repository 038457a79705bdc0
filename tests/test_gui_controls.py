"""What the window's controls say and which of them apply, as a user meets them (helper-83 findings 6, 9 and 10)."""

import pytest
from PySide6.QtWidgets import QWidget

from gui.driving import click, show_tab

pytest.importorskip("pytestqt")


def test_the_range_test_form_enables_only_the_chosen_modes_fields(qtbot, window):
    """In sweep mode the probe's fields (tooltips "Probe: …") stayed editable, and the sweep's in probe mode."""
    panel = window.range_panel
    show_tab(window.tabs, "Range test")
    fields = [field for field in panel.findChildren(QWidget) if field.toolTip().startswith(("Sweep:", "Probe:"))]
    assert {panel.iterations, panel.linear, panel.validation, panel.count, panel.steps} <= set(fields)
    for mode, own in ((panel.probe, "Probe:"), (panel.sweep, "Sweep:")):
        click(mode)
        assert all(field.isEnabled() == field.toolTip().startswith(own) for field in fields), mode.text()
        assert panel.form.labelForField(panel.count).isEnabled() == (own == "Probe:")
