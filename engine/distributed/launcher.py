"""`lrscope train|resume --nproc N`: torchrun for one machine, started from inside lrscope.

It is torchrun itself (``torch.distributed.run``: its argument parser, its launch config, its elastic
agent), so a rank that dies is found and the others are stopped exactly as under `torchrun`; only the
report differs: one line naming the rank instead of torchrun's table.
"""

from __future__ import annotations

import logging

from ..errors import LrscopeError

# The workers run the headless commands (no window can open in a worker).
WORKER_MODULE = "engine.cli"
USAGE_ERROR = 2


class RankFailed(LrscopeError):
    """A process of a distributed run ended badly; the message names it."""


def torchrun_argv(nproc: int, argv: list[str]) -> list[str]:
    """torchrun's arguments for ``nproc`` processes on this machine running ``lrscope ARGV``."""
    return ["--standalone", f"--nproc-per-node={nproc}", "--max-restarts=0", "--module", WORKER_MODULE, *argv]


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``lrscope ARGV`` on ``nproc`` processes and wait; 0 when all ended well, else RankFailed (or 2: a usage error,
    which rank 0 has already printed)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import elastic_launch
    from torch.distributed.run import config_from_args, parse_args

    logging.getLogger("torch.distributed.elastic").setLevel(logging.ERROR)  # its per-start banner is not for users
    config, command, command_args = config_from_args(parse_args(torchrun_argv(nproc, argv)))
    try:
        elastic_launch(config, command)(*command_args)
    except ChildFailedError as error:
        return report(error.failures)
    return 0


def report(failures: dict) -> int:
    """The exit status for these failed ranks (RankFailed naming the first one that died for another reason than bad input)."""
    if all(failure.exitcode == USAGE_ERROR for failure in failures.values()):
        return USAGE_ERROR
    # A rank killed by a signal is the cause; the others fail after it (a collective lost its peer).
    rank, failure = min(failures.items(), key=lambda item: (item[1].exitcode >= 0, item[1].timestamp, item[0]))
    how = f"was killed by {failure.signal_name()}" if failure.exitcode < 0 else f"ended with exit status {failure.exitcode}"
    raise RankFailed(f"rank {rank} (pid {failure.pid}) {how}, so torchrun stopped the other processes; the run keeps its "
                     "last checkpoint: `lrscope runs` lists it and `lrscope resume RUN` continues it on any number of processes")
