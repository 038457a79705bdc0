"""Everything a training step needs, built from a config and a prepared dataset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..config import TrainConfig
from ..data.augment import InputPipeline
from ..data.batches import FileDataset, StreamingBatches, TensorBatches
from ..data.dataset import PreparedDataset
from ..device import resolve_device
from ..distributed.model import Replicas, with_sync_batchnorm
from ..distributed.world import World, current
from ..models import setup_model
from ..optim import build_optimizer

Log = Callable[[str, str], None]  # a line for the user and its level, "info" or "warning"


@dataclass
class Session:
    """Model, optimizer, data and input pipeline on one device."""

    config: TrainConfig
    device: torch.device
    model: nn.Module
    optimizer: torch.optim.Optimizer
    pipeline: InputPipeline
    train: TensorBatches | StreamingBatches
    val: TensorBatches | StreamingBatches
    loss_fn: nn.Module
    amp_dtype: torch.dtype | None
    scaler: torch.amp.GradScaler | None
    world: World
    replicas: Replicas
    weights: str = ""

    @property
    def trainer(self) -> nn.Module:
        """The module a training step runs through: DDP over ``model`` when several processes train, else ``model``."""
        return self.replicas.module()

    @property
    def steps_per_epoch(self) -> int:
        """Training batches per epoch."""
        return len(self.train)

    @property
    def group_names(self) -> tuple[str, ...]:
        """The optimizer's parameter group names, in order."""
        return tuple(g["name"] for g in self.optimizer.param_groups)


def _batches(dataset: PreparedDataset, index: np.ndarray, config: TrainConfig, device: torch.device,
             shuffle: bool, on_skip, world: World) -> TensorBatches | StreamingBatches:
    """Global batches (of which this rank takes its shard): the data order does not depend on the number of processes."""
    batch_size = config.global_batch if shuffle else config.global_batch * 2
    shard = (world.rank, world.size)
    labels = dataset.labels[index]
    if dataset.decoded is not None:
        images = torch.from_numpy(dataset.decoded.images[index])
        return TensorBatches(images.to(device), torch.from_numpy(labels).to(device), batch_size, shuffle=shuffle, seed=config.seed,
                             shard=shard)
    files = FileDataset([dataset.paths[i] for i in index], labels, dataset.summary.resolution, dataset.summary.channels)
    return StreamingBatches(files, batch_size, shuffle=shuffle, seed=config.seed, workers=config.workers, device=device, on_skip=on_skip,
                            shard=shard)


def _amp(config: TrainConfig, device: torch.device) -> tuple[torch.dtype | None, torch.amp.GradScaler | None]:
    """bfloat16 autocast where the GPU supports it (no scaler needed), else float16 with a scaler."""
    if not config.amp or device.type != "cuda":
        return None, None
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16, None
    return torch.float16, torch.amp.GradScaler("cuda")


def build_session(config: TrainConfig, dataset: PreparedDataset, *, log: Log | None = None,
                  on_skip: Callable[[list[str]], None] | None = None, load_weights: bool = True) -> Session:
    """Seed, build the model (pretrained, or with local weights, if asked), the optimizer and the batches.

    Pretrained weights bring their own normalization (grayscale images are expanded to their
    three channels); a model from scratch is normalized with the data's statistics.
    ``load_weights=False`` builds the same model without reading weights (a resume restores its own).
    Under torchrun (``config.world_size`` processes) this rank gets its GPU, its shard of every batch and DDP.
    """
    config.validate()
    world = current()
    if world.size != config.world_size:
        raise ValueError(f"the config is for {config.world_size} process(es) but {world.size} train")
    device = world.device(resolve_device(config.device))
    torch.manual_seed(config.seed)
    summary = dataset.summary
    setup = setup_model(config.model, channels=summary.channels, classes=len(summary.classes), resolution=summary.resolution,
                        pretrained=config.pretrained, weights_file=config.weights, load=load_weights)
    if log and setup.note:
        log(setup.note, setup.note_level)
    model = with_sync_batchnorm(setup.model, world, config.sync_batchnorm, device).to(device)
    optimizer = build_optimizer(config.optimizer, setup.groups, lr=config.lr, momentum=config.momentum,
                                nesterov=config.nesterov, weight_decay=config.weight_decay)
    mean, std = (setup.input.mean, setup.input.std) if setup.input else (summary.mean, summary.std)
    pipeline = InputPipeline(mean, std, config.augment, config.seed, device, summary.resolution)
    amp_dtype, scaler = _amp(config, device)
    return Session(
        config, device, model, optimizer, pipeline,
        _batches(dataset, dataset.train_index, config, device, True, on_skip, world),
        _batches(dataset, dataset.val_index, config, device, False, on_skip, world),
        nn.CrossEntropyLoss(), amp_dtype, scaler, world, Replicas(model, device, world), setup.weights,
    )
