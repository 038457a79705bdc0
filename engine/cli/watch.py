"""`lrscope watch RUN|ADDRESS`: follow a served run in the terminal, from its history to its end."""

from __future__ import annotations

import argparse
import sys

from ..events import DAMAGED_WEIGHTS, STORE_UNWRITABLE
from .common import FAILED, FAULT_STOPPED, FINISHED, INTERRUPTED, STORE_FAILED, add_every_option, say_error, write
from .target import add_target_options


def add_parser(commands) -> None:
    """Register the command."""
    parser = commands.add_parser("watch", help="follow a served run live in the terminal (Ctrl-C leaves it training)",
                                 description="Show a served run's progress: its history, then live steps (on a terminal one line "
                                             "redrawn in place; into a file or pipe a line every --every steps), epochs, "
                                             "edits and faults, until it ends. Ctrl-C stops watching; the run goes on.")
    add_target_options(parser)
    parser.add_argument("--no-history", action="store_true", help="show only what happens from now on")
    add_every_option(parser, "stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Follow the run until it ends (its status: ``ended``), or until Ctrl-C (status 0, the run goes on)."""
    from ..run.remote import RemoteRun
    from .progress import ProgressPrinter
    from .target import access_from

    access = access_from(args)
    handle = RemoteRun(access, client="lrscope watch", history=not args.no_history)
    handle.subscribe(ProgressPrinter(sys.stdout, log_every=args.every))  # what was asked for: `lrscope watch RUN > log` wrote an empty file
    try:  # from before the start: under load the first lines printed before the loop was entered, and Ctrl-C there was "interrupted"
        handle.start("lrscope-watch")
        while not handle.wait(0.2):
            pass
    except KeyboardInterrupt:
        # A run paused (on a fault, say) waits for an answer: "the run goes on" read as if it trained.
        left = "the run stays paused" if handle.state == "paused" else "the run goes on"
        handle.detach()
        handle.wait(5)
        write(sys.stdout, f"\nstopped watching at step {handle.step}; {left}\n")
        return 0
    if handle.error is not None:
        raise handle.error
    return ended(handle)


def ended(handle) -> int:
    """Say how the run ended; its status, the run's own: 0 finished, 1 failed, 3 finished on damaged weights or stopped
    by a fault, 4 stopped because its store could not be written, 130 stopped before its end. A failed run exited 0
    too, like a finished one, for a script to miss."""
    if handle.state == "finished" and handle.tracker.fault == DAMAGED_WEIGHTS:
        # As the run's own exit status: it exited 3 while its watcher exited 0, for a script to take the weights.
        write(sys.stdout, f"the run is finished at step {handle.step}, on weights its last validation says are damaged: "
                          "do not use them\n")
        return FAULT_STOPPED
    if handle.state == "stopped" and handle.tracker.fault == STORE_UNWRITABLE:
        # As the run's own exit status: it exited 4 while its watcher exited 130, as for a stop someone asked for.
        write(sys.stdout, f"the run is stopped at step {handle.step}: its store could not be written\n")
        say_error(handle.tracker.store_failure or "the run's store could not be written (the run's own output says why); "
                                                  "what was written stays resumable")
        return STORE_FAILED
    if handle.state == "stopped" and handle.tracker.fault:
        # As the run's own exit status: a run its fault policy stopped exited 3 while its watcher exited 130.
        write(sys.stdout, f"the run is stopped at step {handle.step} by a fault ({handle.tracker.fault})\n")
        return FAULT_STOPPED
    write(sys.stdout, f"the run is {handle.state} at step {handle.step}\n")
    return {"finished": FINISHED, "failed": FAILED}.get(handle.state, INTERRUPTED)
