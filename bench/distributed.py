"""8. Distributed training (DDP on CPU processes, gloo): what keeping commands in step costs, and how 2 processes scale.

Both measures run on this machine's cores: 2 processes × 1 thread against 1 process × 2 threads is a
comparison of two ways to use the same two cores, not of two machines or GPUs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import Row, ratio_row
from .workloads import digits_folder

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_BATCH = 64
WORKLOAD = "small CNN, 16 px digits, global batch 64, CPU, gloo; validation excluded"


def worker(out: Path, mode: str, repeats: int, epochs: int, processes: int, data: Path) -> dict:
    """Run bench.distributed_worker on ``processes`` processes (torchrun for 2), training on the folder ``data``, and read
    what rank 0 measured."""
    module = ["-m", "bench.distributed_worker", str(out), mode, str(repeats), str(epochs), str(data)]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"] if processes > 1 else [sys.executable]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1" if processes > 1 else "2")
    subprocess.run([*launcher, *module], cwd=ROOT, env=env, check=True, capture_output=True, timeout=1800)
    return json.loads(out.read_text())


def steps_per_second(run: dict) -> float:
    return run["steps"] / run["seconds"]


def sync_rows(folder: Path, repeats: int, epochs: int, data: Path) -> tuple[list[Row], list[float]]:
    """The cost of the command sync, and the samples/s of the 2-process runs that had it."""
    measured = worker(folder / "sync.json", "sync", repeats, epochs, 2, data)
    with_sync = [steps_per_second(run) for run in measured["with"]]
    without = [steps_per_second(run) for run in measured["without"]]
    per_round = measured["round_seconds"] / max(1, measured["rounds"]) * 1e6
    step_us = 1e6 / statistics.median(with_sync)
    inside = [1 / run["median_step"] for run in measured["with"]], [1 / run["median_step"] for run in measured["without"]]
    return [
        ratio_row("distributed", "steps/s, 2 processes with the command sync ÷ without, whole runs", with_sync, without, target=0.98,
                  at_least=True, note=f"{WORKLOAD}; {sum(run['steps'] for run in measured['with'])} steps a side, A B B A in "
                                      "the same 2 processes; with = the command sync and the replica check, per block"),
        ratio_row("distributed", "steps/s, with ÷ without, from the median step (end to end) inside the same runs", *inside,
                  target=0.98, at_least=True, note="robust to the load spikes whole runs suffer"),
        Row("distributed", "command sync: one block's all-reduce (its losses and the 3 numbers of the header, nothing pending)",
            per_round, (per_round, per_round), "µs",
            note=f"once per block of steps, none between; {100 * per_round / step_us:.2f}% of a {step_us / 1000:.1f} ms step; "
                 f"{measured['rounds']} blocks in {sum(run['steps'] for run in measured['with'])} steps"),
    ], [speed * GLOBAL_BATCH for speed in with_sync]


def scaling_rows(folder: Path, repeats: int, epochs: int, data: Path, two_processes: list[float]) -> list[Row]:
    """``two_processes``: samples/s of the 2 × 1 runs (with the sync, as every distributed run) measured just before."""
    one_process = [steps_per_second(worker(folder / "one.json", "scale", 1, epochs, 1, data)["runs"][0]) * GLOBAL_BATCH
                   for _ in range(repeats)]
    value, low, high = (statistics.median(two_processes) / statistics.median(one_process), min(two_processes) / max(one_process),
                        max(two_processes) / min(one_process))
    return [Row("distributed", "scaling: samples/s, 2 processes × 1 thread ÷ 1 process × 2 threads", value, (low, high), "×",
                note=f"{WORKLOAD}; the same 2 cores used two ways (not 2 machines); medians "
                     f"{statistics.median(two_processes):.0f} vs {statistics.median(one_process):.0f} samples/s")]


def run(quick: bool) -> list[Row]:
    """The rows of this benchmark."""
    (repeats, epochs), data = (1, 1) if quick else (4, 2), digits_folder(quick)
    with tempfile.TemporaryDirectory() as folder:
        rows, two_processes = sync_rows(Path(folder), repeats, epochs, data)
        return rows + scaling_rows(Path(folder), 1 if quick else 3, epochs, data, two_processes)
