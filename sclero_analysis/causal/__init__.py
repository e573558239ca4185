"""Comparative effectiveness across tiers.

Propensity weighting, covariate balance, adjusted comparisons and sensitivity to unmeasured
confounding.
"""

from sclero_analysis.causal.adjusted import AdjustedCurves, adjusted_curves
from sclero_analysis.causal.balance import Balance, balance_table
from sclero_analysis.causal.compare import compare_tiers
from sclero_analysis.causal.propensity import Propensity, propensity
from sclero_analysis.causal.sensitivity import e_value, tipping_point
from sclero_analysis.causal.weights import balancing_weights

__all__ = [
    "AdjustedCurves",
    "Balance",
    "Propensity",
    "adjusted_curves",
    "balance_table",
    "balancing_weights",
    "compare_tiers",
    "e_value",
    "propensity",
    "tipping_point",
]
