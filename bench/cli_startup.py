"""8. Start-up of the commands that do not train: they never import torch."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import Row, median_spread

MAIN = Path(__file__).resolve().parent.parent / "main.py"


def timed(args: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds from starting ``lrscope ARGS`` to its exit, and the CPU seconds it used (what a busy machine
    does not inflate as much as the wall time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(MAIN), *args], env=env, cwd=MAIN.parent, capture_output=True, timeout=120)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def startup_row(benchmark: str, measure: str, times: list[tuple[float, float]], note: str) -> Row:
    """A wall-time row against the 0.5 s target, its note giving the CPU time too."""
    value, spread = median_spread([wall for wall, _ in times])
    cpu, _ = median_spread([cpu for _, cpu in times])
    return Row(benchmark, measure, value, spread, "s", "< 0.5 s", value < 0.5, f"{note}; CPU {cpu:.2f} s (median)")


def run(quick: bool) -> list:
    """Rows: `lrscope --help` and `lrscope runs` (ctl is measured against a served run in serving.py)."""
    rows = []
    with tempfile.TemporaryDirectory() as runs:
        env = dict(os.environ, LRSCOPE_RUNS_DIR=runs)
        for args in (["--help"], ["runs"]):
            times = [timed(args, env) for _ in range(1 if quick else 7)]
            rows.append(startup_row("cli start-up", f"`lrscope {' '.join(args)}`, whole command", times,
                                    "a fresh process each time; torch is never imported"))
    return rows
