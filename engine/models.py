"""The model registry: a small CNN for small images, and torchvision classifiers adapted to the data.

Every model is split into two parameter groups, "backbone" and "head", so a
schedule's group multipliers can give pretrained layers a smaller LR.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .errors import ConfigError, first_line
from .torch_files import Refused, load_tensors

GROUPS = ("backbone", "head")


class SmallCNN(nn.Module):
    """Five 3x3 conv layers with BatchNorm, global average pooling and a linear head."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 16):
        super().__init__()
        widths = (width, width * 2, width * 4)

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(in_channels, widths[0]), *block(widths[0], widths[0]), nn.MaxPool2d(2),
            *block(widths[0], widths[1]), *block(widths[1], widths[1]), nn.MaxPool2d(2),
            *block(widths[1], widths[2]), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(0.1), nn.Linear(widths[2], num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _small_cnn(channels: int, classes: int, resolution: int) -> tuple[nn.Module, nn.Module]:
    model = SmallCNN(channels, classes)
    return model, model.head


def _resnet18(channels: int, classes: int, resolution: int) -> tuple[nn.Module, nn.Module]:
    from torchvision.models import resnet18

    model = resnet18(weights=None, num_classes=classes)
    if resolution < 96:
        # The ImageNet stem divides the image by 4 before the first block; small images keep their size.
        model.conv1 = nn.Conv2d(channels, 64, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif channels != 3:
        model.conv1 = nn.Conv2d(channels, 64, 7, stride=2, padding=3, bias=False)
    return model, model.fc


def _mobilenet_v3_small(channels: int, classes: int, resolution: int) -> tuple[nn.Module, nn.Module]:
    from torchvision.models import mobilenet_v3_small

    model = mobilenet_v3_small(weights=None, num_classes=classes)
    stem = model.features[0][0]
    stride = 1 if resolution < 96 else 2
    if channels != 3 or stride != 2:
        model.features[0][0] = nn.Conv2d(channels, stem.out_channels, 3, stride=stride, padding=1, bias=False)
    return model, model.classifier


MODELS: dict[str, Callable[[int, int, int], tuple[nn.Module, nn.Module]]] = {
    "small_cnn": _small_cnn,
    "resnet18": _resnet18,
    "mobilenet_v3_small": _mobilenet_v3_small,
}


def build_model(name: str, channels: int, classes: int, resolution: int) -> tuple[nn.Module, dict[str, list[nn.Parameter]]]:
    """The model and its parameters by group name ("backbone", "head")."""
    if name not in MODELS:
        raise ConfigError("model", f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    model, head = MODELS[name](channels, classes, resolution)
    head_ids = {id(p) for p in head.parameters()}
    groups = {
        "backbone": [p for p in model.parameters() if id(p) not in head_ids],
        "head": list(head.parameters()),
    }
    return model, groups


def load_weights(model: nn.Module, path: Path | str) -> tuple[int, list[str]]:
    """Load a state dict from a local file (weights only, never unpickled code).

    Tensors whose name or shape does not match (a replaced head, an adapted stem)
    are left as initialized. Returns (tensors loaded, names skipped).
    """
    try:
        state = load_tensors(path)
    except FileNotFoundError:
        raise ConfigError("weights", f"{path}: no such file") from None
    except (OSError, Refused) as error:
        raise ConfigError("weights", f"{path}: not a PyTorch weights file ({first_line(error)})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError("weights", f"{path}: holds no state dict of tensors")
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(usable, strict=False)
    return len(usable), sorted(set(own) - set(usable))
