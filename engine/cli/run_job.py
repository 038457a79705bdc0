"""Follow a run in the foreground: progress on stderr, faults answered by the policy, Ctrl-C or SIGTERM
stops cleanly, a result and an exit status at the end."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..commands import ROLLBACK_LR_FACTOR, Stop
from ..distributed.launcher import tell_the_launcher, tell_the_launcher_reported
from ..distributed.world import said_by_the_launcher
from ..errors import RunStoreError
from ..events import DAMAGED_WEIGHTS, LOSS_FAULTS
from ..run.handle import RunHandle, RunResult
from ..run.in_process import InProcessRun
from ..store.paths import run_argument
from ..store.reader import read_steps
from ..text import counted, percent
from ..training.handlers.faults import lr_since_last_good
from .common import FAILED, FAULT_STOPPED, FINISHED, INTERRUPTED, STORE_FAILED, CliError, say, signals_ignored, write
from .fault_policy import FaultPolicy
from .progress import ProgressPrinter, clock


def signals_stop(run: RunHandle):
    """Ctrl-C or SIGTERM asks the run to stop at the next step (resumable); a second Ctrl-C aborts."""
    return signals_call(lambda: run.send(Stop()), "stopping at the next step")


@contextlib.contextmanager
def signals_call(action: Callable[[], None], doing: str) -> Iterator[None]:
    """Ctrl-C or SIGTERM says ``doing`` and calls ``action`` (it must return at once); a second Ctrl-C aborts, except in
    a torchrun worker: there the terminal's Ctrl-C and torchrun's forwarded one arrive together, and torchrun itself
    kills a worker that does not stop in time."""
    from ..distributed.launcher import launched_by_torchrun

    worker = launched_by_torchrun()

    def handler(signum, _frame):
        if worker and stopping:
            return
        stopping.append(signum)
        say(f"\n{doing} ({signal.Signals(signum).name}{'' if worker else '; press Ctrl-C again to abort'})")
        action()
        if not worker:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    stopping: list[int] = []

    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def execute(run: InProcessRun, args: argparse.Namespace, serve: str | None = None,
            prepared: Callable[[InProcessRun], None] = lambda run: None, leader: bool = True,
            ) -> tuple[RunResult, float, FaultPolicy]:
    """Train ``run`` on this thread with a progress display and the fault policy (serving it at ``serve`` if given);
    its result, the wall time and the policy. In a distributed run only rank 0 (``leader``) shows progress and
    answers faults: the commands it sends reach every rank at the same step, so all ranks stop together."""
    policy = FaultPolicy(run.send, args.on_fault, args.max_rollbacks, served=serve is not None)
    if leader:
        run.subscribe(ProgressPrinter(failure_said_after=True, log_every=args.every))  # the failure: by `report`, in its error line
        run.subscribe(policy)
    server = serving(run, serve) if serve else None
    started = time.perf_counter()
    with signals_stop(run):
        run.prepare()
        if leader:
            tell_the_launcher(str(run.run_dir))
        prepared(run)
        try:
            if server is not None:
                announce(run, server.start(run.run_dir))
            result = run.run()
        finally:
            if server is not None:
                server.close()
    return result, time.perf_counter() - started, policy


def serving(run: InProcessRun, address: str):
    """A server for ``run`` (subscribed now, so that it numbers every event from the first)."""
    from ..serve.server import RunServer

    try:
        server = RunServer(run, address)
    except ValueError as error:
        raise CliError(f"--serve: {error}") from None
    try:
        server.listen()
    except ValueError as error:
        server.close()
        raise CliError(f"--serve: {error}") from None
    return server


def group_report(run: InProcessRun) -> list[dict[str, Any]]:
    """Each parameter group, input to output: its size, the LR it ended at and its highest, and the steps it was frozen
    (all read back from what the run recorded)."""
    session = run.job.session
    try:
        steps = read_steps(run.store.run_dir)
    except RunStoreError:  # its folder was moved away mid-run: the store's failure says so, and to put it back
        steps = {"step": (), "groups": ()}
    lrs = steps["lrs"] if len(steps["step"]) else np.zeros((0, len(session.group_names)))
    return [{"name": name, "parameters": sum(p.numel() for p in group["params"]),
             "last_lr": float(lrs[-1, i]) if len(lrs) else None, "peak_lr": float(lrs[:, i].max()) if len(lrs) else None,
             "frozen_steps": int((lrs[:, i] == 0).sum())}
            for i, (name, group) in enumerate(zip(steps["groups"] or session.group_names, session.optimizer.param_groups))]


def announce(run: InProcessRun, access) -> None:
    """Say where the run is served and with which token; warn when it is open to other machines."""
    from ..serve.access import TOKEN_FILE, announcement
    from ..serve.wire import is_local

    name = run_argument(run.run_dir)
    say(announcement(run.run_dir.name, access))
    say(f"  (the token is also in {run.run_dir / TOKEN_FILE}; `lrscope watch {name}` or `lrscope ctl {name} …`)")
    if not is_local(access.address):
        say(f"warning: {access.address} accepts connections from other machines; anyone who can reach it and has the token "
            "can steer this run, and the traffic is not encrypted: prefer the default and an SSH tunnel")


def exit_status(result: RunResult, policy: FaultPolicy, store, damaged: str = "") -> int:
    """0 finished, 1 failed, 3 stopped by a fault or ended on damaged weights, 4 the store could not be written, 130
    stopped by a signal."""
    if policy.store_failure is not None or store.failure is not None:
        return STORE_FAILED
    if result.state == "failed":
        return FAILED
    if policy.fault is not None or damaged:
        return FAULT_STOPPED
    return INTERRUPTED if result.state == "stopped" else FINISHED


def ended_damaged(result: RunResult, run: InProcessRun) -> str:
    """Why the weights a finished run ended on are unusable, as its last validation said ('' when they are sound): it
    ran to its end and exited 0 beside its own warning that they were damaged."""
    job = run.job
    if result.state != "finished" or result.fault != DAMAGED_WEIGHTS:
        return ""
    return (f"the run ended on damaged weights: its last validation (loss {result.val_loss:.4g}, accuracy "
            f"{percent(result.val_accuracy)}) says so; do not use them. Its newest checkpoint holds its last good state, "
            f"step {job.last_good['step']}; start again with an LR below the {lr_since_last_good(job, result.step):.3g} it "
            "trained at since")


def _state(result: RunResult, store) -> str:
    """The run's state, except that a run whose record could not all be written never claims "finished"."""
    return "incomplete" if result.state == "finished" and (store.failure or store.unwritten) else result.state


def report(result: RunResult, seconds: float, run: InProcessRun, policy: FaultPolicy, as_json: bool,
           extra: dict[str, Any]) -> int:
    """Print the final result (always as one JSON object with --json); return the exit status. Ctrl-C does not change
    it while it is said: the run is over."""
    with signals_ignored():
        return _report(result, seconds, run, policy, as_json, extra)


def _report(result: RunResult, seconds: float, run: InProcessRun, policy: FaultPolicy, as_json: bool,
            extra: dict[str, Any]) -> int:
    store = run.store
    damaged = ended_damaged(result, run)
    status = exit_status(result, policy, store, damaged)
    problem = _problem(policy, store) or damaged or extra.get("export_error", "")
    if extra.get("export_error") and status == FINISHED:
        status = STORE_FAILED
    summary = {
        "state": _state(result, store), "exit_status": status, "steps": result.step, "total_steps": result.total_steps,
        "epochs": result.step / result.steps_per_epoch, "val_accuracy": result.val_accuracy,
        "val_loss": result.val_loss, "best_val_accuracy": result.best_val_accuracy, "seconds": seconds,
        "start_step": result.start_step, "run_dir": result.run_dir,
        # Where a resume continues: after a full disk the steps past the newest checkpoint were trained, not kept.
        # A run that finished on damaged weights is not resumable; one whose record is incomplete is.
        "resume_step": store.resumable_step() if status != FINISHED and _state(result, store) != "finished" else None,
        "dataset": {"name": result.dataset.get("name"), "fingerprint": result.dataset.get("fingerprint")},
        "message": problem or result.message, "rollbacks": policy.rollbacks, "weights": result.weights,
        "groups": group_report(run), "processes": result.config.get("world_size", 1), "batch_size": result.config.get("batch_size"),
        "global_batch": result.config.get("batch_size", 0) * result.config.get("world_size", 1), **extra,
    }
    if policy.fault is not None:
        summary["fault"] = {"kind": policy.fault.kind, "step": policy.fault.step, "lr": policy.fault.lr}
    elif damaged:
        summary["fault"] = {"kind": DAMAGED_WEIGHTS, "step": result.step, "lr": lr_since_last_good(run.job, result.step)}
    if as_json:
        write(sys.stdout, json.dumps(summary, allow_nan=True).replace("NaN", "null") + "\n")
    else:
        validated = (f"val accuracy {percent(result.val_accuracy)} (best {percent(result.best_val_accuracy)}), val loss {result.val_loss:.4f}"
                     if math.isfinite(result.val_accuracy) else "no validation yet (it runs at the end of each epoch)")
        say(f"{summary['state']}: {validated}, {trained(result)} in {clock(seconds)}")
        if Path(result.run_dir).is_dir():  # moved away mid-run, its line below says where to put it back
            say(f"run saved in {result.run_dir}")
        if status == INTERRUPTED:  # "the run can be resumed" named no command (helper-82)
            # On as many processes: without --nproc a 2-process run went on in one (helper-123).
            processes = result.config.get("world_size", 1)
            say(f"to go on with it: lrscope resume {run_argument(store.run_dir)}{f' --nproc {processes}' if processes > 1 else ''}")
    if problem or (result.message and result.state == "failed" and not said_by_the_launcher(result.message)):
        say(f"lrscope: error: {problem or result.message}")
    tell_the_launcher_reported(status)
    return status


def trained(result: RunResult) -> str:
    """The steps this process trained: "257 steps (resumed at 1795; 2052 in all)", not the run's whole count."""
    if not result.start_step:
        return counted(result.step, "step")
    return f"{counted(result.step - result.start_step, 'step')} (resumed at {result.start_step}; {result.step} in all)"


def _problem(policy: FaultPolicy, store) -> str:
    """The one line that says why the run did not finish and how to go on ('' when it finished)."""
    resume = f"`lrscope resume {run_argument(store.run_dir)}`"
    failure = store.failure or (policy.store_failure.message if policy.store_failure else "")
    if failure:
        step = store.resumable_step()  # read now: the checkpoints written before the failure may be gone since
        return f"{failure}; then {resume} continues from step {step}" if step is not None else f"{failure}; then start the run again"
    if policy.fault is not None:
        return f"the run stopped on a fault: {policy.fault.message} {_resume_advice(policy.fault, run_argument(store.run_dir))}"
    return ""


def _resume_advice(fault, run: str) -> str:
    """How to resume after ``fault``: after a loss blow-up, with rollbacks, else the same LR blows it up again (it did
    after `--on-fault stop`, whose advice was a plain `lrscope resume RUN`)."""
    if fault.kind in LOSS_FAULTS and not fault.can_roll_back:  # the last good state gives this loss itself
        return "Start the run again with a lower LR."
    if not fault.can_roll_back:
        return f"`lrscope resume {run}` continues from the last good checkpoint"
    return (f"`lrscope resume {run} --on-fault rollback` continues from the last good "
            f"checkpoint and, each time the loss blows up again, goes back with the LR ×{ROLLBACK_LR_FACTOR:g}")
