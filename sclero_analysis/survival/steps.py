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


#: Columns of the tables at fixed times (``km.at``, ``cif.at``).
AT_COLUMNS = ("group", "time", "n_risk", "estimate", "se", "lower", "upper")


def _curve_at(curve: pd.DataFrame, times: np.ndarray, column: str, initial: float,
              extend: bool) -> dict[str, np.ndarray]:
    t = curve["time"].to_numpy()
    position = np.searchsorted(t, times, side="right") - 1  # last step at or before
    after = np.searchsorted(t, times, side="left")  # first step at or after
    before = position < 0
    n_risk = curve["n_risk"].to_numpy(dtype=float)
    out = {"n_risk": np.where(after < len(t), n_risk[np.minimum(after, len(t) - 1)], 0.0)}
    for name, source, start in (("estimate", column, initial), ("se", "se", 0.0),
                                ("lower", "lower", initial), ("upper", "upper", initial)):
        values = np.where(before, start, curve[source].to_numpy(dtype=float)[np.maximum(position, 0)])
        out[name] = values if extend else np.where(times > t[-1], np.nan, values)
    return out


def estimates_at(summary: pd.DataFrame, times, column: str, initial: float,
                 extend: bool = False) -> pd.DataFrame:
    """Read a per-group curve at fixed times with its CI, as R's ``summary(fit, times=)``.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``group, time, n_risk`` and ``column, se, lower, upper`` at each step of each group.
    times : sequence of float
        The times to read (any order; repeated times give repeated rows).
    column : str
        The estimate's column (``survival`` or ``cif``).
    initial : float
        The curve's value before its first step (1 for survival, 0 for an incidence); the SE
        is 0 and both limits equal it there, as R reports them.
    extend : bool
        False: beyond a group's last follow-up time the estimate, SE and limits are NaN (R
        leaves those rows out); True: the last values carried forward (R's ``extend=TRUE``).

    Returns
    -------
    pandas.DataFrame
        One row per group and time, groups in order: ``group, time, n_risk, estimate, se,
        lower, upper``. ``n_risk`` is the number at risk at the first step at or after the
        time (0 beyond the last follow-up).

    Examples
    --------
    >>> s = pd.DataFrame({"group": "all", "time": [1.0, 2.0], "n_risk": [2.0, 1.0],
    ...                   "survival": [0.5, 0.5], "se": [0.35, 0.35], "lower": [0.1, 0.1],
    ...                   "upper": [1.0, 1.0]})
    >>> estimates_at(s, [0, 1.5, 3], "survival", 1.0)["estimate"].tolist()
    [1.0, 0.5, nan]
    """
    grid = np.asarray(times, dtype=float)
    if grid.ndim != 1 or not np.isfinite(grid).all() or (grid < 0).any():
        raise ValueError("times must be a sequence of finite times >= 0")
    parts = []
    for group, curve in summary.groupby("group", observed=True, sort=False):
        values = _curve_at(curve, grid, column, initial, extend)
        parts.append(pd.DataFrame({"group": group, "time": grid, **values}))
    out = pd.concat(parts, ignore_index=True)[list(AT_COLUMNS)]
    if isinstance(summary["group"].dtype, pd.CategoricalDtype):
        out["group"] = pd.Categorical(out["group"], categories=summary["group"].cat.categories)
    return out
