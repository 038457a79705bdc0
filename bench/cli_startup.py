"""8. Start-up of the commands that do not train: they never import torch."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Row, median_spread

MAIN = Path(__file__).resolve().parent.parent / "main.py"


def wall(args: list[str], env: dict) -> float:
    """Seconds from starting ``lrscope ARGS`` to its exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, str(MAIN), *args], env=env, capture_output=True, timeout=120)
    return time.perf_counter() - started


def run(quick: bool) -> list:
    """Rows: `lrscope --help` and `lrscope runs` (ctl is measured against a served run in serving.py)."""
    rows = []
    with tempfile.TemporaryDirectory() as runs:
        env = dict(os.environ, LRSCOPE_RUNS_DIR=runs)
        for args in (["--help"], ["runs"]):
            value, spread = median_spread([wall(args, env) for _ in range(1 if quick else 7)])
            rows.append(Row("cli start-up", f"`lrscope {' '.join(args)}`, whole command", value, spread, "s", "< 0.5 s", value < 0.5,
                            "a fresh process each time; torch is never imported"))
    return rows
