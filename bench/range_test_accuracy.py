"""Does the range test's recommended one-cycle max LR train as well as the best LR of a grid search?

For each dataset: range tests (sweep and probe) from several seeds, reporting the
spread of each suggestion; a grid search of one-cycle max LR (5 epochs, two
seeds per LR); then 5-epoch one-cycle runs at each recommended max LR.

    python bench/range_test_accuracy.py DATASET_DIR [DATASET_DIR ...] --out results.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from engine.config import TrainConfig
from engine.data import prepare_dataset
from engine.range_test.runner import run_range_test
from engine.range_test.settings import RangeTestSettings
from engine.training.job import TrainingJob
from engine.training.session import build_session


def accuracy(dataset, lr: float, seed: int, epochs: int) -> float:
    """Validation accuracy after a one-cycle run with max LR ``lr``."""
    config = TrainConfig(data=dataset.summary.root, lr=float(lr), seed=seed, epochs=epochs, shape="one_cycle")
    return TrainingJob(config, dataset).run().val_accuracy


def range_tests(dataset, seeds: list[int]) -> dict:
    """Suggestions and recommendations of sweep and probe, per seed."""
    out = {}
    for mode in ("sweep", "probe"):
        rows = []
        for seed in seeds:
            session = build_session(TrainConfig(data=dataset.summary.root, seed=seed), dataset)
            result = run_range_test(session, RangeTestSettings(mode=mode), lambda _event: None)
            rows.append({"seed": seed, "seconds": result.seconds,
                         "suggestions": {s.method: s.lr for s in result.suggestions},
                         "constant": result.recommendation.constant_lr,
                         "one_cycle": result.recommendation.one_cycle_max_lr,
                         "notes": list(result.notes)})
        out[mode] = rows
    return out


def spread(values: list[float]) -> float:
    """max/min."""
    return float(max(values) / min(values))


def study(folder: Path, seeds: list[int], grid: np.ndarray, epochs: int) -> dict:
    """The whole comparison for one dataset."""
    dataset = prepare_dataset(folder)
    started = time.perf_counter()
    tests = range_tests(dataset, seeds)
    grid_acc = {float(lr): float(np.mean([accuracy(dataset, lr, s, epochs) for s in seeds[:2]])) for lr in grid}
    best_lr = max(grid_acc, key=grid_acc.get)
    checks = {}
    for mode, rows in tests.items():
        accs = [accuracy(dataset, row["one_cycle"], row["seed"], epochs) for row in rows]
        checks[mode] = {"recommended": [row["one_cycle"] for row in rows], "accuracy": accs,
                        "gap_points": 100 * (grid_acc[best_lr] - float(np.mean(accs))),
                        "spread": spread([row["one_cycle"] for row in rows]),
                        "method_spread": {m: spread([r["suggestions"][m] for r in rows]) for m in rows[0]["suggestions"]}}
    return {"dataset": folder.name, "grid": grid_acc, "best_lr": best_lr, "best_accuracy": grid_acc[best_lr],
            "range_tests": tests, "checks": checks, "seconds": time.perf_counter() - started}


def main() -> None:
    """Run the study on each folder and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    grid = np.geomspace(0.01, 3.0, 10)
    results = []
    for folder in args.folders:
        results.append(study(folder, list(range(args.seeds)), grid, args.epochs))
        r = results[-1]
        print(f"{r['dataset']}: grid best {r['best_lr']:.3g} -> {100 * r['best_accuracy']:.2f}%", flush=True)
        for mode, check in r["checks"].items():
            print(f"  {mode}: recommended {[round(x, 3) for x in check['recommended']]} -> "
                  f"{[round(100 * a, 2) for a in check['accuracy']]} (gap {check['gap_points']:.2f} points, spread x{check['spread']:.2f}) "
                  f"methods {check['method_spread']}", flush=True)
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
