"""A dataset's draft keeps where it came from: a schedule imported from another dataset says so when a relaunch restores it."""

from gui_fixtures import SMALL, exported_then_another_opened, opened
from helpers import SAMPLE

from gui.driving import click, press, trigger


def test_a_schedule_imported_from_another_dataset_is_said_to_be_so_when_a_relaunch_restores_it(qtbot, launch, dialogs, tmp_path):
    """After Yes to "tuned for another dataset", a relaunch showed it as the dataset's own draft, without a word (helper-80)."""
    window = launch(SMALL)
    path = tmp_path / "digits.lrschedule.json"
    exported_then_another_opened(qtbot, window, dialogs, path)
    dialogs.answer("open_file", str(path))
    dialogs.answer("yes_no", True)
    trigger(window.import_action)
    assert dialogs.of("yes_no")[-1].title == "Schedule tuned for another dataset"
    press(window, "Ctrl+Q")

    said = "digits-camera2's draft in the editor is a schedule tuned on 'digits'"
    again = launch()
    opened(qtbot, again, "digits-camera2")
    restored = again.log.toPlainText()
    assert said in restored and f"imported from {path}" in restored
    # A preset used replaces it: the next relaunch says nothing.
    click(again.editor.use_button)
    press(again, "Ctrl+Q")
    third = launch()
    opened(qtbot, third, "digits-camera2")
    assert said not in third.log.toPlainText()
    dialogs.answer("open_folder", str(SAMPLE))
    trigger(third.open_action)
    opened(qtbot, third, "digits")
    assert "draft in the editor is a schedule tuned on" not in third.log.toPlainText()
