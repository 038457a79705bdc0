"""Choose the device: CUDA if available, else MPS, else CPU; describe it in a user's words."""

from __future__ import annotations

import torch

from .errors import ConfigError
from .text import counted


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for "auto", "cpu", "cuda", "cuda:N" or "mps"; ConfigError if it is not available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError("device", f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "CUDA was asked for but no NVIDIA GPU is usable here; use --device cpu or auto")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError("device", f"{name} does not exist: this machine has {torch.cuda.device_count()} GPUs")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device", "MPS was asked for but is not available here; use --device cpu or auto")
    return device


def describe_device(device: torch.device, amp_dtype: torch.dtype | None = None) -> str:
    """E.g. "NVIDIA H100 80GB HBM3 (cuda:0)", "CPU (2 threads)", or with mixed precision "… (cuda:0), mixed precision (bfloat16)"."""
    if device.type == "cuda":
        index = device.index or 0
        precision = f", mixed precision ({str(amp_dtype).removeprefix('torch.')})" if amp_dtype is not None else ""
        return f"{torch.cuda.get_device_name(index)} (cuda:{index}){precision}"
    if device.type == "mps":
        return "Apple GPU (mps)"
    return f"CPU ({counted(torch.get_num_threads(), 'thread')})"


def available_devices() -> list[tuple[str, str]]:
    """(value, description) of every device a user can pick, "auto" first."""
    choices = [("auto", "auto"), ("cpu", describe_device(torch.device("cpu")))]
    for index in range(torch.cuda.device_count()):
        choices.append((f"cuda:{index}", describe_device(torch.device("cuda", index))))
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        choices.append(("mps", "Apple GPU (mps)"))
    return choices
