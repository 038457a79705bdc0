"""What resuming a run needs: its saved config, the same dataset, and its newest readable checkpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config import TrainConfig
from .data.dataset import PreparedDataset, prepare_dataset
from .errors import ConfigError, RunStoreError
from .store.checkpoints import load_latest_checkpoint
from .store.reader import read_meta


@dataclass(frozen=True)
class ResumeSetup:
    """Everything a TrainingJob needs to continue a run."""

    run_dir: Path
    config: TrainConfig
    dataset: PreparedDataset
    checkpoint: dict


def prepare_resume(run_dir: Path, cache_dir: Path | None, warn: Callable[[str], None] = lambda text: None) -> ResumeSetup:
    """Load what a stopped or interrupted run needs; RunStoreError says why it cannot be resumed."""
    run_dir = Path(run_dir)
    if read_meta(run_dir).get("state") == "finished":
        raise RunStoreError(f"{run_dir.name}: the run already finished; nothing to resume")
    try:
        saved = json.loads((run_dir / "config.json").read_text())
        config = TrainConfig.from_dict(saved["config"])
        expected = saved["dataset"]["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError, ConfigError) as error:
        raise RunStoreError(f"{run_dir}/config.json: cannot be used ({error})") from None
    from .models.setup import resolution_range  # imports torch: only when a run is really resumed

    dataset = prepare_dataset(config.data, resolution=config.image_size or None,
                              resolution_range=resolution_range(config.model, config.pretrained), val_fraction=config.val_fraction,
                              split_seed=config.split_seed, cache_dir=cache_dir)
    if dataset.summary.fingerprint != expected:
        raise RunStoreError(f"{config.data}: the dataset changed since the run started (fingerprint {expected} → "
                            f"{dataset.summary.fingerprint}); resuming would not continue the same run")
    return ResumeSetup(run_dir, config, dataset, load_latest_checkpoint(run_dir, warn=warn))
