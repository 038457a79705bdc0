"""3. Data: epoch time of lrscope's loader (first epoch cold, later ones cached) against torchvision's
ImageFolder with a DataLoader (0 and 2 workers); time to open a folder of 1,000 and 50,000 images."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import torch

from engine.data import prepare_dataset
from engine.data.augment import InputPipeline
from engine.data.batches import TensorBatches
from engine.data.fingerprint import fingerprint
from engine.data.folder import scan_folder
from engine.data.summary import class_counts, read_headers

from .common import Row, alternate, median_spread
from .workloads import SAMPLE, digits_folder

BATCH = 64


def lrscope_epoch(dataset) -> float:
    """Seconds for one epoch of model-ready batches from lrscope's in-memory images."""
    index = dataset.train_index
    batches = TensorBatches(torch.from_numpy(dataset.decoded.images[index]), torch.from_numpy(dataset.labels[index]), BATCH, shuffle=True)
    pipeline = InputPipeline(dataset.summary.mean, dataset.summary.std, "none", 0, torch.device("cpu"), dataset.summary.resolution)
    started = time.perf_counter()
    for images, _labels in batches.iterate(1):
        pipeline.normalize(images)
    return time.perf_counter() - started


def lrscope_cold(folder: Path) -> float:
    """Seconds to open a folder with nothing cached and run its first epoch."""
    started = time.perf_counter()
    dataset = prepare_dataset(folder)
    lrscope_epoch(dataset)
    return time.perf_counter() - started


def torchvision_epoch(folder: Path, workers: int) -> float:
    """Seconds for the second epoch of torchvision's ImageFolder through a DataLoader (the first starts the workers)."""
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.Grayscale(1), transforms.ToTensor(), transforms.Normalize((0.31,), (0.35,))])
    loader = torch.utils.data.DataLoader(datasets.ImageFolder(str(folder), transform=transform), batch_size=BATCH, shuffle=True,
                                         num_workers=workers, persistent_workers=workers > 0, drop_last=True)
    for _ in loader:
        pass
    started = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - started


def many_images(root: Path, count: int) -> Path:
    """``count`` tiny PNGs in 10 classes (one image copied, so writing them is quick)."""
    sample = next(SAMPLE.glob("0/*.png")).read_bytes()
    for index in range(count):
        folder = root / str(index % 10)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index:06d}.png").write_bytes(sample)
    return root


def open_time(folder: Path) -> float:
    """Seconds to scan, fingerprint and summarize a folder (no image decoded but a header sample)."""
    started = time.perf_counter()
    scan = scan_folder(folder)
    fingerprint(scan)
    read_headers(scan)
    class_counts(scan)
    return time.perf_counter() - started


def run(quick: bool) -> list:
    """Rows: cold and cached epochs, torchvision epochs, open times."""
    repeats = 1 if quick else 5
    digits = digits_folder(quick)
    dataset = prepare_dataset(digits)
    cold, warm = alternate(lambda: lrscope_cold(digits), lambda: lrscope_epoch(dataset), repeats)
    tv0, tv2 = alternate(lambda: torchvision_epoch(digits, 0), lambda: torchvision_epoch(digits, 2 if not quick else 0), repeats)
    rows = []
    for measure, values, note in (("lrscope, first epoch (open + decode + epoch)", cold, "nothing cached"),
                                  ("lrscope, later epochs (decoded once, in memory)", warm, ""),
                                  ("torchvision ImageFolder + DataLoader, 0 workers", tv0, "decodes every epoch"),
                                  ("torchvision ImageFolder + DataLoader, 2 workers", tv2, "second epoch, persistent workers")):
        value, spread = median_spread([1000 * v for v in values])
        rows.append(Row("data pipeline", f"{measure}: epoch of {len(dataset.train_index):,} images", value, spread, "ms", note=note))
    tv_best = min(median_spread(tv0)[0], median_spread(tv2)[0])
    rows.append(Row("data pipeline", "later epochs: torchvision's best ÷ lrscope", tv_best / median_spread(warm)[0], (0, 0), "×",
                    note="how many times faster lrscope's cached epochs are"))
    with tempfile.TemporaryDirectory() as scratch:
        for count in ((1_000,) if quick else (1_000, 50_000)):
            folder = many_images(Path(scratch) / str(count), count)
            value, spread = median_spread([open_time(folder) for _ in range(repeats)])
            rows.append(Row("open a folder", f"{count:,} small images: scan, fingerprint, summary", 1000 * value,
                            (1000 * spread[0], 1000 * spread[1]), "ms"))
            shutil.rmtree(folder)
    return rows
