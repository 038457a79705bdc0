"""Models by name, each split into named layer groups from input to output (the last is ``head``)."""

from .groups import HEAD, feature_stages, layer_groups
from .registry import MODELS, ModelSpec, build_model
from .weights import load_weights

__all__ = ["HEAD", "MODELS", "ModelSpec", "build_model", "feature_stages", "layer_groups", "load_weights"]
