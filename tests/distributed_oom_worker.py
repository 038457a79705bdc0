"""Rank 1 of a 2-process run runs out of memory at step OOM_STEP (simulated in its forward).

The test puts it into the real command line: each process's startup code (its sitecustomize) calls
``run_out_of_memory_at`` on rank 1.
"""

from __future__ import annotations

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
