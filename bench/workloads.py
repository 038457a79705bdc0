"""The training work both sides of a comparison do: a hand-written PyTorch loop, and lrscope's job."""

from __future__ import annotations

import atexit
import contextlib
import functools
import shutil
import tempfile
import time
from pathlib import Path

import torch

from engine.config import TrainConfig
from engine.data.dataset import PreparedDataset, prepare_dataset
from engine.device import resolve_device
from engine.models import build_model
from engine.run import InProcessRun, NewRun, RunResult
from lrscope.samples import sample

SAMPLE = sample("digits")
QUICK_PER_CLASS = 32  # 320 images: 256 to train, 4 steps of 64 an epoch
QUICK_RESOLUTION = 8


def digits_folder(quick: bool) -> Path:
    """The digits sample; with --quick, which checks only that each benchmark runs, a copy of its first
    ``QUICK_PER_CLASS`` images of each class (a fifth of them), made once a process in a temporary folder."""
    return _quick_digits() if quick else SAMPLE


@functools.cache
def _quick_digits() -> Path:
    root = Path(tempfile.mkdtemp(prefix="lrscope-bench-digits-"))
    atexit.register(shutil.rmtree, root, True)
    for folder in sorted(path for path in SAMPLE.iterdir() if path.is_dir()):
        (root / folder.name).mkdir()
        for image in sorted(folder.iterdir())[:QUICK_PER_CLASS]:
            shutil.copyfile(image, root / folder.name / image.name)
    return root


def sample_dataset(quick: bool) -> PreparedDataset:
    """The digits as the benchmarks train on them: at their own 32 px, or with --quick a fifth of them at 8 px."""
    return prepare_dataset(digits_folder(quick), resolution=QUICK_RESOLUTION if quick else None)


def digits_words(dataset: PreparedDataset) -> str:
    """"small CNN, 32 px digits, batch 64": what a row's runs train."""
    return f"small CNN, {dataset.summary.resolution} px digits, batch 64"


def config(epochs: int = 3, **changes) -> TrainConfig:
    """The benchmark's training settings: small CNN, batch 64, no augmentation, on the CPU.

    The CPU unless a benchmark asks for another device: "auto" would put lrscope's side on a GPU where
    there is one, and the CPU rows would compare a GPU run with a CPU one.
    """
    values = {"data": str(SAMPLE), "epochs": epochs, "batch_size": 64, "augment": "none", "shape": "cosine", "lr": 0.1,
              "device": "cpu"}
    values.update(changes)
    return TrainConfig(**values)


def bare_loop(dataset: PreparedDataset, settings: TrainConfig, steps: int, lrs=None, step_times: list | None = None) -> float:
    """Seconds a plain PyTorch loop takes for ``steps`` steps on the same in-memory data (at ``lrs[i]`` if given).

    It runs on the settings' device, with bfloat16 autocast when they ask for mixed precision on a GPU
    (what lrscope's job does there). With ``step_times``, the duration of each step's forward, backward
    and update is appended to it (on a CPU: a GPU's steps end when its queue drains, not when Python returns).
    """
    torch.manual_seed(settings.seed)
    device = resolve_device(settings.device)
    summary = dataset.summary
    model, _ = build_model(settings.model, summary.channels, len(summary.classes), summary.resolution)
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    images = torch.from_numpy(dataset.decoded.images[dataset.train_index]).to(device)
    labels = torch.from_numpy(dataset.labels[dataset.train_index]).to(device)
    mean = torch.tensor(summary.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(summary.std, device=device).view(1, -1, 1, 1)
    loss_fn = torch.nn.CrossEntropyLoss()
    mixed = settings.amp and device.type == "cuda"
    generator = torch.Generator().manual_seed(settings.seed)
    per_epoch = len(labels) // settings.batch_size
    losses = []
    started = time.perf_counter()
    for step in range(steps):
        if step % per_epoch == 0:
            order = torch.randperm(len(labels), generator=generator).to(device)
        chosen = order[(step % per_epoch) * settings.batch_size:(step % per_epoch + 1) * settings.batch_size]
        if lrs is not None:
            for group in optimizer.param_groups:
                group["lr"] = float(lrs[step])
        batch, targets = images[chosen], labels[chosen]
        step_started = time.perf_counter()
        with torch.autocast("cuda", torch.bfloat16) if mixed else contextlib.nullcontext():
            loss = loss_fn(model((batch.float() / 255 - mean) / std), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step_times is not None:
            step_times.append(time.perf_counter() - step_started)
        losses.append(loss.detach())
    torch.stack(losses).cpu()
    return time.perf_counter() - started


def lrscope_job(dataset: PreparedDataset, settings: TrainConfig) -> RunResult:
    """A headless lrscope run with its event stream and run store on."""
    with tempfile.TemporaryDirectory() as runs:
        run = InProcessRun(NewRun(settings, dataset, None, Path(runs)))
        run.subscribe(lambda event: None)
        return run.run()
