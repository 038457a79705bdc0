"""Local weights files: read as tensors only (never unpickled code), matched to the model by name and shape."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError, first_line
from ..torch_files import Refused, load_tensors


def load_weights(model: nn.Module, path: Path | str) -> tuple[int, list[str]]:
    """Load a state dict from a local file (weights only, never unpickled code).

    Tensors whose name or shape does not match (a replaced head, an adapted stem)
    are left as initialized. Returns (tensors loaded, names skipped).
    """
    try:
        state = load_tensors(path)
    except FileNotFoundError:
        raise ConfigError("weights", f"{path}: no such file") from None
    except (OSError, Refused) as error:  # a FIFO is refused here: torch.load would wait on it forever
        raise ConfigError("weights", f"{path}: not a PyTorch weights file ({first_line(error)})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError("weights", f"{path}: holds no state dict of tensors")
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(usable, strict=False)
    return len(usable), sorted(set(own) - set(usable))
