"""The model registry: each model is a builder plus its layer groups, named from input to output.

Adding a model is one entry: a builder ``(channels, classes, resolution) -> nn.Module``
and a function that lists its modules per named group (the last group is ``head``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ..errors import ConfigError
from . import mobilenet, resnet, small_cnn
from .groups import ModuleGroups, layer_groups


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model and split it into named layer groups."""

    name: str
    build: Callable[[int, int, int], nn.Module]
    groups: Callable[[nn.Module], ModuleGroups]


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("small_cnn", small_cnn.build, small_cnn.groups),
    ModelSpec("resnet18", resnet.adapted("resnet18"), resnet.groups),
    ModelSpec("mobilenet_v3_small", mobilenet.adapted("mobilenet_v3_small"), mobilenet.groups),
)}


def build_model(name: str, channels: int, classes: int, resolution: int) -> tuple[nn.Module, dict[str, list[nn.Parameter]]]:
    """The model and its parameters per layer group, in order from input to output (the last is ``head``)."""
    spec = MODELS.get(name)
    if spec is None:
        raise ConfigError("model", f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    model = spec.build(channels, classes, resolution)
    return model, layer_groups(model, spec.groups(model))
