"""Every schedule shape, by its kind name."""

from .base import Shape
from .basic import Constant, Exponential, Linear, MultiStep, Polynomial, StepDecay
from .cosine import Cosine, CosineRestarts
from .cyclic import Cyclic, OneCycle
from .keypoints import Keypoints

SHAPES: dict[str, type[Shape]] = {
    cls.kind: cls
    for cls in (Constant, Linear, Exponential, StepDecay, MultiStep, Cosine, CosineRestarts,
                Polynomial, OneCycle, Cyclic, Keypoints)
}

__all__ = ["SHAPES", "Constant", "Cosine", "CosineRestarts", "Cyclic", "Exponential", "Keypoints",
           "Linear", "MultiStep", "OneCycle", "Polynomial", "Shape", "StepDecay"]
