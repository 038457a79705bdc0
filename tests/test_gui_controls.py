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


def test_one_action_one_name_and_one_setting_one_name(qtbot, window):
    """The Run menu said "Unfreeze now" beside the Groups tab's "Unfreeze all now"; the Health tab's "measure every"
    and the configuration's "λmax every" named one setting two ways; "Use as constant LR" spoke of a peak."""
    from PySide6.QtWidgets import QLabel

    button, action = window.group_table.unfreeze, window.unfreeze_action
    assert action.text() == button.text() == "Unfreeze all now"
    assert action in window.run_menu.actions()
    config = window.config_panel.editors["curvature_every"]
    health = window.curvature.cadence
    assert "λmax every" in [label.text() for label in health.parentWidget().findChildren(QLabel)]
    assert window.config_panel.layout().labelForField(config).text() == "λmax every"
    # the same setting in two places: each tooltip says which run it is for
    assert "next run" in config.toolTip() and "running run" in health.toolTip()
    # With no run going it set nothing, and said "curvature measured every 10 steps from now on" (helper-126).
    assert not health.isEnabled() and "Enabled while a run is going" in health.toolTip()
    assert "peak" not in window.range_panel.use_constant.toolTip()


def test_the_buttons_say_what_they_do_and_disabled_ones_what_enables_them(qtbot, window):
    """The range test's Cancel, Recent and the warning's Dismiss had no tooltip; the greyed buttons of the Runs, Tune
    and Range test tabs gave no hint why."""
    from PySide6.QtWidgets import QAbstractButton, QCheckBox, QRadioButton

    for title in ("Runs", "Tune", "Range test"):
        show_tab(window.tabs, title)
        shown = [button for button in window.tabs.currentWidget().findChildren(QAbstractButton)
                 if button.isVisible() and not isinstance(button, (QCheckBox, QRadioButton))]
        assert [button.text() for button in shown if not button.toolTip()] == [], title
        disabled = [button for button in shown if not button.isEnabled()]
        assert disabled and [button.text() for button in disabled if "Enabled" not in button.toolTip()] == [], title
    assert window.dataset_panel.recent.toolTip() and window.banner.dismiss.toolTip()
