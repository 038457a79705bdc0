"""How well does each way lrscope picks a max LR train, on variants it was never tuned on?

For each variant: a grid search of one-cycle max LRs (nine points a factor 2 apart, three seeds,
ten at the best three points), lrscope's untuned default, the sweep, the probe, the repeated
sweep and ``lrscope tune``, each followed by a run at the LR it chose on the same seeds. Results go
to a JSON ledger as they come, so an interrupted study resumes; the report is written from it.

    python -m bench.tuning_quality --ledger study.json [--only VARIANT ...] [--stage grid|all|report|rules|winners] [--seeds N] [--report FILE]

``--report`` writes the tables of every variant finished so far (without running anything when
``--stage report``). ``--stage rules`` screens other one-cycle rules for the repeated sweep on the
grids (bench/tuning/sweep_rules.py) and writes their table instead; ``--stage winners`` screens ways
of choosing among a tune's trials on the stored tunes (bench/tuning/winner_rules.py), training nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch

from engine.data import prepare_dataset

from .hub_weights import install_mobilenet_v2_weights
from .tuning.ledger import Ledger
from .tuning.methods import all_methods
from .tuning.report import criteria, summarize, table
from .tuning.runs import grid_search, run_steps
from .tuning.sweep_rules import repeat_suggestions, screen
from .tuning.sweep_rules import table as sweep_rules_table
from .tuning.variants import VARIANTS, data_folders
from .tuning.winner_rules import screen as screen_winners
from .tuning.winner_rules import table as winner_rules_table

# The tables of docs/tuning-quality.md: five seeds left verdicts that moved from one measurement to the next.
STUDY_SEEDS = 10


def main() -> None:
    """Run the study (or the stages asked for) and write the report."""
    parser = argparse.ArgumentParser(prog="python -m bench.tuning_quality", description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--only", nargs="+", choices=[v.name for v in VARIANTS])
    parser.add_argument("--stage", choices=("grid", "all", "report", "rules", "winners"), default="all")
    parser.add_argument("--seeds", type=int, default=STUDY_SEEDS,
                        help="seeds at the grid's best points and for every method (default %(default)s; the grid's other points have 3)")
    parser.add_argument("--scratch", type=Path, help="where generated variants and tune trials are written (default: a temporary folder)")
    parser.add_argument("--report", type=Path, help="write the tables (Markdown) to this file")
    args = parser.parse_args()
    # One thread: on a shared 2-core machine, OpenMP teams that spin against other processes run several times slower.
    torch.set_num_threads(1)
    ledger = Ledger(args.ledger, read_only=args.stage in ("report", "winners"))
    rows, rules, winners = [], [], []
    with tempfile.TemporaryDirectory() as temporary:
        scratch = args.scratch or Path(temporary)
        folders = data_folders(scratch)
        if any(v.overrides.get("pretrained") for v in VARIANTS if not args.only or v.name in args.only):
            os.environ.setdefault("TORCH_HOME", str(scratch / "torch"))  # a user's cache when set, else a fresh one
            install_mobilenet_v2_weights()
        for variant in VARIANTS:
            if args.only and variant.name not in args.only:
                continue
            dataset = prepare_dataset(folders[variant.data], resolution=variant.image_size)
            if args.stage == "rules":
                grid = grid_search(ledger, variant, dataset, args.seeds)
                suggestions = [repeat_suggestions(ledger, variant, dataset, seed) for seed in range(args.seeds)]
                rules.append((variant, screen(variant, grid, suggestions, run_steps(variant, dataset))))
                continue
            if args.stage == "winners":
                grid = grid_search(ledger, variant, dataset, args.seeds)
                winners.append((variant, grid, screen_winners(ledger, variant, grid, args.seeds)))
                continue
            try:
                rows.append(study(ledger, variant, dataset, scratch, args.stage, args.seeds))
            except KeyError:  # --stage report: this variant has not been measured yet
                continue
            if args.report and rows[-1][2] is not None:
                write(args.report, [row for row in rows if row[2] is not None])
    if rules or winners:
        text = sweep_rules_table(rules, args.seeds) if rules else winner_rules_table(winners)
        print(text)
        if args.report:
            args.report.write_text(text + "\n")


def study(ledger: Ledger, variant, dataset, scratch: Path, stage: str, seeds: int):
    """(variant, grid, summary) for one variant; the summary is None after the grid stage alone."""
    grid = grid_search(ledger, variant, dataset, seeds)
    print(f"{variant.name}: grid best {grid['best_lr']:.3g} -> {100 * grid['best_mean']:.2f}% "
          f"(seed std {100 * grid['best_std']:.2f}), {grid['steps']} steps", flush=True)
    if stage == "grid":
        return variant, grid, None
    summary = summarize(grid, all_methods(ledger, variant, dataset, scratch, seeds))
    print(f"  tune - default {summary['tune_vs_default']:+.2f} points, tune gap {summary['tune']['gap']:+.2f}, "
          f"{100 * summary['tune_share']:.0f}% of the grid's compute", flush=True)
    return variant, grid, summary


def write(path: Path, rows) -> None:
    """The tables and the criteria, as Markdown."""
    path.write_text(table(rows) + "\n\n" + criteria(rows) + "\n")


if __name__ == "__main__":
    main()
