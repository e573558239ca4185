"""Weighted Kaplan–Meier steps for one group: the arithmetic shared by KM, RMST and CIF."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Steps:
    """One group's Kaplan–Meier steps at each distinct time (event or censoring)."""

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    hazard: np.ndarray
    survival: np.ndarray
    var_log: np.ndarray  # Greenwood variance of log S (inf once the curve reaches 0)


def km_steps(time: np.ndarray, is_event: np.ndarray, weight: np.ndarray) -> Steps:
    """Compute weighted Kaplan–Meier steps for one group (Greenwood variance of log S).

    A factor ``1 - d/n`` applies only where both the unweighted and the weighted number of
    events are positive, as in R.
    """
    times, inverse = np.unique(time, return_inverse=True)
    d_w = np.bincount(inverse, weights=weight * is_event, minlength=len(times))
    d_n = np.bincount(inverse, weights=is_event.astype(float), minlength=len(times))
    leaving = np.bincount(inverse, weights=weight, minlength=len(times))
    n_risk = np.cumsum(leaving[::-1])[::-1]
    has_event = (d_n > 0) & (d_w > 0)
    hazard = np.where(has_event, d_w / np.where(n_risk > 0, n_risk, 1), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(has_event, d_w / (n_risk * (n_risk - d_w)), 0.0)
    return Steps(times, n_risk, d_w, leaving - d_w, hazard, np.cumprod(1 - hazard),
                 np.cumsum(term))
