"""2 and 5. The same training with the window open and plotting live; event-loop lateness; a 1M-point redraw."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time

import numpy as np

from .common import Row, alternate, median_spread, ratio_row
from .workloads import QUICK_RESOLUTION, bare_loop, config, digits_folder


def run_until(predicate, timeout: float) -> None:
    """Run the Qt event loop until ``predicate()`` holds (checked every 20 ms)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    check = QTimer()
    check.timeout.connect(lambda: loop.quit() if predicate() else None)
    check.start(20)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    check.stop()


class Lateness:
    """A 10 ms timer on the GUI thread; how late each tick comes is how long the event loop stalled."""

    def __init__(self):
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.ticks: list[float] = []

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def start(self) -> None:
        self.ticks = []
        self.timer.start()

    def stop(self) -> np.ndarray:
        """Lateness of each tick in ms."""
        self.timer.stop()
        return np.maximum(np.diff(self.ticks) * 1000 - 10, 0) if len(self.ticks) > 1 else np.zeros(1)


def bare_in_worker(dataset, settings, steps: int) -> float:
    """The bare loop on a fresh worker thread, the (idle) window alive: the same thread setup as the app.

    A thread that runs torch ops gets an OpenMP team of its own; if the GUI thread ran torch, its
    team's spinning threads would compete with the worker's on a 2-core machine (the app never
    does that, so neither does this benchmark).
    """
    from gui.tasks import lower_priority

    result: list[float] = []

    def work() -> None:
        lower_priority()
        result.append(bare_loop(dataset, settings, steps))

    thread = threading.Thread(target=work, name="lrscope-bench-bare")
    thread.start()
    run_until(lambda: not thread.is_alive(), 600)
    thread.join()
    return result[0]


def window_run(window, lateness: Lateness | None = None, late: list | None = None, gui_share: list | None = None) -> float:
    """Train once from the window (the engine on its worker thread, plots live); training seconds.

    With ``lateness``, a 10 ms timer also runs (in separate runs: its own ticks would cost the training).
    With ``gui_share``, the GUI thread's CPU time during the run is appended, in % of what the machine's
    cores offered meanwhile: on a machine that training keeps busy, the GUI takes that share from it.
    """
    window.last_run = None
    if lateness is not None:
        lateness.start()
    cpu, wall = time.thread_time(), time.perf_counter()
    window.start_run()
    run_until(lambda: window.last_run is not None, 600)
    if gui_share is not None:
        gui_share.append(100 * (time.thread_time() - cpu) / ((time.perf_counter() - wall) * (os.cpu_count() or 1)))
    if lateness is not None:
        late.append(lateness.stop())
    return window.last_run.outcome.train_seconds


def redraw_million(repeats: int) -> list[float]:
    """Seconds to push a million-point loss curve to a plot and render it, ``repeats`` times."""
    from gui.plots.loss_plot import LossPlot

    plot = LossPlot()
    plot.resize(900, 400)
    plot.show()
    steps = np.arange(1_000_000)
    plot.add_steps(steps, 2.0 * np.exp(-steps / 2e5) + np.random.default_rng(0).normal(0, 0.1, len(steps)))
    times = []
    for _ in range(repeats):
        plot.dirty = True
        started = time.perf_counter()
        plot.refresh()
        plot.widget.grab()
        times.append(time.perf_counter() - started)
    plot.close()
    return times


def full_collections(repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of a full garbage collection on the GUI thread, before and after the app sets aside the objects alive
    once torch is imported (gui.app does it then); the objects are let back in afterwards for the other benchmarks."""
    import gc

    from gui.app import set_aside_imported_objects

    def timed() -> float:
        started = time.perf_counter()
        gc.collect()
        return time.perf_counter() - started

    before = [timed() for _ in range(repeats)]
    set_aside_imported_objects()
    after = [timed() for _ in range(repeats)]
    gc.unfreeze()
    return before, after


def run(quick: bool) -> list:
    """Rows: steps/s with the window open ÷ bare loop; timer lateness (max, p99); 1M-point redraw."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow
    from gui.settings import open_settings, save_config

    _app = QApplication.instance() or QApplication([])  # kept referenced for the whole benchmark
    sys.setswitchinterval(0.001)  # as gui.app.run_app does
    epochs = 1 if quick else 6
    with tempfile.TemporaryDirectory() as home:
        for name in ("SETTINGS", "RUNS", "LIBRARY", "CACHE"):
            os.environ[f"LRSCOPE_{name}_DIR"] = os.path.join(home, name.lower())
        settings = open_settings()
        save_config(settings, {"epochs": epochs, "augment": "none", "batch_size": 64, "image_size": QUICK_RESOLUTION if quick else 0})
        window = MainWindow(settings, digits_folder(quick))
        window.show()
        run_until(lambda: window.dataset is not None, 120)
        window.editor.preset.setCurrentText("cosine")
        window.editor.peak.setText("0.1")
        window.editor.use_preset()
        dataset, settings_ = window.dataset, config(epochs=epochs)
        steps = epochs * (len(dataset.train_index) // 64)
        lateness, late, gui_share = Lateness(), [], []
        if not quick:  # a warm-up run, so that the first measured one pays no first-time costs
            window_run(window)
        repeats = 1 if quick else 8
        ours, bare = alternate(lambda: window_run(window, gui_share=gui_share), lambda: bare_in_worker(dataset, settings_, steps),
                               repeats)
        for _ in range(1 if quick else 3):
            window_run(window, lateness, late)
        collections = full_collections(1 if quick else 3)
        window.close()
        redraws = redraw_million(1 if quick else 3)
    stalls = np.concatenate(late)
    maximum, p99 = float(stalls.max()), float(np.percentile(stalls, 99))
    redraw, spread = median_spread([1000 * t for t in redraws])
    share, share_spread = median_spread(gui_share)
    return [
        ratio_row("window overhead", "steps/s, training from the window ÷ bare loop", bare, ours, target=0.95, at_least=True,
                  note="window offscreen, plots updating live; both loops on a worker thread, as in the app"),
        Row("window overhead", "GUI thread's CPU time during a run, share of the machine, measured in the same runs", share,
            share_spread, "%", "≤ 5 %", share <= 5, "event drain, plot updates and painting"),
        Row("GUI responsiveness", "lateness of a 10 ms timer during training: max", maximum, (maximum, maximum), "ms", "< 50 ms",
            maximum < 50, f"p99 {p99:.1f} ms over {len(stalls)} ticks"),
        Row("GUI responsiveness", "a full garbage collection on the GUI thread (pyqtgraph's collector: one about every 2 min of "
            "training)", 1000 * statistics.median(collections[1]), tuple(1000 * t for t in (min(collections[1]), max(collections[1]))),
            "ms", "< 50 ms", max(collections[1]) < 0.05,
            f"the objects alive once torch is imported set aside, as the app does; {1000 * statistics.median(collections[0]):.0f} ms "
            "without"),
        Row("GUI responsiveness", "setData + render of a 1,000,000-point curve", redraw, spread, "ms", "< 30 ms", redraw < 30,
            "peak downsampling, clip to view"),
    ]
