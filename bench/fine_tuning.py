"""Fine-tuning on real ImageNet weights (torchvision's MobileNetV2 IMAGENET1K_V1 from the torch hub cache).

On the two bundled samples and on a small subset of the digits (10 images per class), 3 seeds each, validation
accuracy of:
(a) MobileNetV2 from scratch against the pretrained one fine-tuned, at the same epochs;
(b) the pretrained one at one uniform LR against discriminative LRs (fastai's fine_tune);
(c) the range test's recommendation for the pretrained model (head-only phase) against the scratch model's,
and a fine-tune at that recommendation. Then the speed row: steps/s of fine-tuning at 224 px on a folder
of JPEGs, lrscope against torchvision ImageFolder + DataLoader with the weights' transforms.

    python -m bench.fine_tuning [--quick] [--out docs/fine-tuning.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.config import PRETRAINED_LR, TrainConfig
from engine.data import prepare_dataset
from engine.models.setup import PRETRAINED_MIN_RESOLUTION
from engine.range_test.runner import run_range_test
from engine.range_test.settings import RangeTestSettings
from engine.training.job import TrainingJob

from .fine_tuning_speed import speed_rows
from .hub_weights import install_mobilenet_v2_weights
from .workloads import SAMPLE

HERE = Path(__file__).resolve().parent
MARK = "<!-- bench.fine_tuning writes below this line -->"
SEEDS = (0, 1, 2)
SCRATCH_LR = TrainConfig().lr
# What lrscope picks for a pretrained MobileNetV2 on the 8×8 digit scans (its smallest pretrained size); scratch runs
# train at the same size so that (a) compares starting weights, not resolutions.
RESOLUTION = PRETRAINED_MIN_RESOLUTION
BATCH = 16
# A run of fewer steps measures where it starts, not what a schedule does: 10 images per class train 30 epochs.
MIN_STEPS = 150


def subset(folder: Path, per_class: int, into: Path) -> Path:
    """The first ``per_class`` images of every class of ``folder``, copied into ``into``."""
    for label in sorted(p for p in folder.iterdir() if p.is_dir()):
        (into / label.name).mkdir(parents=True)
        for image in sorted(label.iterdir())[:per_class]:
            shutil.copyfile(image, into / label.name / image.name)
    return into


def sample(name: str, scratch: Path) -> Path:
    """A bundled sample by name, or its first N images per class for ``NAME:N``."""
    folder, _, per_class = name.partition(":")
    root = SAMPLE.parent / folder
    return subset(root, int(per_class), scratch / f"{folder}-{per_class}-per-class") if per_class else root


def base(dataset, seed: int, epochs: int, **changes) -> TrainConfig:
    """MobileNetV2 at RESOLUTION, batch BATCH, no augmentation."""
    values = {"data": dataset.summary.root, "model": "mobilenet_v2", "epochs": epochs, "batch_size": BATCH, "augment": "none",
              "image_size": RESOLUTION, "seed": seed, "split_seed": 0}
    return TrainConfig(**{**values, **changes})


def accuracy(config: TrainConfig, dataset) -> float:
    """Validation accuracy at the end of a run."""
    return TrainingJob(config, dataset).run().val_accuracy


def recommended_lr(config: TrainConfig, dataset, iterations: int) -> float | None:
    """The range test's one-cycle max LR for the run ``config`` starts (for fine_tune: its head-only phase)."""
    job = TrainingJob(config, dataset)
    result = run_range_test(job.session, RangeTestSettings(iterations=iterations, repeats=1), lambda _event: None,
                            job.run_schedule.timeline, step=0, run_steps=job.run_schedule.timeline.total_steps)
    return result.recommendation.one_cycle_max_lr if result.recommendation else None


def one_seed(dataset, seed: int, epochs: int, iterations: int) -> dict:
    """Every variant's accuracy, and both recommendations, for one seed."""
    scratch = base(dataset, seed, epochs, lr=SCRATCH_LR)
    uniform = base(dataset, seed, epochs, pretrained="auto", lr=PRETRAINED_LR)
    discriminative = base(dataset, seed, epochs, pretrained="auto", lr=PRETRAINED_LR, freeze_epochs=1)
    row = {"scratch": accuracy(scratch, dataset), "uniform": accuracy(uniform, dataset),
           "discriminative": accuracy(discriminative, dataset),
           "scratch_lr": recommended_lr(scratch, dataset, iterations),
           "pretrained_lr": recommended_lr(discriminative, dataset, iterations)}
    row["scratch_tuned"] = accuracy(base(dataset, seed, epochs, lr=row["scratch_lr"] or SCRATCH_LR), dataset)
    row["recommended"] = accuracy(base(dataset, seed, epochs, pretrained="auto", freeze_epochs=1,
                                       lr=row["pretrained_lr"] or PRETRAINED_LR), dataset)
    return row


def study(folder: Path, seeds, epochs: int, iterations: int, kept: list[dict]) -> dict:
    """The variants on one dataset, seed by seed (at least MIN_STEPS steps a run: a small subset trains more epochs);
    a study of the same dataset, epochs and seeds in ``kept`` (the last run's JSON) is reused."""
    dataset = prepare_dataset(folder, resolution=RESOLUTION)
    epochs = max(epochs, math.ceil(MIN_STEPS / math.ceil(len(dataset.train_index) / BATCH)))
    for done in kept:
        if (done["dataset"], done["epochs"], done["seeds"]) == (folder.name, epochs, list(seeds)):
            print(f"  {folder.name}: kept from the last run", flush=True)
            return done
    started = time.perf_counter()
    rows = []
    for seed in seeds:
        rows.append(one_seed(dataset, seed, epochs, iterations))
        print(f"  {folder.name} seed {seed}: {rows[-1]}", flush=True)
    return {"dataset": folder.name, "images": dataset.summary.image_count, "train": len(dataset.train_index),
            "val": len(dataset.val_index), "epochs": epochs, "seeds": list(seeds), "rows": rows,
            "seconds": time.perf_counter() - started}


VARIANTS = (("scratch", f"scratch, one-cycle at LR {SCRATCH_LR:g} (lrscope's default)"),
            ("scratch_tuned", "scratch, one-cycle at the range test's recommendation"),
            ("uniform", f"pretrained, one uniform LR {PRETRAINED_LR:g} (one-cycle, everything trainable)"),
            ("discriminative", f"pretrained, fine_tune at LR {PRETRAINED_LR:g}: head 1 epoch, then LRs spread over 1/100"),
            ("recommended", "pretrained, fine_tune at the range test's recommendation (lrscope's fine-tuning)"))


def mean_sd(values: list[float]) -> str:
    """Mean ± standard deviation of accuracies, in percent."""
    return f"{100 * statistics.mean(values):.1f} ± {100 * statistics.stdev(values) if len(values) > 1 else 0:.1f}"


def table(studies: list[dict]) -> str:
    """The accuracy table (one column per dataset) and the recommendations."""
    head = [f"{s['dataset']} ({s['train']} train / {s['val']} val images, {s['epochs']} epochs)" for s in studies]
    lines = ["| variant | " + " | ".join(head) + " |", "|---|" + "---|" * len(studies)]
    for key, label in VARIANTS:
        lines.append(f"| {label} | " + " | ".join(mean_sd([r[key] for r in s["rows"]]) for s in studies) + " |")
    for key, label in (("scratch_lr", "range test's one-cycle max LR, scratch"),
                       ("pretrained_lr", "range test's one-cycle max LR, pretrained (head-only phase)")):
        cells = [", ".join("none" if r[key] is None else f"{r[key]:.3g}" for r in s["rows"]) for s in studies]
        lines.append(f"| {label} (per seed) | " + " | ".join(cells) + " |")
    gains = [[r["recommended"] - r["uniform"] for r in s["rows"]] for s in studies]
    lines.append("| recommended − uniform, points (per seed) | "
                 + " | ".join(", ".join(f"{100 * g:+.1f}" for g in gain) for gain in gains) + " |")
    return "\n".join(lines)


def write(out: Path, studies: list[dict], speed: list, seconds: float, quick: bool) -> None:
    """Replace the measured part of ``out`` (below the marker) with this run's tables."""
    text = out.read_text() if out.exists() else f"# Fine-tuning\n\n{MARK}\n"
    kept = text.split(MARK)[0] if MARK in text else text + "\n"
    speed_lines = ["| measure | median | spread | target | verdict | notes |", "|---|---|---|---|---|---|"]
    speed_lines += ["| " + " | ".join(row.cells()[1:]) + " |" for row in speed]
    body = (f"{MARK}\n\nMeasured by `python -m bench.fine_tuning{' --quick' if quick else ''}` on {time.strftime('%Y-%m-%d')} "
            f"in {seconds / 60:.0f} min{' (--quick: sizes too small to mean anything)' if quick else ''}; "
            f"validation accuracy in %, mean ± standard deviation over seeds {', '.join(map(str, SEEDS))}.\n\n"
            + table(studies) + "\n\n### Speed\n\n" + "\n".join(speed_lines) + "\n")
    out.write_text(kept + body)
    out.with_suffix(".json").write_text(json.dumps(studies, indent=1))


def main() -> None:
    """Run the study and the speed row; write the tables into ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m bench.fine_tuning", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one seed: checks that the benchmark runs")
    parser.add_argument("--datasets", nargs="+", default=["digits:10", "digits", "digits-camera2"],
                        help="bundled samples to study, NAME or NAME:IMAGES_PER_CLASS for a subset")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs" / "fine-tuning.md")
    parser.add_argument("--repeats", type=int, default=2, help="A B B A repetitions of the speed row (2 take about 3 minutes)")
    parser.add_argument("--again", action="store_true", help="measure every dataset again, even those in the last run's JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ.setdefault("TORCH_HOME", str(Path(scratch) / "torch"))  # a user's cache when set, else a fresh one
        os.environ.setdefault("LRSCOPE_CACHE_DIR", str(Path(scratch) / "cache"))
        install_mobilenet_v2_weights()
        seeds, epochs = (SEEDS[:1], 2) if args.quick else (SEEDS, args.epochs)
        kept = [] if args.again or args.quick or not args.out.with_suffix(".json").exists() else json.loads(args.out.with_suffix(".json").read_text())
        studies = [study(sample(name, Path(scratch)), seeds, epochs, 8 if args.quick else 30, kept)
                   for name in (["digits:3"] if args.quick else args.datasets)]
        speed = speed_rows(Path(scratch), args.quick, args.repeats)
    for row in speed:
        print(" | ".join(row.cells()), flush=True)
    write(args.out, studies, speed, time.perf_counter() - started, args.quick)
    print(table(studies))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
