"""Steps/s of fine-tuning a pretrained MobileNetV2 at 224 px on a folder of JPEGs: lrscope's job against torchvision's
ImageFolder + DataLoader with the weights' own transforms (the better of 0 and 2 workers), in the same run."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.commands import Stop
from engine.config import TrainConfig
from engine.data import prepare_dataset
from engine.events import StepsLogged
from engine.training.job import TrainingJob

from .common import Row, alternate, median_spread, ratio_row

BATCH = 16
CLASSES = 10


def jpeg_folder(root: Path, count: int) -> Path:
    """``count`` 256×256 JPEGs in 10 classes: a colored gradient per class with noise, so each file decodes for real."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 1, 256)[None, :, None]
    for index in range(count):
        label = index % CLASSES
        color = np.array([(label * 37) % 255, (label * 91) % 255, (label * 53) % 255])[None, None, :]
        pixels = np.clip(ramp * color + rng.normal(0, 40, (256, 256, 3)), 0, 255).astype(np.uint8)
        folder = root / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(folder / f"{index:05d}.jpg", quality=90)
    return root


def lrscope_steps_per_second(dataset, steps: int) -> float:
    """lrscope's job fine-tuning every group (uniform LR), stopped after ``steps``: steps/s after its first step."""
    config = TrainConfig(data=dataset.summary.root, model="mobilenet_v2", pretrained="auto", lr=0.01, batch_size=BATCH,
                         epochs=1, augment="none", image_size=224)
    job = TrainingJob(config, dataset, flush_interval=0.0)
    times: list[float] = []

    def clock(event) -> None:
        if isinstance(event, StepsLogged):
            times.extend([time.perf_counter()] * len(event.steps))
            if len(times) > steps:
                job.send(Stop())

    job.bus.subscribe(clock)
    job.run()
    return (len(times) - 1) / (times[-1] - times[0])


def torchvision_steps_per_second(folder: Path, steps: int, workers: int) -> float:
    """The same fine-tune written with torchvision's ImageFolder, DataLoader and the weights' transforms."""
    from torchvision import datasets
    from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

    weights = MobileNet_V2_Weights.IMAGENET1K_V1
    data = datasets.ImageFolder(str(folder), transform=weights.transforms())
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True, num_workers=workers, drop_last=True)
    model = mobilenet_v2(weights=weights)
    model.classifier[1] = torch.nn.Linear(model.last_channel, CLASSES)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    times = []
    for images, labels in loader:
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter())
        if len(times) > steps:
            break
    return (len(times) - 1) / (times[-1] - times[0])


def speed_rows(scratch: Path, quick: bool, repeats: int = 2) -> list[Row]:
    """lrscope ÷ torchvision's steps/s with its better worker count, paired by repetition (A B B A); the decode lrscope
    does once, in a note.

    The worker count is chosen by the median over the repetitions, not per pair: the better of two noisy samples
    against one sample would favour torchvision by about half the noise (6 steps moved a side by 10 %).
    """
    count, steps, repeats = (64, 2, 1) if quick else (2000, 20, repeats)
    folder = jpeg_folder(scratch / "jpegs", count)
    started = time.perf_counter()
    dataset = prepare_dataset(folder, resolution=224)
    decode = time.perf_counter() - started
    by_workers: dict[int, list[float]] = {0: [], 2: []}

    def torchvision_both() -> float:
        for workers, measured in by_workers.items():
            measured.append(torchvision_steps_per_second(folder, steps, workers))
        return 0.0

    ours, _ = alternate(lambda: lrscope_steps_per_second(dataset, steps), torchvision_both, repeats)
    workers = max(by_workers, key=lambda w: median_spread(by_workers[w])[0])
    theirs = by_workers[workers]
    note = (f"{count:,} JPEGs 256 px, batch {BATCH}, {steps} steps after the first, every group trainable; torchvision's "
            f"better setting: {workers} workers; lrscope decoded the folder once in {decode:.0f} s before training (not in its "
            "steps/s)")
    rows = [ratio_row("fine-tuning speed", "steps/s lrscope ÷ torchvision ImageFolder + DataLoader (its better of 0 or 2 workers)",
                      ours, theirs, target=1.0, at_least=True, note=note)]
    for name, values in (("lrscope", ours), ("torchvision, its better of 0 or 2 workers", theirs)):
        value, spread = median_spread(values)
        rows.append(Row("fine-tuning speed", f"steps/s, {name}", value, spread, "steps/s"))
    return rows
