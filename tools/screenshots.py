"""Take the README's screenshots from the real app: a run with a mid-run edit, then a range test mid-run.

    xvfb-run -a -s "-screen 0 1600x1000x24" python tools/screenshots.py docs/images
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def wait(predicate, timeout: float = 300.0) -> None:
    """Run the event loop until ``predicate()`` holds."""
    loop, check = QEventLoop(), QTimer()
    check.timeout.connect(lambda: loop.quit() if predicate() else None)
    check.start(50)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    check.stop()


def pause(seconds: float) -> None:
    """Let the window draw for a moment."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main() -> None:
    """Drive the window as a user would and grab the screen twice."""
    import os

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp()
    for name in ("SETTINGS", "RUNS", "LIBRARY", "CACHE"):
        os.environ[f"LRSCOPE_{name}_DIR"] = os.path.join(home, name.lower())
    sys.setswitchinterval(0.001)
    app = QApplication([])
    app.setApplicationName("lrscope")
    from engine.commands import EditSchedule
    from engine.schedules import Cosine, ReplaceRest, Schedule
    from gui.main_window import MainWindow
    from gui.settings import open_settings, save_config

    settings = open_settings()
    save_config(settings, {"epochs": 12})
    window = MainWindow(settings, ROOT / "resources" / "datasets" / "digits")
    window.resize(1600, 1000)
    window.show()
    wait(lambda: window.dataset is not None)
    window.start_run()
    wait(lambda: window.live.step >= 140)
    window.controller.send(EditSchedule(ReplaceRest(Schedule((Cosine(steps=124, start_lr=0.02),)))))
    wait(lambda: window.live.step >= 200)
    pause(1.0)
    window.screen().grabWindow(0).save(str(out / "training.png"))
    window.range_panel.start.click()
    wait(lambda: window.last_range_test is not None)
    pause(1.5)
    window.screen().grabWindow(0).save(str(out / "range-test.png"))
    wait(lambda: window.last_run is not None)
    window.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
