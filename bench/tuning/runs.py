"""Training runs of the study: one run of a variant at a max LR and seed, and the grid search built from them."""

from __future__ import annotations

import numpy as np

from engine.commands import Stop
from engine.config import TrainConfig
from engine.data.split import training_batches_per_epoch
from engine.events import FaultRaised
from engine.training.job import TrainingJob

from .ledger import Ledger
from .variants import Variant, extended

# Every grid point is run on these seeds; the best points on more (``seeds`` in all, 5 unless said otherwise).
SEEDS = (0, 1, 2)
BEST_POINT_SEEDS = 5
TOP_POINTS = 3


def config(variant: Variant, dataset, lr: float, seed: int) -> TrainConfig:
    """The variant's run at max LR ``lr`` with ``seed``."""
    return TrainConfig(data=dataset.summary.root, image_size=variant.image_size, lr=float(lr), seed=seed, **variant.overrides)


def run_steps(variant: Variant, dataset) -> int:
    """The length in steps of the variant's run."""
    settings = config(variant, dataset, variant.default_lr, 0)
    return settings.epochs * training_batches_per_epoch(len(dataset.train_index), settings.batch_size)


def train(ledger: Ledger, variant: Variant, dataset, lr: float, seed: int) -> dict:
    """Final validation accuracy and loss of one run (stored, so each run is made once).

    A NaN or exploding loss ends the run at 0% accuracy, as it ends a tune's trial: the study scores the LR, not
    the rollbacks (LR ×0.1) with which ``lrscope train`` would go on from there. (Unanswered, the fault would
    leave the run paused, waiting for a person.)"""
    def measure() -> dict:
        job = TrainingJob(config(variant, dataset, lr, seed), dataset)
        faults = []

        def stop_on_fault(event) -> None:
            if isinstance(event, FaultRaised):
                faults.append(event.kind)
                job.send(Stop())

        job.bus.subscribe(stop_on_fault)
        outcome = job.run()
        accuracy = outcome.val_accuracy if np.isfinite(outcome.val_accuracy) and not faults else 0.0
        loss = float(outcome.val_loss) if np.isfinite(outcome.val_loss) else None  # plain JSON: no NaN in the ledger
        return {"accuracy": float(accuracy), "loss": loss, "steps": int(outcome.step),
                "state": f"{faults[0]}: stopped" if faults else outcome.state}
    return ledger.get(f"{variant.name}|train|{lr:.6g}|{seed}", measure)


def grid_search(ledger: Ledger, variant: Variant, dataset, seeds: int = BEST_POINT_SEEDS) -> dict:
    """The grid on three seeds (extended past an edge holding the best), then seeds 3 … ``seeds`` − 1 at the best three
    points, and at any other point whose three-seed mean then leads theirs, so that the best point always has them all."""
    lrs = tuple(variant.grid)
    while True:
        means = {lr: np.mean([train(ledger, variant, dataset, lr, s)["accuracy"] for s in SEEDS]) for lr in lrs}
        wider = extended(lrs, means)
        if wider == lrs or len(lrs) >= len(variant.grid) + 4:
            break
        lrs = wider
    top = sorted(lrs, key=lambda lr: means[lr])[-TOP_POINTS:]
    while True:
        for lr in top:
            for seed in range(len(SEEDS), seeds):
                train(ledger, variant, dataset, lr, seed)
        table = grid_table(ledger, variant, lrs, top, seeds)
        if table["best_lr"] in top:
            return table
        top.append(table["best_lr"])


def grid_table(ledger: Ledger, variant: Variant, lrs, top, seeds: int) -> dict:
    """Per grid LR: the accuracies of its seeds (``seeds`` at the ``top`` points, three elsewhere); the best point; the
    seed spread there; the compute. (A method's run that lands on a grid point with a later seed is not the grid's.)

    The compute is the grid's as the issue defines it, BEST_POINT_SEEDS at the top points: seeds past those measure the
    methods more finely, they are not part of the search a budget is compared with."""
    points = {}
    steps = 0
    for lr in lrs:
        runs = [ledger.entries[f"{variant.name}|train|{lr:.6g}|{seed}"] for seed in range(seeds if lr in top else len(SEEDS))]
        points[lr] = [r["accuracy"] for r in runs]
        steps += sum(r["steps"] for r in runs[:BEST_POINT_SEEDS])
    best = max(points, key=lambda lr: np.mean(points[lr]))
    return {"points": points, "best_lr": best, "best_mean": float(np.mean(points[best])),
            "best_std": float(np.std(points[best], ddof=1)), "steps": steps, "seeds": seeds}
