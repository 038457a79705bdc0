"""Which process of a distributed run this is, read from torchrun's environment and torch.distributed.

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous address in each worker's environment;
``join`` starts the process group from them. Everything else asks ``current()``, which reads
torch.distributed itself, so there is no second copy of that state to go stale.
"""

from __future__ import annotations

import ctypes
import datetime
import gc
import hashlib
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from ..processes import process_alive
from .launcher import launched_by_torchrun, resumable

# How long a collective may wait for a rank; a dead rank is found by torchrun much sooner.
COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=30)
_control_group = None
_peers: list[tuple[int, int]] = []  # each rank's (host id, pid), to name a rank that ended


@dataclass(frozen=True)
class World:
    """This process's rank among ``size`` processes (``local_rank``: among those of its machine)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        """Whether more than one process trains."""
        return self.size > 1

    @property
    def leader(self) -> bool:
        """Rank 0 owns the run store, checkpoints, the event stream and the served handle."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """The device of this rank: its own GPU (``cuda:LOCAL_RANK``) when training on CUDA."""
        if self.distributed and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device


# What gloo and NCCL say when another process of the run went away in the middle of a collective.
LOST_PEER = ("Connection closed by peer", "Connection reset by peer", "NCCL communicator was aborted")


# How a lost peer begins in words: the ranks leave it to the launcher's line, which names the rank that failed.
LOST_PEER_WORDS = "another process of this run stopped while this one waited for it"


def lost_peer(error: BaseException, run_dir: Path | None = None) -> str | None:
    """In words, when ``error`` says another process of this run went away (None for any other error), with which
    one when it ran on this machine, and how to resume the run (``run_dir``: rank 0's; the others have none to name).
    A window or `watch` following the run reads this line, not the launcher's."""
    if not any(text in str(error) for text in LOST_PEER):
        return None
    ended = [f"rank {rank} (pid {pid})" for rank, (host, pid) in enumerate(_peers)
             if host == _host_id() and pid != os.getpid() and not process_alive(socket.gethostname(), pid)]
    which = (f": {', '.join(ended)} ended" if ended
             else " (the launcher names which and why, in the terminal that started the run)")
    return f"{LOST_PEER_WORDS}{which}; {resumable(str(run_dir)) if run_dir else 'the run keeps its last checkpoint'}"


def _host_id() -> int:
    """This machine as a number a collective can carry (its name's hash: no pickled objects between processes)."""
    return int.from_bytes(hashlib.sha256(socket.gethostname().encode()).digest()[:7], "big")


def _gather_peers() -> None:
    """Learn each rank's machine and pid, for ``lost_peer``."""
    global _peers
    mine = torch.tensor([_host_id(), os.getpid()], dtype=torch.int64)
    gathered = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, mine, group=_control_group)
    _peers = [(int(host), int(pid)) for host, pid in (tensor.tolist() for tensor in gathered)]


def said_by_the_launcher(message: str) -> bool:
    """Whether a rank's failure ``message`` is a lost peer, which the launcher's one line says (with the rank's name)."""
    return message.startswith(LOST_PEER_WORDS)


def join(device_name: str) -> World:
    """Start the process group from torchrun's variables: NCCL for CUDA, gloo for CPU; the world joined."""
    if not launched_by_torchrun() or dist.is_initialized():
        return current()
    stop_with_the_launcher()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device_name in ("auto", "cuda") or device_name.startswith("cuda")
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo", timeout=COLLECTIVE_TIMEOUT)
    # Command flags live on the CPU (through NCCL they would wait for the GPU), in a group of their own so that
    # their broadcasts, in flight across a step, never queue behind the gradients' all-reduce.
    global _control_group
    _control_group = dist.new_group(backend="gloo", timeout=COLLECTIVE_TIMEOUT)
    _gather_peers()
    return current()


def stop_with_the_launcher() -> None:
    """Ask the kernel for a SIGTERM (lrscope's Ctrl-C: stop at a step boundary) when torchrun's agent, this worker's
    parent, dies. An agent killed with SIGKILL cannot stop its workers, and they would otherwise wait for each other
    in a collective until its 30-minute timeout, holding the run's lock and the GPUs (Linux; elsewhere the timeout
    remains the backstop)."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() == 1:  # the agent died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def control_group():
    """The gloo process group for small CPU-side messages (commands, replica checks)."""
    return _control_group


def current() -> World:
    """This process's place in the run (rank 0 of 1 when it trains alone)."""
    if not dist.is_available() or not dist.is_initialized():
        return World()
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def leave() -> None:
    """End the process groups (at the end of a worker) while the interpreter is whole: a process group still referenced
    at interpreter shutdown is destroyed there, where gloo's threads can no longer take the GIL, and the process can
    abort ("terminate called without an active exception"; pytorch/pytorch#179291). So nothing of lrscope keeps one
    (the control group is asked for at each use) and garbage that does is collected now."""
    global _control_group
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    _control_group = None
    gc.collect()
