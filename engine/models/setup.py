"""A model ready to train: built for the data, pretrained weights loaded, its named groups and the input it expects."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError
from ..text import counted
from . import timm_models
from .groups import HEAD, layer_groups
from .pretrained import InputSpec, choose_weights, describe, input_spec, not_cached, read_hub_weights
from .registry import MODELS, model_spec
from .weights import load_pretrained, load_weights, read_state_dict, replaced_layer

SCRATCH_RESOLUTION = (16, 224)
PRETRAINED_MIN_RESOLUTION = 32


@dataclass
class ModelSetup:
    """A built model, its parameters per named group, the input it expects and where its weights came from.

    ``input`` is None when the model learns from scratch (the data's own statistics normalize it);
    ``weights`` names the pretrained weights or the local file ("" for a random init).
    """

    model: nn.Module
    groups: dict[str, list[nn.Parameter]]
    input: InputSpec | None
    weights: str
    note: str = ""
    note_level: str = "info"  # "warning" when the user should read it: weights that only partly fit


def pretrained_input(model: str, pretrained: str) -> InputSpec | None:
    """What the chosen pretrained weights expect (nothing is read); None without ``pretrained``."""
    if not pretrained:
        return None
    if timm_models.is_timm(model):
        return timm_models.input_spec(model)
    return input_spec(choose_weights(_torchvision_weights(model), pretrained))


def resolution_range(model: str, pretrained: str) -> tuple[int, int]:
    """The automatic training resolution's bounds: up to the weights' own resolution when pretrained."""
    spec = pretrained_input(model, pretrained)
    return SCRATCH_RESOLUTION if spec is None else (PRETRAINED_MIN_RESOLUTION, spec.resolution)


def setup_model(model: str, *, channels: int, classes: int, resolution: int, pretrained: str = "",
                weights_file: str = "", load: bool = True) -> ModelSetup:
    """Build ``model`` for the data; with ``pretrained``, load those weights (or ``weights_file``) into all but a new head.

    A pretrained model takes three channels (grayscale images are expanded); ``load=False``
    builds the same model without reading any weights (a resumed run restores its own).
    """
    if timm_models.is_timm(model):
        return timm_models.setup(model, channels=channels, classes=classes, pretrained=pretrained,
                                 weights_file=weights_file, load=load)
    spec = model_spec(model)
    if not pretrained:
        return _scratch(spec, channels, classes, resolution, weights_file, load)
    weights = choose_weights(_torchvision_weights(model), pretrained)
    built = spec.build(3, classes, resolution, pretrained=True)
    module_groups = spec.groups(built)
    source = weights_file or describe(weights)
    if load:
        state = read_state_dict(weights_file) if weights_file else read_hub_weights(weights)
        load_pretrained(built, state, replaced_layer(built, dict(module_groups)[HEAD]), source)
    return ModelSetup(built, layer_groups(built, module_groups), input_spec(weights), source,
                      f"{model}: pretrained weights {source}, a new head for {counted(classes, 'class')}")


def _scratch(spec, channels: int, classes: int, resolution: int, weights_file: str, load: bool) -> ModelSetup:
    built = spec.build(channels, classes, resolution)
    note, level = "", "info"
    if weights_file and load:
        loaded, skipped = load_weights(built, weights_file)
        note = f"loaded {loaded} tensors from {weights_file}"
        if skipped:  # a 3-class run's checkpoint in a 10-class model: the head trains from scratch, which said nothing
            level = "warning"
            note += (f"; {len(skipped)} did not fit this model by name and shape and start from scratch "
                     f"({', '.join(skipped[:3])}{', …' if len(skipped) > 3 else ''})")
    return ModelSetup(built, layer_groups(built, spec.groups(built)), None, weights_file, note, level)


def _torchvision_weights(model: str) -> str:
    spec = model_spec(model)
    if spec.weights is None:
        offered = ", ".join(name for name, s in MODELS.items() if s.weights)
        raise ConfigError("pretrained", f"{model} has no pretrained weights; choose one of {offered}")
    return spec.weights


def weights_label(model: str, pretrained: str, weights_file: str) -> str:
    """What a run starts from, as a schedule file records it: the pretrained weights' name, a file, or "" (random)."""
    if weights_file or not pretrained:
        return weights_file
    if timm_models.is_timm(model):
        return f"timm {model[len(timm_models.PREFIX):]}"
    return describe(choose_weights(_torchvision_weights(model), pretrained))


def weights_to_fetch(model: str, pretrained: str) -> str:
    """What a run with ``pretrained`` weights of ``model`` must download before its first step, in a line that says where
    it goes ("" when nothing: random weights, weights in the hub cache, or timm's, which timm fetches itself)."""
    if not pretrained or timm_models.is_timm(model):
        return ""
    return not_cached(choose_weights(_torchvision_weights(model), pretrained))


def group_outline(model: str, *, channels: int, classes: int, resolution: int, pretrained: str = "") -> list[tuple[str, int]]:
    """Each layer group's name and parameter count, input to output, without allocating or reading weights."""
    with torch.device("meta"):
        built = setup_model(model, channels=channels, classes=classes, resolution=resolution, pretrained=pretrained, load=False)
    return [(name, sum(p.numel() for p in params)) for name, params in built.groups.items()]
