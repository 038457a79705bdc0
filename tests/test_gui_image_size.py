"""An image size typed into the Configuration tab: the images are decoded again once, at the size the field ends at."""

import re
import threading

import pytest
from gui_fixtures import LONG, SMALL

from gui.driving import trigger, type_into

pytest.importorskip("pytestqt")


def openings(window) -> int:
    """How many times the window has started to open a folder."""
    return window.log.toPlainText().count("opening /")


def shown_at(window, size: int) -> bool:
    return window.dataset is not None and window.dataset.summary.resolution == size


def test_a_typed_image_size_decodes_the_images_once_typing_pauses(qtbot, launch):
    """Typing 96 decoded the images at 9 px, then at 96: a decode per keystroke the field accepts (for a large
    dataset, minutes of work thrown away)."""
    window = launch(SMALL)
    before = openings(window)
    type_into(window.config_panel.editors["image_size"], "96")
    assert not window.start_action.isEnabled()  # the images shown are no longer the ones the field asks for
    qtbot.waitUntil(lambda: shown_at(window, 96), timeout=LONG)
    assert openings(window) == before + 1
    assert window.start_action.isEnabled()


def test_a_decode_asked_before_the_size_was_typed_again_is_not_the_one_shown(qtbot, launch, monkeypatch):
    """A decode at 12 px that ended after the one at 96 px typed next replaced it: the window showed (and the next Start
    trained on) 12 px images beside a field that said 96."""
    import gui.run_controller

    prepare, released = gui.run_controller.prepare_dataset, threading.Event()

    def slow_at_12(folder, **options):
        if options["resolution"] == 12:
            released.wait(LONG / 1000)  # a large dataset's decode, still going when the next size is typed
        return prepare(folder, **options)

    monkeypatch.setattr(gui.run_controller, "prepare_dataset", slow_at_12)
    window = launch(SMALL)
    before = openings(window)
    type_into(window.config_panel.editors["image_size"], "12")
    qtbot.waitUntil(lambda: openings(window) == before + 1, timeout=LONG)  # decoding at 12 px
    type_into(window.config_panel.editors["image_size"], "96")
    qtbot.waitUntil(lambda: shown_at(window, 96), timeout=LONG)
    released.set()
    qtbot.waitUntil(lambda: not window.controller.tasks.busy("open"), timeout=LONG)
    qtbot.wait(200)  # the 12 px decode's end has reached the window
    assert shown_at(window, 96) and window.start_action.isEnabled()
    trigger(window.start_action)
    qtbot.waitUntil(lambda: window.live.dataset.get("resolution") == 96, timeout=LONG)
    assert re.search(r"run \S+ on .*: digits at 96 px, \d+ steps", window.log.toPlainText())  # the log said no size (helper-126)
    trigger(window.stop_action)
    qtbot.waitUntil(lambda: not window.controller.training, timeout=LONG)
