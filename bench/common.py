"""Shared by the benchmarks: interleaved A/B measurements, rows of the results table, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    benchmark: str
    measure: str
    value: float
    spread: tuple[float, float]
    unit: str
    target: str = ""
    met: bool | None = None
    note: str = ""

    def cells(self) -> list[str]:
        """Table cells."""
        low, high = self.spread
        value = f"{self.value:.3g} {self.unit}".strip()
        spread = f"{low:.3g} to {high:.3g}" if low != high else ""
        verdict = {True: "met", False: "**missed**", None: ""}[self.met]
        return [self.benchmark, self.measure, value, spread, self.target, verdict, self.note]


def median_spread(values: list[float]) -> tuple[float, tuple[float, float]]:
    """Median and (min, max)."""
    return statistics.median(values), (min(values), max(values))


def alternate(first: Callable[[], float], second: Callable[[], float], repeats: int) -> tuple[list[float], list[float]]:
    """Measure in A B B A order, pair after pair, so that drifts in machine load and any cost a run
    leaves to the next one (a store closing, caches) hit both sides alike."""
    a, b = [], []
    for index in range(repeats):
        if index % 2 == 0:
            a.append(first())
            b.append(second())
        else:
            b.append(second())
            a.append(first())
    return a, b


def noise_note(a: list[float], b: list[float]) -> str:
    """How much one side moves between consecutive repetitions: the noise floor a ratio is read against."""
    same = [abs(values[i] / values[i + 1] - 1) * 100 for values in (a, b) for i in range(len(values) - 1)]
    if not same:
        return ""
    return f"one side from a repetition to the next moves {statistics.median(same):.1f}% (median), up to {max(same):.0f}%"


def ratio_row(benchmark: str, measure: str, numerators: list[float], denominators: list[float], *, target: float | None,
              at_least: bool = True, note: str = "") -> Row:
    """A row for paired ratios numerator/denominator (paired by repetition), with their noise floor in the note.

    A ``target`` of None reports the ratio without a verdict."""
    ratios = [n / d for n, d in zip(numerators, denominators)]
    value, spread = median_spread(ratios)
    note = "; ".join(part for part in (note, noise_note(numerators, denominators)) if part)
    if target is None:
        return Row(benchmark, measure, value, spread, "", "", None, note)
    met = value >= target if at_least else value <= target
    return Row(benchmark, measure, value, spread, "", f"{'≥' if at_least else '≤'} {target:g}", met, note)


def machine() -> dict[str, str]:
    """CPU, GPU and library versions of this machine."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"cpu": f"{cpu} ({os.cpu_count()} cores, torch uses {torch.get_num_threads()} threads)", "gpu": gpu,
            "torch": torch.__version__, "python": platform.python_version(), "os": platform.platform()}
