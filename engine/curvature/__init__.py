"""Curvature of the training loss (λmax by power iteration on Hessian-vector products) and the
LR bound it implies for the optimizer in use; see docs/curvature.md."""

from .bounds import StabilityRule, adam_constant, heavy_ball_constant, nesterov_constant, rule_for, sgd_constant
from .operator import HessianOperator
from .power import PowerResult, power_iteration, top_eigenvalue
from .probe import CurvatureProbe
from .settings import BN_MODES, CurvatureSettings

__all__ = ["BN_MODES", "CurvatureProbe", "CurvatureSettings", "HessianOperator", "PowerResult", "StabilityRule",
           "adam_constant", "heavy_ball_constant", "nesterov_constant", "power_iteration", "rule_for", "sgd_constant",
           "top_eigenvalue"]
