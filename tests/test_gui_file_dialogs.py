"""The window's real file dialogs (the one seam the other tests script): they never read the files they list."""

import pytest
from PySide6.QtWidgets import QFileSystemModel

from gui.dialogs import file_dialog


@pytest.mark.parametrize("mode", ["open", "save"])
def test_a_file_dialog_tells_a_files_kind_by_its_name_without_reading_it(qtbot, tmp_path, mode):
    """Typing a path in /proc froze the window for good: Qt read each listed file's first bytes to tell its kind, and
    a read of /proc/kmsg waits for data that never comes. A file that begins like a PDF is told by its name here."""
    (tmp_path / "data").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "tuned.json").write_text("{}")
    dialog = file_dialog(None, "Export", str(tmp_path), mode=mode)
    qtbot.addWidget(dialog)
    dialog.open()
    model = dialog.findChild(QFileSystemModel)
    qtbot.waitUntil(lambda: model.rowCount(model.index(str(tmp_path))) >= 1, timeout=10_000)
    assert model.type(model.index(str(tmp_path / "data"))) == "File"  # read, it said "PDF document"
    assert model.type(model.index(str(tmp_path / "tuned.json"))) == "JSON document"
    dialog.reject()
