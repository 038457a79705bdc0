"""Controls stay where the user aims: a message that comes, goes or grows a line moves none of them."""

from gui_fixtures import laid_out, position

from gui.driving import show_tab, type_into


def test_a_refused_configuration_value_moves_no_field_under_the_mouse(window):
    """The reason a value was refused appeared above the form and pushed every field down a line or two while the user
    was about to click the next one."""
    panel = window.config_panel
    show_tab(window.side_tabs, "Configuration")
    fields = {name: panel.editors[name] for name in ("epochs", "image_size", "seed")}
    laid_out()
    before = {name: position(field, window) for name, field in fields.items()}
    for name, typed in (("batch_size", "0"), ("momentum", "2"), ("weight_decay", "-1"), ("batch_size", "64")):
        type_into(panel.editors[name], typed)
        laid_out()
        assert {name: position(field, window) for name, field in fields.items()} == before, f"{name} = {typed}"
    # Two reasons at once are more than its lines hold at this width: the first is said, the other counted.
    assert panel.message.text().startswith("momentum: must be") and "1 other value cannot work (see the tooltip)" in panel.message.text()
    assert "weight decay: must be" in panel.message.toolTip()


def test_the_tune_budget_note_moves_no_button_as_the_budget_changes(window):
    """The note on a budget too small to compare LRs came with a smaller budget, and changed its number of lines with
    it: Start tune moved down as the user was about to press it."""
    panel = window.tune_panel
    show_tab(window.tabs, "Tune")
    type_into(panel.budget, "5")
    laid_out()
    assert "Note:" not in panel.plan_label.text()
    before = position(panel.start, window), position(panel.cancel, window)
    for typed, says in (("3", "leaves room for one full run"), ("4", "about one other trial"), ("12", "")):
        type_into(panel.budget, typed)
        laid_out()
        assert says in panel.plan_label.text()
        assert (position(panel.start, window), position(panel.cancel, window)) == before, typed
    type_into(panel.minutes, "10")  # a budget in minutes says less
    laid_out()
    assert "10 min" in panel.plan_label.text() and position(panel.start, window) == before[0]
