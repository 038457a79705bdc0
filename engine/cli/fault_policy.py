"""What a headless run does on a fault when no one is at the terminal to ask.

The policy is a subscriber, like the window: it answers the job's FaultRaised events with the
commands a person would send (RollBack, Stop), and a StoreFailed with Stop. The job knows nothing of it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..commands import ROLLBACK_LR_FACTOR, Command, RollBack, Stop
from ..events import STORE_UNWRITABLE, Event, FaultRaised, StoreFailed
from ..text import counted
from .common import say

POLICIES = ("rollback", "stop", "pause")
MAX_ROLLBACKS = 3


def add_fault_options(parser: argparse.ArgumentParser) -> None:
    """--on-fault and --max-rollbacks (train and resume)."""
    parser.add_argument("--on-fault", choices=POLICIES, default="rollback",
                        help=f"on a NaN, exploding or collapsed loss: roll back to the last good state with the LR ×{ROLLBACK_LR_FACTOR:g} "
                             "(at most --max-rollbacks times, then stop), stop, or pause and wait (default rollback); the losses are read back "
                             "every 0.1 s, not every step (that would wait on the GPU), so a fault is seen that many steps late; "
                             "out of memory and a vanished dataset always stop unless pause is chosen")
    parser.add_argument("--max-rollbacks", type=_count, default=MAX_ROLLBACKS, metavar="N",
                        help=f"rollbacks before the run stops (default {MAX_ROLLBACKS})")


def _count(text: str) -> int:
    """A whole number from 0 to 100 (argparse reports anything else as a usage error)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 100, got {text[:20]!r}")
    return value


class FaultPolicy:
    """Sends RollBack or Stop in answer to faults; remembers what ended the run."""

    def __init__(self, send: Callable[[Command], None], policy: str = "rollback", max_rollbacks: int = MAX_ROLLBACKS,
                 served: bool = False):
        self.send, self.policy, self.max_rollbacks, self.served = send, policy, max_rollbacks, served
        self.rollbacks = 0
        self.fault: FaultRaised | None = None
        self.store_failure: StoreFailed | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, FaultRaised):
            self._fault(event)
        elif isinstance(event, StoreFailed) and self.store_failure is None:
            self.store_failure = event
            say("stopping: the run store cannot be written")
            self.send(Stop(fault=STORE_UNWRITABLE))  # its watchers exited 130, as for a stop asked for, where the run exits 4

    def _fault(self, fault: FaultRaised) -> None:
        if self.policy == "pause":
            # Served, the run can be answered from elsewhere; the line said only Ctrl-C, and ctl had no rollback.
            answer = "answer it from a window (Attach) or with `lrscope ctl RUN rollback | resume | stop`, or " if self.served else ""
            say(f"paused (--on-fault pause): {answer}press Ctrl-C to stop; the run stays resumable")
            return
        if self.policy == "rollback" and fault.can_roll_back and self.rollbacks < self.max_rollbacks:
            self.rollbacks += 1
            # The factor is said by the rollback's edit, printed next: ×0.1 here read as the factor of a second
            # rollback to the same state, which is ×0.01 of its schedule there.
            say(f"rolling back ({self.rollbacks} of at most {self.max_rollbacks}) to the last good state")
            self.send(RollBack(ROLLBACK_LR_FACTOR))
            return
        self.fault = fault
        if not fault.can_roll_back:
            why = "a rollback cannot help"
        else:
            why = f"after {counted(self.rollbacks, 'rollback')}" if self.policy == "rollback" else "--on-fault stop"
        say(f"stopping ({why})")  # the fault itself was printed as it came
        self.send(Stop(fault=fault.kind))  # its watchers exited 130, as for a stop asked for, where the run exits 3
