"""Balancing weights from propensity scores: ATE, ATT and overlap (ATO), stabilised, trimmed."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from sclero_analysis.exceptions import PositivityWarning, PropensityError

Estimand = Literal["ATE", "ATT", "ATO"]
Trim = tuple[float, float] | float | None
ESTIMANDS = ("ATE", "ATT", "ATO")
RELATIVE_WEIGHT_WARNING = 10.0  # a weight above 10× its level's mean weight is a positivity warning


def check_estimand(estimand: str) -> None:
    """Raise :class:`PropensityError` unless ``estimand`` is ATE, ATT or ATO."""
    if estimand not in ESTIMANDS:
        raise PropensityError(f"estimand must be one of {ESTIMANDS}, not {estimand!r}")


def positivity_check(own_score: pd.Series, treatment: pd.Series, threshold: float) -> None:
    """Warn (:class:`PositivityWarning`) when rows' scores for their own level fall below threshold."""
    low = own_score < threshold
    if low.any():
        levels = treatment[low].value_counts()
        listing = ", ".join(f"{k}: {v}" for k, v in levels[levels > 0].items())
        warnings.warn(
            f"{int(low.sum())} rows had a propensity below {threshold} for the tier they received "
            f"({listing}; smallest {own_score.min():.2g}): their weights are large and the "
            "comparison leans on few patients. Check .overlap(), consider estimand='ATO' or trim=",
            PositivityWarning, stacklevel=3)


def _raw(scores: np.ndarray, codes: np.ndarray, estimand: str, focal_code: int | None) -> np.ndarray:
    own = scores[np.arange(len(codes)), codes]
    if estimand == "ATE":
        return 1.0 / own
    if estimand == "ATT":
        return scores[:, focal_code] / own
    return (1.0 / own) / np.sum(1.0 / scores, axis=1)


def _trimmed(w: np.ndarray, trim: Trim) -> np.ndarray:
    if trim is None:
        return w
    if isinstance(trim, tuple):
        lo, hi = trim
        if not 0 <= lo < hi <= 1:
            raise PropensityError(f"trim=(lo, hi) takes quantiles with 0 ≤ lo < hi ≤ 1, not {trim}")
        return np.clip(w, *np.quantile(w, [lo, hi]))
    if trim <= 0:
        raise PropensityError(f"trim as a maximum weight must be positive, not {trim}")
    return np.minimum(w, float(trim))


def _warn_large(w: np.ndarray, codes: np.ndarray, levels: list[str]) -> None:
    means = np.bincount(codes, weights=w) / np.bincount(codes)
    large = w > RELATIVE_WEIGHT_WARNING * means[codes]
    if large.any():
        counts = np.bincount(codes[large], minlength=len(levels))
        listing = ", ".join(f"{lv}: {c}" for lv, c in zip(levels, counts, strict=True) if c)
        warnings.warn(f"{int(large.sum())} weights exceed {RELATIVE_WEIGHT_WARNING:g}× their "
                      f"tier's mean weight ({listing}); consider trim= or estimand='ATO'",
                      PositivityWarning, stacklevel=4)


def balancing_weights(
    scores: pd.DataFrame,
    treatment: pd.Series,
    estimand: Estimand = "ATE",
    focal: str | None = None,
    stabilized: bool = True,
    trim: Trim = None,
) -> pd.Series:
    """Weights for ``estimand`` from a score matrix (one column per level, rows sum to 1).

    Parameters
    ----------
    scores : pandas.DataFrame
        Propensity scores, columns in the order of the categories of ``treatment``.
    treatment : pandas.Series
        Observed levels (categorical).
    estimand : {"ATE", "ATT", "ATO"}
    focal : str, optional
        Treated level for ATT.
    stabilized : bool
        Multiply by the observed share of the row's level.
    trim : None, (lo, hi) or float
        Quantile truncation or a maximum weight.

    Returns
    -------
    pandas.Series
        ``weight`` indexed like ``scores``.

    Warns
    -----
    PositivityWarning
        A weight above 10 times the mean weight of its level.

    Examples
    --------
    >>> scores = pd.DataFrame({"a": [0.8, 0.5, 0.2], "b": [0.2, 0.5, 0.8]})
    >>> tier = pd.Series(pd.Categorical(["a", "b", "b"]))
    >>> balancing_weights(scores, tier, stabilized=False).round(3).tolist()
    [1.25, 2.0, 1.25]
    """
    check_estimand(estimand)
    levels = [str(c) for c in scores.columns]
    codes = treatment.cat.codes.to_numpy()
    focal_code = levels.index(focal) if estimand == "ATT" else None
    w = _raw(scores.to_numpy(float), codes, estimand, focal_code)
    if stabilized:
        w = w * (np.bincount(codes, minlength=len(levels)) / len(codes))[codes]
    w = _trimmed(w, trim)
    _warn_large(w, codes, levels)
    return pd.Series(w, index=scores.index, name="weight")
