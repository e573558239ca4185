"""Weighted Kaplan–Meier steps for one group: the arithmetic shared by KM, RMST and CIF."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


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


def step_lookup(summary: pd.DataFrame, times, column: str, side: str, before: float) -> pd.DataFrame:
    """Read a per-group step table at ``times``: groups (rows) × times (columns).

    ``side="left"``: the last step at or before each time (``before`` ahead of the first);
    ``side="right"``: the first step at or after each time (0 beyond the last), as R's
    ``summary(fit, times=)`` counts those at risk.
    """
    rows = {}
    for group, curve in summary.groupby("group", observed=True, sort=False):
        t, v = curve["time"].to_numpy(), curve[column].to_numpy()
        if side == "left":
            position = np.searchsorted(t, times, side="right") - 1
            rows[group] = np.where(position >= 0, v[np.maximum(position, 0)], before)
        else:
            position = np.searchsorted(t, times, side="left")
            rows[group] = np.where(position < len(t), v[np.minimum(position, len(t) - 1)], 0.0)
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(times))
    frame.index.name = "group"
    return frame
