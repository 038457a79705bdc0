"""One rank of a 2-process run in which rank 1 runs out of memory at step OOM_STEP (simulated in its forward).

Started by torchrun: `torchrun … tests/distributed_oom_worker.py OUT`. Each rank that gets to the end writes
how its run ended to OUT/rank-N.json and exits as the CLI's ranks do (1 when the run failed).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import torch

OOM_STEP = 3


def run_out_of_memory_at(step: int) -> None:
    """From now on this process's training forward raises PyTorch's out-of-memory error at ``step``."""
    import engine.training.job as job_module

    real = job_module.forward_backward

    def forward_backward(session, images, labels, at):
        if at == step:
            raise torch.OutOfMemoryError("CPU out of memory (simulated by the test)")
        return real(session, images, labels, at)

    job_module.forward_backward = forward_backward


def main(out: Path) -> int:
    from distributed_worker import SAMPLE, config

    from engine.data import prepare_dataset
    from engine.distributed.world import join, leave
    from engine.run import InProcessRun, NewRun

    world = join("cpu")
    if world.rank == 1:
        run_out_of_memory_at(OOM_STEP)
    run = InProcessRun(NewRun(replace(config(world.size, 16), epochs=1), prepare_dataset(SAMPLE, resolution=16), None, out / "runs"))
    result = run.run()
    (out / f"rank-{world.rank}.json").write_text(json.dumps({"state": result.state, "step": result.step, "message": result.message}))
    leave()
    return 1 if result.state == "failed" else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main(Path(sys.argv[1])))
