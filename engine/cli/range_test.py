"""`lrscope range-test`: sweep or probe LRs on a dataset and print the suggestions."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable

import numpy as np

from ..errors import SettingError
from ..events import Event, RangeTestProgress, RangeTestStarted
from ..range_test.curve_csv import write_result_csv
from ..range_test.settings import RangeTestSettings
from ..text import counted, estimate
from .common import (
    FINISHED,
    INTERRUPTED,
    LIBRARY_DIR_HELP,
    NO_RESULT,
    STORE_FAILED,
    CliError,
    add_training_options,
    check_writable,
    config_from,
    path_arg,
    quiet_rank,
    say,
    say_log,
)
from .export_file import write_export
from .progress import StatusLine, range_test_progress


def add_parser(commands) -> None:
    """Register the command."""
    parser = commands.add_parser("range-test", help="find the LR range for a dataset (sweep or probe)",
                                 description="Run an LR range test from freshly initialized weights and print suggested LRs.")
    add_training_options(parser, schedule_file=False)
    add_range_test_options(parser)
    parser.add_argument("--after-unfreeze", action="store_true",
                        help="fine-tuning: test the phase after every group is unfrozen (default: from the start, e.g. the head alone)")
    parser.add_argument("--csv", type=path_arg, metavar="FILE", help="write the curve to FILE: step, loss, LR of each group (the columns of `show RUN --csv`), repeat, swept_lr, smoothed")
    parser.add_argument("--export-schedule", type=path_arg, metavar="FILE",
                        help="write a schedule file of --shape at the recommended LR, with this test in it")
    parser.add_argument("--library-dir", type=path_arg, help=LIBRARY_DIR_HELP)
    parser.add_argument("--json", action="store_true", help="print one JSON object: curve, suggestions, recommended LRs")
    parser.set_defaults(handler=run)


def add_range_test_options(parser: argparse.ArgumentParser) -> None:
    """The test's own options, shared by `range-test` and `ctl RUN range-test` (read back by ``settings_from``)."""
    d = RangeTestSettings()
    parser.add_argument("--start", type=float, help="first LR (default 1e-7 for a sweep, 1e-4 for a probe)")
    parser.add_argument("--end", type=float, help="last LR (default 10)")
    parser.add_argument("--iters", type=int, help=f"sweep iterations (one batch each; default {d.iterations})")
    parser.add_argument("--linear", action="store_true", help="raise the LR linearly instead of exponentially")
    parser.add_argument("--probe", action="store_true", help="probe mode: every LR starts from the same weights (unbiased, slower)")
    parser.add_argument("--probe-count", type=int, help=f"candidate LRs in probe mode (default {d.probe_count})")
    parser.add_argument("--probe-steps", type=int, default=d.probe_steps,
                        help=f"training steps per candidate in probe mode (default: {100 * d.probe_fraction:g}%% of the run, 20 to 1000)")
    parser.add_argument("--repeats", type=int, default=d.repeats,
                        help=f"run the test this many times on different batch orders; the median is recommended (default {d.repeats})")
    parser.add_argument("--validation", action="store_true", help="sweep: record the loss on a fixed validation subset")
    parser.add_argument("--diverge-factor", type=float, default=d.diverge_factor,
                        help=f"stop when the smoothed loss exceeds this multiple of its best (default {d.diverge_factor:g})")
    parser.add_argument("--no-curvature", action="store_true", help="skip measuring λmax (and the stability bound) at the start")


def settings_from(args: argparse.Namespace) -> RangeTestSettings:
    """Validated range-test settings; CliError names the option at fault (an option of the other mode included: it would
    be ignored, and the user believe it was used)."""
    d = RangeTestSettings()
    other_mode = {"probe": {"--iters": args.iters is not None, "--linear": args.linear,
                            "--validation": args.validation},
                  "sweep": {"--probe-count": args.probe_count is not None, "--probe-steps": args.probe_steps is not None}}
    mode, other = ("probe", "sweep") if args.probe else ("sweep", "probe")
    unused = [name for name, given in other_mode[mode].items() if given]
    if unused:
        raise CliError(f"{', '.join(unused)}: {other} option{'s' if len(unused) > 1 else ''}, not used by a {mode}; "
                       f"{'leave out --probe' if args.probe else 'add --probe'}, or the option")
    settings = RangeTestSettings(
        mode=mode, start_lr=args.start, end_lr=args.end, linear=args.linear, validation=args.validation,
        iterations=d.iterations if args.iters is None else args.iters,
        probe_count=d.probe_count if args.probe_count is None else args.probe_count, probe_steps=args.probe_steps,
        diverge_factor=args.diverge_factor, repeats=args.repeats, curvature=not args.no_curvature)
    try:
        return settings.resolved()
    except SettingError as error:  # as the option was typed: "the iterations must be …" did not say --iters (helper-82)
        raise CliError(f"{OPTIONS[error.field]}: {error.reason}" if error.field in OPTIONS else f"range test: {error}") from None


# The option that sets each setting of the test.
OPTIONS = {"start_lr": "--start", "end_lr": "--end", "iterations": "--iters", "probe_count": "--probe-count",
           "probe_steps": "--probe-steps", "repeats": "--repeats", "diverge_factor": "--diverge-factor"}


def run(args: argparse.Namespace) -> int:
    """Run the test, print the suggestions, optionally write CSV and a schedule file."""
    # Imported here: they load torch, which commands that do not train must not wait for.
    from ..range_test.runner import run_range_test
    from ..training.job import default_run_schedule
    from ..training.session import build_session
    from .run_job import signals_call
    from .setup import open_dataset, warn_of_a_batch_past_the_data

    config = config_from(args)
    settings = settings_from(args)
    for path in (args.csv, args.export_schedule):
        if path:
            check_writable(path)
    dataset = open_dataset(config, args)
    warn_of_a_batch_past_the_data(dataset, config)
    session = build_session(config, dataset, log=say_log)

    status = StatusLine()
    timeline = default_run_schedule(config, session.steps_per_epoch, session.group_names).timeline
    step = unfreeze_step(timeline, session.group_names) if args.after_unfreeze else 0
    show = progress_printer(status, "on this machine", lambda: timeline.total_steps - step)
    stop: list[bool] = []
    try:
        # Ctrl-C or SIGTERM cancels the test between its steps, as the window's Cancel does: "interrupted" threw away
        # what it had measured, and its --json said "error" where train's said "stopped" (helper-82).
        with signals_call(lambda: stop.append(True), "stopping the range test"):
            result = run_range_test(session, settings, show, timeline, step=step, run_steps=timeline.total_steps - step,
                                    cancelled=lambda: bool(stop))
    finally:
        status.clear()
    if result.stop_reason == "cancelled":
        return say_stopped(result, args.json)
    data = result.to_dict()
    if not args.json:  # the result, then what was written of it: piped, "written to …" came above the suggestions
        print_result(result)
        sys.stdout.flush()
    if args.csv:
        try:
            write_result_csv(args.csv, result)
        except OSError as error:  # the test is done: its result is still printed
            data["csv_error"] = f"the curve could not be written to {args.csv} ({error.strerror or error})"
    if args.export_schedule and result.recommendation is None:  # the curve is still printed: it shows why
        data["export_refused"] = f"{NOT_EXPORTED}: {result.why_none}"
    elif args.export_schedule:
        data.update(export(args, config, dataset, session, result))
    failures = [data[key] for key in ("export_refused", "csv_error", "export_error") if key in data]
    if not args.json and "export_refused" in data:  # the text printed the reason already: its ~600 characters came twice
        failures[0] = f"{NOT_EXPORTED} (why is said above)"
    # No LR to use is the tune's "no winner" (1), not a usage error (2, as with --export-schedule) nor a success (0,
    # without it): a script told the two apart only by --json's null (helper-67).
    data["bound_notes"] = bound_notes(result)
    data["exit_status"] = NO_RESULT if result.recommendation is None else STORE_FAILED if failures else FINISHED
    data["state"] = "finished"  # as every other command's object says (an error object says "error")
    if args.json:
        print(json.dumps(data))
    for failure in failures:
        say(f"lrscope: error: {failure}")
    return data["exit_status"]


NOT_EXPORTED = "the range test gave no recommendation, so no schedule was written"
FEWER = {"sweep": "fewer --iters or --repeats", "probe": "fewer --probe-count or --repeats"}


def say_stopped(result, as_json: bool) -> int:
    """A test stopped by a signal: what it measured, as data and not as a result. A cut curve recommends nothing: its
    suggestions read the part that ran as if it were the whole."""
    message = (f"stopped after {counted(len(result.lrs), 'point')} of the {result.mode}: a cut curve is not a result, so "
               f"nothing is recommended or written; run the test to the end ({FEWER[result.mode]} take less time)")
    if as_json:
        curves = [part.to_dict()["curve"] for part in result.repeats or (result,)]
        print(json.dumps({"state": "stopped", "exit_status": INTERRUPTED, "message": message, "mode": result.mode,
                          "settings": result.settings, "seconds": result.seconds,
                          "curves": [{"lr": curve["lr"], "loss": curve["loss"]} for curve in curves]}))
    say(message)
    return INTERRUPTED


def progress_printer(status: StatusLine, where: str, run_steps: Callable[[], int | None]) -> Callable[[Event], None]:
    """What the user sees while a test runs: its cost against the run it advises (``run_steps()`` long) and its
    estimate once (``where`` it runs), then its progress in place."""
    mode = "sweep"

    def show(event: Event) -> None:
        nonlocal mode
        if isinstance(event, RangeTestStarted):
            mode, repeats = event.mode, event.settings["repeats"]
            cost = RangeTestSettings.from_dict(event.settings).cost_words(run_steps())
            say(f"{event.mode}{f' ×{repeats}' if repeats > 1 else ''}: {cost}, {estimate(event.estimated_seconds)} {where}")
        elif isinstance(event, RangeTestProgress) and not quiet_rank():
            status.show(range_test_progress(mode, event))

    return show


def unfreeze_step(timeline, names: tuple[str, ...]) -> int:
    """The first step at which the schedule has every group trainable; CliError when nothing is ever frozen."""
    frozen = timeline.group_settings(np.arange(timeline.total_steps), names)[1].any(axis=1)
    if not frozen.any():
        raise CliError("--after-unfreeze: no group is frozen in this schedule (use --freeze-epochs or --gradual-unfreeze)")
    last = int(np.flatnonzero(frozen)[-1]) + 1
    if last >= timeline.total_steps:
        raise CliError("--after-unfreeze: some group stays frozen until the end of the run")
    return last


def print_result(result) -> None:
    """Suggestions and recommendation (or why there is none) as text."""
    parts = len(result.repeats) or 1
    # How each repeat ended: "(diverged)" for three, of which one completed, read as if all had diverged.
    ends = Counter(part.stop_reason for part in result.repeats or (result,))
    ended = ", ".join(f"{n} {reason}" if parts > 1 else reason for reason, n in ends.items())
    print(f"{result.mode}{f' ×{parts}' if parts > 1 else ''}: {len(result.lrs)} points in {result.seconds:.1f} s ({ended})")
    groups = result.measured.get("groups", {})
    if len(groups) > 1:
        print("  groups: " + ", ".join(f"{name} ×{m:.3g}" if m else f"{name} frozen" for name, m in groups.items()))
    if result.mode == "probe":  # every repeat starts from the same weights: one line, not one each
        for start, steps in dict.fromkeys((part.measured["start_score"], part.measured["steps"]) for part in result.repeats or (result,)
                                          if part.measured["start_score"] is not None):  # None: cancelled before it
            print(f"  measured: held-out loss {start:.4g} before training; each candidate trained {counted(steps, 'step')} "
                  "from the same weights")
    for s in result.suggestions:
        print(f"  {s.method:<12} {s.lr:<10.3g} {s.explanation}")
    r = result.recommendation
    if r is None:
        print(f"NO RECOMMENDATION: {result.why_none}")
    else:
        confidence = "LOW CONFIDENCE " if r.low_confidence else ""
        # The methods carry their own parentheses ("valley (median of 3 methods)"): "from" without a pair of ours.
        print(f"{confidence}recommended constant LR   {r.constant_lr:.3g}  from {r.constant_method}")
        print(f"{confidence}recommended one-cycle max {r.one_cycle_max_lr:.3g}  from {r.one_cycle_method}")
        if r.repeats > 1:  # of both LRs, whichever spreads wider (the notes name it when it is wide)
            print(f"  spread ×{r.spread:.3g} over {r.repeats} repeats")
    if result.curvature and result.curvature.get("lr_bound"):
        c = result.curvature
        print(f"stability {result.bound_text().removesuffix(' (theory)')} (λmax {c['lambda_max']:.3g}; theory, a guide)")
        # Said here too, not only when a schedule file is written: the two numbers sat on adjacent lines without a word.
        for note in bound_notes(result):
            print(f"note: {note}")
    for note in result.notes:
        if not note.startswith("no recommendation: ") or r is not None:
            print(f"note: {note}")


def bound_notes(result) -> list[str]:
    """"the recommended one-cycle max LR 0.409 is ×1.24 the stability bound …" for each recommended LR past the bound
    measured at the test's start (the text and --json alike: the JSON said nothing of it: helper-76)."""
    r = result.recommendation
    if r is None or not (result.curvature or {}).get("lr_bound"):
        return []
    pairs = (("constant", r.constant_lr), ("one-cycle max", r.one_cycle_max_lr))
    return [f"the recommended {what} {above}" for what, lr in pairs if (above := result.above_bound(lr))]


def export_caveats(result, lr: float) -> list[str]:
    """Why the exported LR deserves a check before a long run: a low-confidence recommendation, an LR past the
    stability bound measured at the start. (The file was written without a word: the notes had scrolled by.)"""
    caveats = []
    if result.recommendation.low_confidence:
        caveats.append(f"the schedule file holds a low-confidence recommendation, LR {lr:.3g} (its notes say why): "
                       "check it with `lrscope tune --schedule FILE` before a long run")
    if above := result.above_bound(lr):
        caveats.append(f"the schedule file's {above}")
    return caveats


def export(args, config, dataset, session, result) -> dict[str, str]:
    """A schedule of the config's shape at the recommended LR, saved with the test's result (``write_export``)."""
    from ..export import tuned_document
    from ..training.job import default_run_schedule
    from ..training.start_schedule import fine_tuning

    recommended = result.recommendation
    lr = recommended.one_cycle_max_lr if config.shape == "one_cycle" or fine_tuning(config) else recommended.constant_lr
    if args.after_unfreeze and config.lr_spread:  # the test measured the unfrozen head's LR: the spread follows it
        config.lr_spread = [config.lr_spread[0] * lr / config.lr_spread[1], lr]
    elif args.after_unfreeze and config.freeze_epochs:  # fine_tune's unfrozen phase peaks at half the head-only LR
        config.lr = 2 * lr
    else:
        config.lr = lr
    for caveat in export_caveats(result, lr):
        say(f"warning: {caveat}")
    run_schedule = default_run_schedule(config, session.steps_per_epoch, session.group_names)
    document = tuned_document(run_schedule, config, dataset.summary.to_dict(), session.steps_per_epoch,
                              range_test=result.to_dict(), groups=session.group_names, weights=session.weights)
    return write_export(args.export_schedule, document, args.library_dir, f"{config.shape} schedule at LR {config.lr:.3g}")
