"""One process of the distributed benchmark (`bench/distributed.py` starts it).

    torchrun --nproc-per-node 2 -m bench.distributed_worker OUT sync REPEATS EPOCHS DATA    # with and without the command sync
    torchrun --nproc-per-node 2 -m bench.distributed_worker OUT scale 1 EPOCHS DATA         # 2 processes × 1 thread
    python -m bench.distributed_worker OUT scale 1 EPOCHS DATA                              # 1 process × 2 threads

DATA is the digits folder to train on (the sample, or --quick's smaller copy).

Rank 0 writes what it measured to OUT as JSON: training seconds (validation excluded) and steps of each run.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from engine.commands import Inbox
from engine.data import prepare_dataset
from engine.distributed.command_sync import SyncedInbox
from engine.distributed.replicas import distribute
from engine.distributed.world import join, leave
from engine.training.hooks import Hook
from engine.training.job import TrainingJob

from .common import alternate
from .workloads import config

GLOBAL_BATCH = 64


def train(dataset, world, epochs: int, synced: bool, spent: list[float]) -> dict:
    """One run on this world; with ``synced``, the command sync as every distributed run has it (its block all-reduces
    timed)."""
    settings = config(epochs, batch_size=GLOBAL_BATCH // world.size, world_size=world.size, image_size=16, device="cpu")
    job = TrainingJob(settings, dataset, inbox=SyncedInbox() if synced and world.distributed else Inbox())
    if synced and world.distributed:
        distribute(job, world, incoming=Inbox())
        job.recorder.reduce = sync_round_timer(spent)(job.recorder.reduce)
    ends: list[float] = []
    job.add_handler(Hook.STEP_COMPLETED, lambda job, info: ends.append(time.perf_counter()))
    outcome = job.run()
    # From one step's end to the next: the step and all the work around it; the median shrugs off the load spikes
    # of a shared machine and the epoch ends.
    return {"seconds": outcome.train_seconds, "steps": outcome.step, "median_step": statistics.median(np.diff(ends))}


def sync_round_timer(spent: list[float]):
    """Wraps a block's all-reduce so that its seconds add up in ``spent[0]`` and its count in ``spent[1]``."""
    def wrap(round_):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return round_(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - started
                spent[1] += 1
        return timed
    return wrap


def main(out: Path, mode: str, repeats: int, epochs: int, data: Path) -> None:
    world = join("cpu")
    if not world.distributed:
        torch.set_num_threads(2)
    dataset = prepare_dataset(data, resolution=16)
    spent = [0.0, 0]
    if mode == "sync":
        with_sync, without = alternate(lambda: train(dataset, world, epochs, True, spent),
                                       lambda: train(dataset, world, epochs, False, spent), repeats)
        result = {"with": with_sync, "without": without, "round_seconds": spent[0], "rounds": spent[1]}
    else:
        result = {"runs": [train(dataset, world, epochs, True, spent) for _ in range(repeats)], "processes": world.size,
                  "threads": torch.get_num_threads()}
    if world.leader:
        out.write_text(json.dumps(result))
    leave()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5]))
