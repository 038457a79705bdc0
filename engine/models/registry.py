"""The model registry: each model is a builder plus its layer groups, named from input to output.

Adding a model is one entry: a builder ``(channels, classes, resolution, pretrained=False) -> nn.Module``,
a function that lists its modules per named group (the last group is ``head``) and, for a
torchvision classifier, the name its weights enum is found by.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ..errors import ConfigError
from . import feature_stack, resnet, small_cnn
from .groups import ModuleGroups, layer_groups

RESNETS = ("resnet18", "resnet34", "resnet50")
FEATURE_STACKS = ("mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0")


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model and split it into named layer groups; ``weights``: its torchvision weights' model name."""

    name: str
    build: Callable[..., nn.Module]
    groups: Callable[[nn.Module], ModuleGroups]
    weights: str | None = None


MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("small_cnn", small_cnn.build, small_cnn.groups),
    *(ModelSpec(name, resnet.adapted(name), resnet.groups, weights=name) for name in RESNETS),
    *(ModelSpec(name, feature_stack.adapted(name), feature_stack.groups, weights=name) for name in FEATURE_STACKS),
    ModelSpec("convnext_tiny", feature_stack.adapted("convnext_tiny"), feature_stack.convnext_groups, weights="convnext_tiny"),
)}


def model_spec(name: str) -> ModelSpec:
    """The registry's entry for ``name``; ConfigError lists the choices."""
    spec = MODELS.get(name)
    if spec is None:
        raise ConfigError("model", f"unknown model {name!r}; choose one of {', '.join(MODELS)} (or timm:NAME with timm installed)")
    return spec


def build_model(name: str, channels: int, classes: int, resolution: int) -> tuple[nn.Module, dict[str, list[nn.Parameter]]]:
    """The model (randomly initialized) and its parameters per layer group, input to output (the last is ``head``)."""
    spec = model_spec(name)
    model = spec.build(channels, classes, resolution)
    return model, layer_groups(model, spec.groups(model))
