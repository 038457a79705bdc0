"""1. lrscope's job (events and run store on) against a bare PyTorch loop: steps per second."""

from __future__ import annotations

from engine.data import prepare_dataset

from .common import alternate, ratio_row
from .workloads import SAMPLE, bare_loop, config, lrscope_job


def run(quick: bool) -> list:
    """Rows: the steps/s ratio lrscope / bare loop."""
    dataset = prepare_dataset(SAMPLE)
    settings = config(epochs=1 if quick else 6)
    steps = settings.epochs * (len(dataset.train_index) // settings.batch_size)
    bare_loop(dataset, settings, 10)
    lrscope_job(dataset, config(epochs=1))
    repeats = 1 if quick else 10
    ours, bare = alternate(lambda: lrscope_job(dataset, settings).train_seconds, lambda: bare_loop(dataset, settings, steps), repeats)
    note = f"small CNN, 32 px digits, batch 64, {steps} steps a run, CPU; validation excluded on both sides"
    return [ratio_row("engine overhead", "steps/s, lrscope job ÷ bare loop", bare, ours, target=0.98, at_least=True, note=note)]
