"""4. Range test: 100 sweep iterations of lrscope against torch-lr-finder on the same model and data,
both tools' suggestions side by side, and the cost of a sweep iteration against a plain training step."""

from __future__ import annotations

import time

import numpy as np
import torch

from engine.models import build_model
from engine.range_test.runner import run_range_test
from engine.range_test.settings import RangeTestSettings
from engine.range_test.sweep import lr_sequence
from engine.training.session import build_session

from .common import Row, alternate, median_spread, ratio_row
from .workloads import bare_loop, config, sample_dataset

ITERATIONS = 100


def lrscope_sweep(dataset, settings, iterations: int) -> tuple[float, object]:
    """Seconds for the sweep (restore included) and its result."""
    session = build_session(settings, dataset)
    started = time.perf_counter()
    result = run_range_test(session, RangeTestSettings(iterations=iterations, diverge_factor=1e9, repeats=1, curvature=False), lambda event: None)
    return time.perf_counter() - started, result


def lr_finder_sweep(dataset, settings, iterations: int) -> tuple[float, float]:
    """Seconds for torch-lr-finder's range_test (and reset), and its steepest-gradient suggestion."""
    from torch_lr_finder import LRFinder

    torch.manual_seed(settings.seed)
    summary = dataset.summary
    model, _ = build_model(settings.model, summary.channels, len(summary.classes), summary.resolution)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-7, momentum=settings.momentum, weight_decay=settings.weight_decay)
    images = torch.from_numpy(dataset.decoded.images[dataset.train_index]).float() / 255
    images = (images - torch.tensor(summary.mean).view(1, -1, 1, 1)) / torch.tensor(summary.std).view(1, -1, 1, 1)
    labels = torch.from_numpy(dataset.labels[dataset.train_index])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=settings.batch_size, shuffle=True, drop_last=True)
    finder = LRFinder(model, optimizer, torch.nn.CrossEntropyLoss(), device="cpu")
    started = time.perf_counter()
    finder.range_test(loader, end_lr=10, num_iter=iterations, diverge_th=1e9)
    finder.reset()
    seconds = time.perf_counter() - started
    lrs, losses = np.array(finder.history["lr"]), np.array(finder.history["loss"])
    # torch-lr-finder's own suggestion (its plot(suggest_lr=True)): steepest gradient, skipping 10 points at the start and 5 at the end.
    return seconds, float(lrs[10:-5][np.gradient(losses[10:-5]).argmin()])


def run(quick: bool) -> list:
    """Rows: time ratio against torch-lr-finder, suggestions, sweep iteration vs training step."""
    dataset = sample_dataset(quick)
    settings = config()
    iterations = 20 if quick else ITERATIONS
    repeats = 1 if quick else 5
    rows = []
    lrs = lr_sequence(1e-7, 10.0, iterations)
    lrscope_sweep(dataset, settings, iterations)
    ours, bare = alternate(lambda: lrscope_sweep(dataset, settings, iterations)[0],
                           lambda: bare_loop(dataset, settings, iterations, lrs), repeats)
    rows.append(ratio_row("range test", "sweep iteration ÷ plain training step at the same LRs (time)", ours, bare, target=1.05,
                          at_least=False, note="lrscope's time includes the snapshot, the restore and the estimate"))
    try:
        import torch_lr_finder  # noqa: F401
    except ImportError:
        rows.append(Row("range test", "lrscope ÷ torch-lr-finder (time)", float("nan"), (0, 0), "", "≤ 1", None,
                        "torch-lr-finder is not installed: `pip install -e '.[bench]'`"))
        return rows
    theirs_runs, ours_runs = [], []
    for _ in range(repeats):
        ours_runs.append(lrscope_sweep(dataset, settings, iterations))
        theirs_runs.append(lr_finder_sweep(dataset, settings, iterations))
    rows.append(ratio_row("range test", f"lrscope ÷ torch-lr-finder, {iterations} sweep iterations (time)",
                          [o[0] for o in ours_runs], [t[0] for t in theirs_runs], target=1.0, at_least=False))
    result = ours_runs[-1][1]
    found = {s.method: s.lr for s in result.suggestions}
    theirs, spread = median_spread([t[1] for t in theirs_runs])
    rows.append(Row("range test", "suggested LR: torch-lr-finder (steepest gradient)", theirs, spread, "",
                    note=f"spread over {repeats} runs"))
    rows.append(Row("range test", "suggested LR: lrscope", found.get("steepest", float("nan")), (0, 0), "",
                    note=f"steepest {found.get('steepest', float('nan')):.3g}, valley {found.get('valley', float('nan')):.3g}, "
                         f"min_loss {found.get('min_loss', float('nan')):.3g}; recommended one-cycle max "
                         f"{result.recommendation.one_cycle_max_lr:.3g}" if result.recommendation else "no recommendation"))
    return rows
