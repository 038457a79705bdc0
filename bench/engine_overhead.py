"""1. lrscope's job (events and run store on) against a bare PyTorch loop: steps per second.

Whole runs minutes apart differ by several percent on these machines, more than the 2% the target
allows. So the same runs are also measured from the inside, where the machine's drifts cancel: the
share of the job's training time spent outside the training step (lrscope's loop, events, store),
and the median duration of the step itself on both sides.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Iterator

import engine.training.job as job_module

from .common import Row, alternate, median_spread, ratio_row
from .workloads import bare_loop, config, digits_words, lrscope_job, sample_dataset


@contextlib.contextmanager
def step_clock() -> Iterator[list[float]]:
    """Durations of the job's training steps (forward, backward, update: the bare loop's timed work).

    The job splits a step in two (handlers may run between backward and the update): a step is
    timed from the start of ``forward_backward`` to the end of ``optimizer_step``, so what runs
    between them (the health metrics) is counted with it.
    """
    durations: list[float] = []
    forward_backward, optimizer_step = job_module.forward_backward, job_module.optimizer_step
    started = [0.0]

    def timed_forward_backward(*args):
        started[0] = time.perf_counter()
        return forward_backward(*args)

    def timed_optimizer_step(*args):
        try:
            return optimizer_step(*args)
        finally:
            durations.append(time.perf_counter() - started[0])

    job_module.forward_backward, job_module.optimizer_step = timed_forward_backward, timed_optimizer_step
    try:
        yield durations
    finally:
        job_module.forward_backward, job_module.optimizer_step = forward_backward, optimizer_step


def run(quick: bool) -> list:
    """Rows: steps/s lrscope ÷ bare loop over whole runs; lrscope's share outside the step; the in-run estimate."""
    dataset = sample_dataset(quick)
    settings = config(epochs=1 if quick else 6)
    steps = settings.epochs * (len(dataset.train_index) // settings.batch_size)
    if not quick:  # warm-ups, so that the first measured runs pay no first-time costs
        bare_loop(dataset, settings, 10)
        lrscope_job(dataset, config(epochs=1))
    repeats = 1 if quick else 10
    our_steps: list[float] = []
    bare_steps: list[float] = []
    outside: dict[str, list[float]] = {"ours": [], "bare": []}

    def ours() -> float:
        with step_clock() as durations:
            seconds = lrscope_job(dataset, settings).train_seconds
        outside["ours"].append(seconds - sum(durations))
        our_steps.extend(durations)
        return seconds

    def bare() -> float:
        durations: list[float] = []
        seconds = bare_loop(dataset, settings, steps, step_times=durations)
        outside["bare"].append(seconds - sum(durations))
        bare_steps.extend(durations)
        return seconds

    mine, theirs = alternate(ours, bare, repeats)
    share, spread = median_spread([100 * out / total for out, total in zip(outside["ours"], mine)])
    # Per step: the typical step (a median, which the machine's bursts barely move) plus the work each side does
    # around its steps (batch slicing on both; lrscope's loop, events and store on one).
    per_step = {side: statistics.median(times) + statistics.median(outside[side]) / steps
                for side, times in (("ours", our_steps), ("bare", bare_steps))}
    estimate = per_step["bare"] / per_step["ours"]
    note = f"{digits_words(dataset)}, {steps} steps a run, CPU; validation excluded on both sides"
    return [
        ratio_row("engine overhead", "steps/s, lrscope job ÷ bare loop, whole runs", theirs, mine, target=0.98, at_least=True,
                  note=note),
        Row("engine overhead", "share of a job's training time outside the training step", share, spread, "%", "",
            None, "lrscope's loop, schedule, events, run store, epoch-end snapshot, batch slicing; measured inside the same runs"),
        Row("engine overhead", "steps/s, lrscope ÷ bare, from inside the runs: (median step + work around it) each side",
            estimate, (estimate, estimate), "", "≥ 0.98", estimate >= 0.98,
            f"median step {1000 * statistics.median(our_steps):.1f} ms (lrscope) and {1000 * statistics.median(bare_steps):.1f} ms "
            f"(bare) over {len(our_steps)} steps each; around the steps {1000 * (per_step['ours'] - statistics.median(our_steps)):.2f} "
            f"and {1000 * (per_step['bare'] - statistics.median(bare_steps)):.2f} ms a step"),
    ]
