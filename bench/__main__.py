"""Run the benchmarks, print the table and write docs/benchmarks.md.

    python -m bench [--quick] [--only NAME ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib
import os
import time
from datetime import date
from pathlib import Path

from .common import machine

BENCHMARKS = ("engine_overhead", "gui_overhead", "data_pipeline", "range_test_speed", "startup", "serving", "cli_startup",
              "curvature", "distributed", "gpu")
HERE = Path(__file__).resolve().parent
HEADER = ["benchmark", "measure", "median", "spread (min to max)", "target", "verdict", "notes"]


def markdown(rows) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    """Run the chosen benchmarks."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition: checks that each benchmark runs")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS)
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs" / "benchmarks.md")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    rows, started = [], time.perf_counter()
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(f".{name}", __package__)
        new = module.run(args.quick)
        for row in new:
            print(" | ".join(row.cells()), flush=True)
        rows.extend(new)
    facts = machine()
    analysis = (HERE / "analysis.md").read_text() if (HERE / "analysis.md").exists() and not args.quick else ""
    text = (f"# Benchmarks\n\nWritten by `make bench` on {date.today().isoformat()} in {time.perf_counter() - started:.0f} s"
            f"{' (--quick: sizes too small to mean anything)' if args.quick else ''}.\n\n"
            + "\n".join(f"- {key}: {value}" for key, value in facts.items())
            + "\n\nEvery ratio is measured in one run, the two sides interleaved in A B B A order; the median and the spread "
              "over the repetitions are shown.\n\n" + markdown(rows) + "\n" + (f"\n{analysis}" if analysis else ""))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
