"""What train and resume do on several processes: --nproc starts torchrun; a torchrun worker joins the run.

Rank 0 does what a single process does (store, progress, serving, the final report); the other ranks
train silently and print only their own failure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from ..text import counted
from . import common
from .common import CliError, say

T = TypeVar("T")


def add_distributed_options(parser: argparse.ArgumentParser, *, new_run: bool = True) -> None:
    """--nproc: a new run's --batch-size is per process; a resumed run keeps its global batch (and has no --batch-size)."""
    batch = ("--batch-size is per process, so a step sees N times as many images" if new_run else
             "the run's global batch is kept, split among them, so its steps and data order go on")
    parser.add_argument("--nproc", type=int, metavar="N",
                        help="train on N processes of this machine with DistributedDataParallel (starts torchrun; one per GPU, "
                             f"or CPU processes); {batch}")


def add_sync_batchnorm_option(parser: argparse.ArgumentParser) -> None:
    """--sync-batchnorm."""
    parser.add_argument("--sync-batchnorm", action="store_true",
                        help="with several processes on GPUs: BatchNorm statistics over the global batch (SyncBatchNorm) "
                             "instead of each process's own batch")


def relaunched(args: argparse.Namespace) -> int | None:
    """With --nproc N (N > 1) outside torchrun: run this command on N processes and return its exit status; else None."""
    from ..distributed.launcher import launch, launched_by_torchrun

    if args.nproc is not None and args.nproc < 1:
        raise CliError(f"--nproc: must be a number of processes, 1 or more, got {args.nproc}")
    if args.nproc is None or args.nproc == 1 or launched_by_torchrun():
        return None
    cores = os.cpu_count() or 1
    if args.nproc > cores and not torch_cuda_devices():  # 100 processes on 2 cores were silent for minutes
        say(f"note: {args.nproc} processes on {counted(cores, 'CPU core')}: each gets a share of a core, and starting "
            "them takes a while; --nproc as many as the cores (or GPUs) trains faster")
    return launch(args.nproc, without_nproc(args.argv), args.json)


def torch_cuda_devices() -> int:
    """How many GPUs PyTorch sees (each process of a GPU run has one)."""
    import torch

    return torch.cuda.device_count()


def check_before_launch(args: argparse.Namespace, config) -> None:
    """Refuse a dataset folder that is missing or holds no class subfolders, a --schedule file's global batch the
    processes cannot split and --sync-batchnorm off the GPU before --nproc starts its processes (each process said it,
    and only once each had started: seconds of importing torch each, minutes on many processes). Only the folder's
    subfolders: its images are listed once, by rank 0."""
    from ..data.folder import check_layout

    if (args.nproc or 1) <= 1:
        return
    check_layout(Path(config.data))
    if getattr(args, "schedule", None):  # 3 processes each started, then refused a file's batch of 32
        from .setup import check_tuned_batch_split

        check_tuned_batch_split(args, config, args.nproc)
    if args.sync_batchnorm:
        from ..device import resolve_device
        from ..distributed.model import check_sync_batchnorm

        check_sync_batchnorm(resolve_device(config.device))


def without_nproc(argv: list[str]) -> list[str]:
    """``argv`` without its --nproc option (the workers are the processes it asked for)."""
    kept, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            kept.append(item)
    return kept


@contextlib.contextmanager
def joined(device_name: str) -> Iterator:
    """Join torchrun's process group (if this is a worker) for the body; the ranks but 0 say nothing but failures."""
    from ..distributed.world import join, leave

    world = join(device_name)
    if not world.leader:
        common.quiet()
    try:
        yield world
    finally:
        leave()


def leader_first(world, action: Callable[[], T]) -> T:
    """``action()`` on rank 0, then on the other ranks (rank 0 fills the decode cache they then read).

    When it fails on rank 0 (a missing folder), rank 0 says why and the others end quietly: before, they waited for
    rank 0 at a barrier it never reached, each printed gloo's "Connection closed by peer" traceback, and the launcher
    blamed them for the failure."""
    import torch
    import torch.distributed as dist

    from ..distributed.world import control_group

    if not world.distributed:
        return action()
    done = torch.zeros(1, dtype=torch.int32)
    if world.leader:
        try:
            result = action()
            done[0] = 1
        finally:
            dist.broadcast(done, src=0, group=control_group())
        return result
    dist.broadcast(done, src=0, group=control_group())
    if not done[0]:
        # Status 0: rank 0 said what is wrong and its status is the run's. A failed status here would make torchrun
        # stop rank 0, maybe before it has said it, and the launcher would name this rank as the cause.
        raise SystemExit(0)
    return action()


def describe_world(config) -> str:
    """E.g. "2 processes × batch 32 = global batch 64 per step (DistributedDataParallel)", or "1 process × batch 64 = …"."""
    return (f"{counted(config.world_size, 'process')} × batch {config.batch_size} = global batch {config.global_batch} "
            f"per step{' (DistributedDataParallel)' if config.world_size > 1 else ''}")


def follower_status(world, result) -> int:
    """A rank other than 0 reports only its own failure (rank 0 reports the run; the launcher, a rank that went away)."""
    from ..distributed.launcher import tell_the_launcher_why
    from ..distributed.world import said_by_the_launcher

    if result.state == "failed":
        # lrscope's launcher says it in its one line about the rank; started by torchrun itself, the rank says it
        if not said_by_the_launcher(result.message) and not tell_the_launcher_why(result.message):
            print(f"lrscope: rank {world.rank}: the run failed: {result.message}", file=sys.stderr)
        return 1
    return 0
