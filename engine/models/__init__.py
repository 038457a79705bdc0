"""Models by name, each split into named layer groups from input to output (the last is ``head``)."""

from .groups import HEAD, feature_stages, layer_groups
from .pretrained import InputSpec
from .registry import MODELS, ModelSpec, build_model
from .setup import ModelSetup, group_outline, pretrained_input, resolution_range, setup_model
from .weights import load_weights

__all__ = ["HEAD", "MODELS", "InputSpec", "ModelSetup", "ModelSpec", "build_model", "feature_stages", "group_outline",
           "layer_groups", "load_weights", "pretrained_input", "resolution_range", "setup_model"]
