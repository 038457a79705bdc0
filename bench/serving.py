"""7. Serving a run: what a client costs training, how fast a command takes effect, how many events a client follows.

The served side runs in this process (as `lrscope train --serve` does); the client is `lrscope watch` in a
process of its own, as when someone watches from another terminal.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.commands import EditSchedule, Stop
from engine.events import LogLine, StepsLogged
from engine.run import InProcessRun, NewRun
from engine.run.remote import RemoteRun
from engine.schedules import ScaleRest
from engine.serve.server import RunServer

from .cli_startup import startup_row, timed
from .common import Row, alternate, median_spread, ratio_row
from .workloads import config, digits_words, sample_dataset

ROOT = Path(__file__).resolve().parent.parent


def unserved(dataset, settings) -> float:
    """Training seconds of a run with its events and store on, nobody watching."""
    with tempfile.TemporaryDirectory() as runs:
        return InProcessRun(NewRun(settings, dataset, None, Path(runs))).run().train_seconds


def served(dataset, settings, costs: list[float]) -> float:
    """Training seconds of the same run served, with `lrscope watch` following it from another process.

    Appends to ``costs`` the CPU seconds the server thread and the client used, per second of training.
    """
    with tempfile.TemporaryDirectory() as runs:
        run = InProcessRun(NewRun(settings, dataset, None, Path(runs)))
        server = RunServer(run)
        run.prepare()
        server.start(run.run_dir)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = subprocess.Popen([sys.executable, "-m", "engine.cli", "watch", str(run.run_dir)], cwd=ROOT,
                                  env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not server.peers and client.poll() is None:
            time.sleep(0.01)
        seconds = run.run().train_seconds
        server.close()
        client.wait(60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        costs.append((server.cpu_seconds + client_cpu) / seconds)
        return seconds


def command_latencies(dataset, settings, count: int) -> tuple[list[float], list[int]]:
    """Seconds from sending a command to hearing it applied, and steps trained meanwhile, over ``count`` commands."""
    with tempfile.TemporaryDirectory() as runs:
        run = InProcessRun(NewRun(settings, dataset, None, Path(runs)))
        server = RunServer(run)
        run.prepare()
        access = server.start(run.run_dir)
        run.start("lrscope-bench-run")
        client = RemoteRun(access, client="bench", history=False)
        client.start("lrscope-bench-client")
        client.connected.wait(60)
        seconds, steps = [], []
        for _ in range(count):
            time.sleep(0.2)
            before = run.step
            started = time.perf_counter()
            answer = client.request(EditSchedule(ScaleRest(1.0)), 60)
            seconds.append(time.perf_counter() - started)
            steps.append(answer.step - before)
        client.detach()
        client.wait(10)
        run.send(EditSchedule(ScaleRest(1.0)))
        run.send(Stop())
        run.wait(120)
        server.close()
        return seconds, steps


def ctl_seconds(dataset, settings, count: int) -> list[tuple[float, float]]:
    """Wall and CPU seconds of `lrscope ctl RUN resume` (start-up, connect, the answer) against a served run."""
    with tempfile.TemporaryDirectory() as runs:
        run = InProcessRun(NewRun(settings, dataset, None, Path(runs)))
        server = RunServer(run)
        run.prepare()
        server.start(run.run_dir)
        run.start("lrscope-bench-run")
        times = [timed(["ctl", str(run.run_dir), "resume"], dict(os.environ, PYTHONPATH=str(ROOT))) for _ in range(count)]
        run.send(Stop())
        run.wait(120)
        server.close()
        return times


def followed(dataset, settings, make_event, count: int) -> tuple[float, int, int]:
    """Events per second a client receives when ``count`` events are emitted as fast as possible; and how many it
    got and how many were dropped (step blocks merge, so those arrive whole; log lines cannot)."""
    with tempfile.TemporaryDirectory() as runs:
        run = InProcessRun(NewRun(settings, dataset, None, Path(runs)))
        server = RunServer(run)
        Path(runs, "served").mkdir()
        access = server.start(Path(runs, "served"))
        received = []
        client = RemoteRun(access, client="bench", history=False)
        client.subscribe(received.append)
        client.start("lrscope-bench-client")
        client.connected.wait(60)
        started = time.perf_counter()
        for index in range(count):
            run.bus.emit(make_event(index))
        while client.covered < run.bus.last_seq and time.perf_counter() - started < 120:
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        client.detach()
        client.wait(10)
        server.close()
        return count / seconds, len(received), client.missed


def run(quick: bool) -> list:
    """Rows: served ÷ unserved steps/s; what serving costs the machine; command latency; events followed per second."""
    dataset = sample_dataset(quick)
    settings = config(epochs=1 if quick else 4)
    if not quick:  # a warm-up run, so that the first measured one pays no first-time costs
        unserved(dataset, settings)
    costs: list[float] = []
    repeats = 1 if quick else 8
    ours, theirs = alternate(lambda: served(dataset, settings, costs), lambda: unserved(dataset, settings), repeats)
    cost, cost_spread = median_spread([100 * c / (os.cpu_count() or 1) for c in costs])
    latencies, steps = command_latencies(dataset, config(epochs=50), 3 if quick else 30)
    ctl = ctl_seconds(dataset, config(epochs=50), 1 if quick else 7)
    block = lambda i: StepsLogged(np.array([i]), np.array([1.0]), np.array([[0.1, 0.1]]), np.array([0.9]), 1000.0, 22, ("backbone", "head"))
    step_rate, _, step_missed = followed(dataset, settings, block, 2000 if quick else 50_000)
    line_rate, lines, line_missed = followed(dataset, settings, lambda i: LogLine(f"line {i}"), 2000 if quick else 50_000)
    ms = [1000 * s for s in latencies]
    return [
        ratio_row("serving", "steps/s, served with `lrscope watch` attached ÷ not served", theirs, ours, target=0.99, at_least=True,
                  note=f"{digits_words(dataset)}, {settings.epochs} epochs a run, CPU"),
        Row("serving", "CPU of the server thread and the watching client, share of the machine during training", cost, cost_spread,
            "%", "", None, "measured in the served runs above; both compete with training for the cores"),
        Row("serving", "command → applied (client sends, hears CommandApplied)", statistics.median(ms), (min(ms), max(ms)), "ms",
            "", None, f"median {statistics.median(steps):g} steps trained meanwhile, at most {max(steps)}; "
                      f"{len(ms)} commands during a run"),
        startup_row("serving", "`lrscope ctl RUN resume`, whole command (start-up, connect, answer)", ctl, "a fresh process each time"),
        Row("serving", "step blocks a client follows (emitted as fast as possible)", step_rate, (step_rate, step_rate), "events/s",
            "", None, f"consecutive blocks merge: {step_missed} lost"),
        Row("serving", "log lines a client follows (emitted as fast as possible)", line_rate, (line_rate, line_rate), "events/s",
            "", None, f"{lines:,} received, {line_missed:,} dropped for the slow client (never queued without bound)"),
    ]
