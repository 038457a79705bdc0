"""6. Startup: process start to the first painted window."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Row, median_spread

MAIN = Path(__file__).resolve().parent.parent / "main.py"


def first_paint() -> float:
    """Seconds from starting ``python main.py`` to the window's first paint."""
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LRSCOPE_STARTUP_PROBE="1", LRSCOPE_SETTINGS_DIR=home)
        started = time.time()
        done = subprocess.run([sys.executable, str(MAIN)], env=env, capture_output=True, text=True, timeout=120)
    line = next((line for line in done.stdout.splitlines() if line.startswith("lrscope-first-paint")), None)
    if line is None:
        raise RuntimeError(f"the app did not report its first paint: {done.stderr[-500:]}")
    return float(line.split()[1]) - started


def run(quick: bool) -> list:
    """Row: median time to first paint."""
    value, spread = median_spread([first_paint() for _ in range(1 if quick else 5)])
    return [Row("startup", "process start to first painted window", value, spread, "s", "< 2 s", value < 2.0,
                note="torch is imported after the window shows")]
