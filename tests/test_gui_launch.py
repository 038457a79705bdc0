"""The app as a process: a headless smoke test, and a real X window under Xvfb with a screenshot."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, cli_done
from PIL import Image


def app_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(extra)
    return env


def prepared_settings(settings_dir, epochs: int = 2):
    """Settings for runs of ``epochs`` at 16 px (two epochs draw the accuracy curve as a line, not a dot)."""
    from PySide6.QtCore import QSettings

    settings = QSettings(str(settings_dir / "lrscope.ini"), QSettings.Format.IniFormat)
    settings.setValue("config/fields", f'{{"image_size": 16, "epochs": {epochs}}}')
    settings.sync()


def test_the_app_starts_and_quits_by_itself(tmp_path):
    env = app_env(QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "--quit-after", "1"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_lrscope_dir_opens_the_app_on_that_folder(tmp_path):
    """What people type first; it said "invalid choice: 'DIR' (choose from 'gui', 'train', …)"."""
    from helpers import CAMERA2

    prepared_settings(tmp_path / "settings", epochs=1)  # one run of that folder's, however short, is what is looked for
    env = app_env(QT_QPA_PLATFORM="offscreen", LRSCOPE_SETTINGS_DIR=str(tmp_path / "settings"))
    # --start: it quits once the run on that folder has ended, however slow the machine.
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), str(CAMERA2), "--start", "--quit-after", "0.1"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"last={CAMERA2}" in (tmp_path / "settings" / "lrscope.ini").read_text()
    assert ["-digits-camera2-" in run.name for run in Path(os.environ["LRSCOPE_RUNS_DIR"]).iterdir()] == [True]


def test_lrscope_gui_dir_opens_the_app_on_that_folder_too(tmp_path):
    """`lrscope gui DIR` said "unrecognized arguments" (helper-70)."""
    from helpers import CAMERA2

    prepared_settings(tmp_path / "settings")
    env = app_env(QT_QPA_PLATFORM="offscreen", LRSCOPE_SETTINGS_DIR=str(tmp_path / "settings"))
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "gui", str(CAMERA2), "--quit-after", "2"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"last={CAMERA2}" in (tmp_path / "settings" / "lrscope.ini").read_text()


def test_sigterm_stops_the_windows_run_resumable_and_closes_it(tmp_path, capsys):
    """A logout or ``kill`` sends SIGTERM: it killed the process mid-step, and the run stayed "running" forever."""
    from helpers import SAMPLE
    from test_store import wait_for_steps

    settings = tmp_path / "settings"
    settings.mkdir()
    from PySide6.QtCore import QSettings

    stored = QSettings(str(settings / "lrscope.ini"), QSettings.Format.IniFormat)
    stored.setValue("config/fields", '{"image_size": 16, "epochs": 300}')  # far longer than the test waits
    stored.sync()
    env = app_env(QT_QPA_PLATFORM="offscreen", LRSCOPE_SETTINGS_DIR=str(settings))
    app = subprocess.Popen([sys.executable, str(ROOT / "main.py"), str(SAMPLE), "--start"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Read from the run's store: `lrscope runs` in a loop spent 10 s of CPU on start-ups while the window started.
        wait_for_steps(Path(os.environ["LRSCOPE_RUNS_DIR"]), 1, app)
        app.send_signal(signal.SIGTERM)
        _, err = app.communicate(timeout=300)
    finally:
        app.kill()
    assert app.returncode == 0, err
    assert " stopped " in cli_done(capsys, "runs").stdout and "Traceback" not in err


@pytest.fixture(scope="module")
def xvfb():
    """One X server (and one check that Qt can use it) for the tests that draw on it, one after the other."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb); .ci/run installs it")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        display = f":{pipe.readline().strip()}"
    # Qt's X plugin needs libraries Xvfb does not bring (libxcb-icccm4 and others; .ci/run installs them): without them it
    # aborts the process, which would read as the test's failure.
    probe = subprocess.run([sys.executable, "-c", "from PySide6.QtWidgets import QApplication; QApplication([])"],
                           env=app_env(DISPLAY=display, QT_QPA_PLATFORM="xcb"), capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        server.terminate()
        said = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        pytest.skip(f"Qt cannot use the X server here ({said}); .ci/run installs what it needs")
    yield display
    server.terminate()
    server.wait(10)


def colour_pixels(image: np.ndarray, colour) -> int:
    return int(np.sum(np.all(np.abs(image.astype(int) - colour) < 30, axis=2)))


def test_a_real_window_under_xvfb_draws_its_plots(tmp_path, xvfb):
    prepared_settings(tmp_path / "settings")
    shot = tmp_path / "window.png"
    env = app_env(DISPLAY=xvfb, QT_QPA_PLATFORM="xcb", LRSCOPE_SETTINGS_DIR=str(tmp_path / "settings"))
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "--start", "--quit-after", "1", "--screenshot", str(shot)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape[0] >= 600 and image.std() > 20, "the screenshot is blank"
    assert colour_pixels(image, (31, 119, 180)) > 300, "no loss curve was drawn"
    assert colour_pixels(image, (255, 127, 14)) > 200, "no LR curve was drawn"
    assert colour_pixels(image, (44, 160, 44)) > 30, "no accuracy curve was drawn"


def test_the_windows_keys_beat_an_x11_text_fields_own(tmp_path, xvfb):
    """Only X11's text fields claim Ctrl+K and Ctrl+E (offscreen Qt binds neither), so the test of that runs there."""
    env = {k: v for k, v in app_env(DISPLAY=xvfb, QT_QPA_PLATFORM="xcb").items() if not k.startswith("PYTEST_")}
    test = "tests/test_gui.py::test_the_windows_keys_work_while_a_text_field_has_the_focus"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", test], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]
