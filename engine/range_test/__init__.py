"""The LR range test: sweep and probe modes, suggestions, exact restore."""

from .result import RangeTestResult
from .settings import RangeTestSettings
from .suggestions import Recommendation, Suggestion

__all__ = ["RangeTestResult", "RangeTestSettings", "Recommendation", "Suggestion"]
