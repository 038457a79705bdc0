"""The open dataset's library in the window: the Dataset tab's list and File → Schedules tuned for this dataset show what
the library holds whenever they are shown, and a received file is added from the File menu or the list's right-click."""

import json

from gui_fixtures import LONG
from helpers import cli

from gui.driving import trigger


def shown(window) -> list[str]:
    """The Dataset tab's list of tuned schedules, as read."""
    library = window.dataset_panel.library
    return [library.item(row).text() for row in range(library.count())]


def exported(qtbot, window, dialogs, path):
    """Export the editor's schedule (which adds it to the library) to ``path``."""
    dialogs.answer("save_path", str(path))
    trigger(window.export_action)
    qtbot.waitUntil(path.exists, timeout=LONG)
    return json.loads(path.read_text())


def rewritten(path, document, **dataset):
    """``document`` with another peak LR (and dataset fields), written to ``path``: a schedule tuned elsewhere."""
    changed = json.loads(json.dumps(document))
    changed["created"] = "2020-01-02T03:04:05+00:00"
    changed["timeline"][-1]["segments"][0]["max_lr"] = 0.05
    changed["dataset"].update(dataset)
    path.write_text(json.dumps(changed))
    return path


def test_schedules_the_command_line_adds_or_deletes_show_when_the_window_is_active_again_or_the_menu_opens(qtbot, window, dialogs,
                                                                                                         tmp_path, capsys):
    """The Dataset tab's list kept what the open had found: File → Schedules tuned for this dataset listed 3 schedules,
    the list 1 (helper-80)."""
    from PySide6.QtWidgets import QWidget

    document = exported(qtbot, window, dialogs, tmp_path / "mine.lrschedule.json")
    assert len(shown(window)) == 1
    terminal = QWidget()  # where the user types `lrscope …` while the window waits behind it
    terminal.show()
    terminal.activateWindow()
    qtbot.waitUntil(terminal.isActiveWindow)
    assert cli(capsys, "schedule", "add", rewritten(tmp_path / "received.json", document))[0] == 0
    window.activateWindow()
    qtbot.waitUntil(lambda: len(shown(window)) == 2, timeout=LONG)
    entries = json.loads(cli(capsys, "schedule", "list", "--json")[1])
    assert cli(capsys, "schedule", "delete", entries[0]["file"])[0] == 0  # the window stays active: the menu reads it again
    window.library_menu.popup(window.mapToGlobal(window.rect().center()))
    qtbot.waitUntil(lambda: [a.text() for a in window.library_menu.actions()] == shown(window), timeout=LONG)
    window.library_menu.close()
    assert len(shown(window)) == 1 and "0.05" in shown(window)[0]
    terminal.close()


def test_a_received_file_is_added_to_its_datasets_library_from_the_file_menu_and_the_lists_right_click(qtbot, window, dialogs,
                                                                                                      tmp_path):
    """Import only loaded a received file into the editor; nothing put it in the library (helper-80)."""
    document = exported(qtbot, window, dialogs, tmp_path / "mine.lrschedule.json")
    assert window.add_to_library_action in window.file_menu.actions()
    assert window.add_to_library_action in window.dataset_panel.library.actions()  # right-click, beside Delete
    ours = rewritten(tmp_path / "ours.json", document)
    dialogs.answer("open_file", str(ours))
    trigger(window.add_to_library_action)
    assert dialogs.of("open_file")[-1].title == "Add a schedule file to the library"
    assert len(shown(window)) == 2 and any("0.05" in line for line in shown(window))
    assert f"{ours}: added to this dataset's library, as " in window.log.toPlainText()
    # Tuned on another dataset: it goes to that dataset's library, and the log says where.
    theirs = rewritten(tmp_path / "theirs.json", document, name="digits-camera2", fingerprint="0123456789abcdef")
    dialogs.answer("open_file", str(theirs))
    trigger(window.add_to_library_action)
    assert len(shown(window)) == 2
    assert f"{theirs}: added to the library of 'digits-camera2' (0123456789abcdef), the dataset it was tuned on" in window.log.toPlainText()
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps({**document, "dataset": {"name": "x", "fingerprint": "../../../etc"}}))
    dialogs.answer("open_file", str(hostile))
    trigger(window.add_to_library_action)
    assert dialogs.of("error")[-1].title == "Cannot add to the library"
    assert "is not a dataset fingerprint" in dialogs.of("error")[-1].text and len(shown(window)) == 2
