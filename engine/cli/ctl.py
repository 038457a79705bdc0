"""`lrscope ctl RUN|ADDRESS ACTION`: steer a served run and say what was applied at which step."""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

from ..text import whose
from .common import NO_RESULT, NOT_ANSWERED, CliError, path_arg, say
from .progress import StatusLine
from .range_test import add_range_test_options, progress_printer, settings_from
from .target import add_finding_options, add_target_options

# A run that has not answered the hello by then is not served at that address (or a tunnel is down).
CONNECT_SECONDS = 10.0
# `ctl range-test` waits for the result past --timeout while the test reports progress at least this often (a probe
# announced as "about 10 min" was given up on after 120 s, its suggestions never shown).
RANGE_TEST_SILENCE = 120.0

ACTIONS = {
    "pause": "pause at the next step", "resume": "resume a paused run", "stop": "stop (the run stays resumable)",
    "rollback": "answer a fault that paused the run (`train --on-fault pause`): go back to the last good state with the LR ×0.1",
    "set-lr": "hold LR from now to the end", "scale-rest": "multiply every LR from now on by F",
    "apply": "replace the rest of the run with a schedule file's schedule, stretched over the remaining steps",
    "undo": "undo the last schedule edit, from now on",
    "redo": "make again the edit the last undo took back, from now on",
    "range-test": "run an LR range test from the current weights; waits for its result while it reports progress",
    "cancel-range-test": "cancel the range test in progress (the weights are restored; its result keeps what it measured)",
    "unfreeze": "make frozen layer groups trainable from now on (the GROUPs named, or every frozen group); undoable",
    "measure": "measure λmax now (also while paused) and print it against the stability bound",
    "curvature-every": "measure λmax every N steps from now on, or auto (within 5%% of training time), or off",
}


def add_parser(commands) -> None:
    """Register the command and its actions."""
    parser = commands.add_parser("ctl", help="steer a served run: pause, resume, stop, rollback, set-lr, scale-rest, apply, undo, redo, "
                                             "range-test, cancel-range-test, unfreeze, measure, curvature-every",
                                 description="Send one command to a served run; print what was applied and at which step.")
    add_target_options(parser)
    add_answer_options(parser, 120.0, False)
    # "RUN", not the usage's "RUN|ADDRESS": errors say `lrscope ctl RUN set-lr --help`, and a pasted | is a pipe.
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION", prog="lrscope ctl RUN")
    for name, text in ACTIONS.items():
        action = actions.add_parser(name, help=text, description=text.replace("%%", "%"))  # help is %-formatted, a description is not
        add_answer_options(action, argparse.SUPPRESS, argparse.SUPPRESS)  # also accepted after the action
        add_finding_options(action, argparse.SUPPRESS)
        if name in ("set-lr", "scale-rest"):
            action.add_argument("value", type=float, metavar="LR" if name == "set-lr" else "F",
                                help="the LR to hold" if name == "set-lr" else "the factor, e.g. 0.5 to halve")
        elif name == "apply":
            action.add_argument("file", type=path_arg, metavar="SCHEDULE_FILE", help="a schedule file (.lrschedule.json)")
            action.add_argument("--accept-mismatch", action="store_true",
                                help="apply a file tuned for another dataset, model or optimizer (refused otherwise)")
        elif name == "range-test":
            add_range_test_options(action)  # the window's choices, and `lrscope range-test`'s
        elif name == "curvature-every":
            action.add_argument("every", metavar="N|auto|off", help="steps between measurements, auto or off")
        elif name == "unfreeze":
            action.add_argument("groups", nargs="*", metavar="GROUP", help="a layer group by name, e.g. stage4 (none: every frozen group)")
        action.set_defaults(handler=run)


def add_answer_options(parser: argparse.ArgumentParser, timeout, as_json) -> None:
    """--timeout and --json."""
    parser.add_argument("--timeout", type=float, default=timeout,
                        help="seconds to wait for the run to answer, connecting included (at most 10 s of it to connect; default 120); "
                             "range-test waits longer while the test reports progress")
    parser.add_argument("--json", action="store_true", default=as_json, help="print the answer as one JSON object")


def run(args: argparse.Namespace) -> int:
    """Connect, send the command, wait for the job's answer: status 0 applied, 1 refused or not taken in time."""
    from ..commands import EditSchedule
    from ..events import CurvatureMeasured, RangeTestFinished, RangeTestProgress, RangeTestStarted, StabilityWarning
    from ..run.remote import RemoteRun
    from .target import access_from

    if not args.timeout > 0:
        raise CliError(f"--timeout must be above 0 seconds, got {args.timeout:g}")
    command = command_for(args)  # before connecting: a bad value fails at once, also where no run listens
    started = time.monotonic()
    handle = RemoteRun(access_from(args), client="lrscope ctl", history=False, connect_timeout=min(CONNECT_SECONDS, args.timeout))
    heard: list = []  # what the command caused: a range test's result, a measurement, a stability warning
    handle.subscribe(lambda event: heard.append(event) if isinstance(event, (RangeTestFinished, CurvatureMeasured, StabilityWarning)) else None)
    status = StatusLine()
    reported = [0.0]  # when the range test last said how far it is
    if args.action == "range-test":  # it takes a while: its estimate and progress, as `lrscope range-test` shows them
        handle.subscribe(progress_printer(status, "in the run", lambda: handle.status.get("total_steps")))
        handle.subscribe(lambda event: reported.__setitem__(0, time.monotonic())
                         if isinstance(event, (RangeTestStarted, RangeTestProgress)) else None)
    handle.start("lrscope-ctl")
    try:
        connect(handle)
        if command is None:  # apply: the file is checked against the run's dataset, which the run says once connected
            command = EditSchedule(replacement(args.file, handle.status, args.accept_mismatch))
        try:
            answer = handle.request(command, max(0.0, args.timeout - (time.monotonic() - started)),
                                    until=lambda: reported[0] + RANGE_TEST_SILENCE if reported[0] else 0.0)
        except KeyboardInterrupt:  # the run has the command all the same: said before "interrupted" (helper-68)
            status.clear()
            say(_left_in_the_run(args))
            raise
        ended = answer is None and handle.wait(0)  # the run ended while this waited (before detach ends the handle too)
    finally:
        handle.detach()
        handle.wait(5)
        status.clear()
    if answer is None and handle.error is not None:  # the run went away while this waited: say so, not "not answered"
        raise handle.error
    if ended:  # it said "not answered within 120 s" at once, of a run that had just ended without taking it
        raise CliError(f"{args.run}: the run {handle.state} at step {handle.step} before it took the command, so nothing was "
                       f"applied; `lrscope show {shlex.quote(args.run)}` shows how it ended")
    return tell(args, answer, heard)


def _left_in_the_run(args: argparse.Namespace) -> str:
    """What an interrupted ctl leaves behind: the command it sent, which the run carries out all the same."""
    run = shlex.quote(args.run)
    if args.action == "range-test":
        return (f"the range test goes on in the run: `lrscope ctl {run} cancel-range-test` cancels it, and "
                f"`lrscope show {run}` gives its result once it ends")
    return f"the command was sent: the run applies it at its next step unless it stops first (`lrscope show {run}` says)"


def connect(handle) -> None:
    """Wait until ``handle`` is welcomed by the run; its error as soon as it gives up (a refused connection at once)."""
    deadline = time.monotonic() + handle.connect_timeout + 1
    while not handle.connected.wait(0.05):
        if handle.wait(0) or time.monotonic() > deadline:
            raise handle.error or CliError("could not connect")


def command_for(args: argparse.Namespace):
    """The command an action means, checked before connecting; None for apply, whose file is checked against the run."""
    from ..commands import (
        CancelRangeTest,
        EditSchedule,
        MeasureCurvature,
        Pause,
        Resume,
        RollBack,
        SetCurvatureCadence,
        StartRangeTest,
        Stop,
    )
    from ..schedules.edits import Redo, ScaleRest, SetConstant, Undo, Unfreeze

    simple = {"pause": Pause, "resume": Resume, "stop": Stop, "rollback": RollBack, "measure": MeasureCurvature,
              "cancel-range-test": CancelRangeTest}
    if args.action in simple:
        return simple[args.action]()
    if args.action == "curvature-every":
        return SetCurvatureCadence(args.every)
    if args.action == "set-lr":
        return EditSchedule(SetConstant(args.value))
    if args.action == "scale-rest":
        return EditSchedule(ScaleRest(args.value))
    if args.action == "undo":
        return EditSchedule(Undo())
    if args.action == "redo":
        return EditSchedule(Redo())
    if args.action == "unfreeze":
        return EditSchedule(Unfreeze(tuple(args.groups)))
    if args.action == "range-test":
        return StartRangeTest(settings_from(args))
    return None


def replacement(path: Path, status: dict, accept_mismatch: bool = False):
    """ReplaceRest with the file's schedule (ReplaceRestWithPlan when it holds a run's edits) stretched over the steps
    the run has left; a file tuned for another dataset, model or optimizer is refused unless ``accept_mismatch`` (as
    `lrscope train --schedule` asks first, and ctl cannot ask)."""
    from ..schedules.edits import ReplaceRest, ReplaceRestWithPlan
    from ..schedules.groups import EVERY_GROUP, describe_groups
    from ..schedules.library import differences
    from ..schedules.schedule_file import load_schedule

    loaded = load_schedule(path)
    lines = differences(loaded.dataset, status.get("dataset") or {})
    context = loaded.context or {}
    optimizer = context.get("optimizer")
    tuned = {"model": context.get("model"), "optimizer": optimizer.get("name") if isinstance(optimizer, dict) else None}
    for what, theirs in tuned.items():  # a run that does not say (an older server) is not refused for it
        ours = status.get(what)
        if isinstance(ours, str) and isinstance(theirs, str) and ours != theirs:
            lines.append(f"tuned with {what} {theirs}; this run uses {ours}, so its LRs do not carry over")
    if lines and not accept_mismatch:
        # It said "was tuned for another dataset (the schedule file does not say which dataset …)", and nothing applied it.
        # Every difference: naming the first alone (its image size) left the model and the groups to a second try.
        raise CliError(f"{path} was not applied: {'; '.join(lines)}; --accept-mismatch applies it anyway")
    remaining = int(status.get("total_steps", 0)) - int(status.get("step", 0))
    if remaining < 1:
        raise CliError("the run has no steps left to apply a schedule to")
    plan = loaded.for_run(loaded.timeline.total_steps)  # its run's edits as pieces; a plateau rule's cuts too
    own = sorted({describe_groups(p.groups) for p in plan.pieces if p.groups != EVERY_GROUP})
    if own:  # a replacement keeps the run's group settings: "head ×10" was dropped without a word (helper-92)
        say(f"warning: {whose(str(path))} group LRs ({'; '.join(own)}) are not applied: each group keeps its own multiplier and "
            "freezing in the run (the window's group table sets them; `train --schedule` trains them from the start)")
    if len(plan.pieces) > 1:  # the whole plan over the steps left: its last piece alone dropped the one-cycle before it
        return ReplaceRestWithPlan.of(plan)
    return ReplaceRest(plan.pieces[-1].schedule, fit_rest=True)


def tell(args: argparse.Namespace, answer, heard: list) -> int:
    """Print what became of the command, and what it caused (``heard``: the events that came with the answer)."""
    from ..events import CurvatureMeasured, RangeTestFinished, StabilityWarning
    from .progress import curvature_words, describe_curvature, describe_warning

    range_test = next((e for e in reversed(heard) if isinstance(e, RangeTestFinished)), None)
    # Caused by this command: at its step, and a measurement only when asked for (the cadence's may come meanwhile).
    at_step = [e for e in heard if answer is not None and e.step == answer.step]
    measured = [e for e in at_step if isinstance(e, CurvatureMeasured) and e.trigger == "request"]
    warnings = [e for e in at_step if isinstance(e, StabilityWarning)]
    if answer is None:
        message = (f"sent, but the run has not answered within {args.timeout:g} s (a range test may be running: "
                   f"`lrscope ctl {shlex.quote(args.run)} cancel-range-test` cancels it); it will apply at the run's next "
                   "step, once any range test ends, unless the run stops first")
        if args.json:  # one object on stdout, always
            print(json.dumps({"action": args.action, "applied": None, "answered": False, "message": message,
                              "exit_status": NOT_ANSWERED}))
        else:
            say(message)
        return NOT_ANSWERED  # not 1: nothing was refused
    status = _status(args, answer, range_test)
    if args.json:  # "exit_status" as every command's object has it (a script read it from every one but ctl's: helper-82)
        result = {"action": args.action, "applied": answer.applied, "step": answer.step, "message": answer.message,
                  "exit_status": status}
        if range_test is not None and range_test.result is not None:
            result["range_test"] = range_test.result.to_dict()
        if measured:
            result["curvature"] = [m.to_dict() for m in measured]
        result["warnings"] = [{"step": w.step, "kind": w.kind, "message": w.message, "advice": w.advice} for w in warnings]
        print(json.dumps(result, allow_nan=True).replace("NaN", "null"))
    else:
        message = answer.message
        if args.action == "measure" and answer.applied and measured:  # the answer's "λmax 0.88 measured at step 348", in full
            message, measured = curvature_words(measured[0]), measured[1:]
        print(f"{'applied' if answer.applied else 'not applied'} at step {answer.step}: {message}")
        for line in [*map(describe_curvature, measured), *map(describe_warning, warnings)]:
            print(line)
        if range_test is not None and range_test.result is not None:
            from .range_test import print_result

            print_result(range_test.result)
    return status


def _status(args: argparse.Namespace, answer, range_test) -> int:
    """0 applied, 1 refused, or a range test that recommended nothing."""
    if args.action == "range-test" and range_test is not None and range_test.result is not None \
            and range_test.result.recommendation is None:
        return NO_RESULT  # as `lrscope range-test` says it: a script read exit 0 as a recommendation (helper-73)
    return 0 if answer.applied else 1
