"""Local weights files: read as tensors only (never unpickled code), matched to the model by name and shape."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError, first_line
from ..torch_files import CHECKPOINT_FORMAT, Refused, load_tensors


def read_state_dict(path: Path | str) -> dict[str, torch.Tensor]:
    """The state dict in a local file (weights only, never unpickled code); ConfigError says why it cannot be used."""
    try:
        state = load_tensors(path)
    except FileNotFoundError:
        raise ConfigError("weights", f"{path}: no such file") from None
    except (OSError, Refused) as error:  # a FIFO is refused here: torch.load would wait on it forever
        raise ConfigError("weights", f"{path}: cannot be used as weights: {first_line(error)}") from None
    state = _weights_in(state)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError("weights", f"{path}: holds no state dict of tensors")
    return state


def _weights_in(content):
    """The model's state dict in what a file held: itself, the one under "state_dict" (Lightning and many scripts), or
    the model's in an lrscope checkpoint (a run's checkpoints/step-*.pt, to start a new run from a trained one)."""
    if not isinstance(content, dict):
        return content
    if isinstance(content.get("state_dict"), dict):
        return content["state_dict"]
    if content.get("format") == CHECKPOINT_FORMAT and isinstance(content.get("state"), dict) and isinstance(content["state"].get("model"), dict):
        return content["state"]["model"]
    return content


def load_weights(model: nn.Module, path: Path | str) -> tuple[int, list[str]]:
    """Load a state dict from a local file (weights only, never unpickled code).

    Tensors whose name or shape does not match (a replaced head, an adapted stem)
    are left as initialized. Returns (tensors loaded, names skipped).
    """
    state = read_state_dict(path)
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:  # training would start from random weights while the user believes it starts from theirs
        example = next(iter(state), None)
        raise ConfigError("weights", f"{path}: none of its {len(state)} tensors fits this model"
                                     + (f" (e.g. {str(example)[:60]!r} has no match by name and shape)" if example else "")
                                     + "; was it saved from another model, image size or class count?")
    model.load_state_dict(usable, strict=False)
    return len(usable), sorted(set(own) - set(usable))


def replaced_layer(model: nn.Module, head: list[nn.Module]) -> str:
    """The state-dict prefix of the head's last linear layer: the one a new dataset's classes replace."""
    linears = [m for module in head for m in module.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the head has no linear layer to replace")
    return next(name for name, m in model.named_modules() if m is linears[-1]) + "."


def load_pretrained(model: nn.Module, state: dict[str, torch.Tensor], replaced: str, source: str) -> None:
    """Load every tensor of ``model`` from ``state`` but the replaced layer's (prefix ``replaced``), which keeps its init.

    ConfigError when the weights do not fit: a tensor missing or of another shape.
    """
    own = {k: v for k, v in model.state_dict().items() if not k.startswith(replaced)}
    misfits = [k for k, v in own.items() if k not in state or state[k].shape != v.shape]
    if misfits:
        raise ConfigError("weights", f"{source} does not fit this model: {len(misfits)} tensor(s) missing or of another "
                                     f"shape, e.g. {', '.join(misfits[:3])}")
    model.load_state_dict({k: state[k] for k in own}, strict=False)
