"""The layering holds: the engine never imports Qt, and the window opens before torch is imported."""

import subprocess
import sys

from helpers import ROOT


def imported_after(code: str) -> set[str]:
    """Top-level modules loaded by running ``code`` in a fresh interpreter."""
    script = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_every_engine_module_imports_without_qt():
    code = ("import importlib, pkgutil, engine\n"
            "for m in pkgutil.walk_packages(engine.__path__, 'engine.'): importlib.import_module(m.name)")
    loaded = imported_after(code)
    assert "torch" in loaded and not loaded & {"PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6"}


def test_the_window_module_does_not_import_torch():
    loaded = imported_after("import gui.app, gui.main_window")
    assert "PySide6" in loaded and "torch" not in loaded and "torchvision" not in loaded


def test_the_model_registry_matches_the_config_choices():
    from engine.config import MODEL_NAMES
    from engine.models import MODELS

    assert set(MODELS) == set(MODEL_NAMES)


def imported_by_command(args: list[str]) -> set[str]:
    """Top-level modules loaded by ``lrscope ARGS`` (the real command line) in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(ROOT)})
    assert "Traceback" not in done.stderr, done.stderr
    return {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if line.startswith("import time:")}


def test_commands_that_do_not_train_never_import_torch(tmp_path):
    from engine.schedules import RunSchedule, Timeline, save_schedule, schedule_document
    from engine.schedules.presets import preset
    from engine.store import RunStore

    store = RunStore.create(tmp_path / "runs", {"model": "small_cnn"}, {"name": "digits"})
    store.close()
    schedule = save_schedule(tmp_path / "s.json", schedule_document(RunSchedule(Timeline.of(preset("cosine", 0.1, 50)))))
    runs = ["--runs-dir", str(tmp_path / "runs")]
    for args in (["--help"], ["runs", *runs], ["show", store.run_id, *runs], ["show", store.run_id, "--csv", *runs],
                 ["schedule", "show", str(schedule)], ["schedule", "csv", str(schedule)], ["watch", store.run_id, *runs],
                 ["ctl", store.run_id, *runs, "set-lr", "0.1"]):
        loaded = imported_by_command(args)
        assert "engine" in loaded and "torch" not in loaded and "torchvision" not in loaded, args
