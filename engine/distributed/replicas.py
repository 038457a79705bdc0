"""Attach a job to its distributed run, and check that the replicas stay the same run.

DDP keeps the replicas equal only if every rank applies the same LRs at the same steps; an edit applied
on one rank alone would desynchronize them silently. ``ReplicaCheck`` compares, on each block read back,
every rank's applied LRs (exactly) and a checksum of its weights; a difference pauses the run on every
rank with a fault that says so (each rank gathers everyone's numbers, so all take the same decision).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist

from ..commands import Inbox
from ..events import FaultRaised, StepsLogged
from ..training.hooks import Hook
from .command_sync import CommandSync
from .world import World, control_group

# A block's read-back is a collective every rank waits for (a few ms on busy CPU cores), so blocks are longer than one
# process's 0.1 s: the plots still move twice a second, and a command waits at most this long.
BLOCK_SECONDS = 0.5
# Weights of healthy replicas are bitwise equal (the averaged gradients are); this leaves room for nothing else.
WEIGHT_TOLERANCE = 1e-9


def distribute(job, world: World, incoming: Inbox) -> None:
    """Make ``job`` one rank of ``world``: commands from rank 0's ``incoming`` inbox synchronized by a handler,
    step blocks read back at the same steps and averaged over the ranks, the replicas checked."""
    sync = CommandSync(world, incoming if world.leader else None, job.inbox, max(job.recorder.interval, BLOCK_SECONDS))
    job.inbox.sync = sync
    job.add_handler(Hook.STEP_STARTED, sync)
    job.add_handler(Hook.RUN_ENDED, sync.hand_over)
    job.recorder.reduce = sync.reduce
    job.recorder.processes = world.size
    job.add_handler(Hook.BLOCK_FLUSHED, ReplicaCheck(world))
    job.pauses_on_out_of_memory = False  # the other ranks would wait in its all-reduce: the run stops instead


class ReplicaCheck:
    """BLOCK_FLUSHED: every rank's LRs of the block and weight checksum, gathered; a difference raises a fault."""

    def __init__(self, world: World):
        self.world = world

    def __call__(self, job, block: StepsLogged) -> None:
        mine = torch.from_numpy(np.append(block.lrs.ravel(), checksum(job.session.model)))
        everyone = [torch.empty_like(mine) for _ in range(self.world.size)]
        dist.all_gather(everyone, mine, group=control_group())
        reason = difference(everyone, len(block.steps), block)
        if reason:
            job.raise_fault(FaultRaised("replicas_diverged", int(block.steps[-1]), float(block.lrs[-1].max()),
                                        f"The processes of this run no longer train the same model: {reason}.",
                                        "Stop the run and resume it from its last checkpoint (every process loads the same state).",
                                        can_roll_back=True))


def checksum(model: torch.nn.Module) -> float:
    """The sum of every weight, in float64 (one number that differs when the replicas do)."""
    with torch.no_grad():
        return float(sum(p.detach().double().sum() for p in model.parameters()))


def difference(everyone: list[torch.Tensor], steps: int, block: StepsLogged) -> str:
    """What differs between rank 0's numbers and the others' ("" when nothing does)."""
    reference = everyone[0]
    for rank, other in enumerate(everyone[1:], start=1):
        lrs_here, lrs_there = reference[:-1].view(steps, -1), other[:-1].view(steps, -1)
        differing = torch.nonzero((lrs_here != lrs_there).any(dim=1))
        if len(differing):
            step = int(block.steps[int(differing[0])])
            return f"rank {rank} applied other LRs than rank 0 from step {step} on"
        if abs(float(other[-1] - reference[-1])) > WEIGHT_TOLERANCE * max(1.0, abs(float(reference[-1]))):
            return f"the weights of rank {rank} differ from rank 0's"
    return ""
