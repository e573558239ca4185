"""Aalen–Johansen steps of the cumulative incidence and cmprsk's variance, per group or all at once.

The numbers behind :func:`~sclero_analysis.survival.competing.cumulative_incidence`: each
group's distinct times, numbers at risk, events of the cause and competing events, the
all-cause Kaplan–Meier and the cumulative incidence, with ``cmprsk::cuminc``'s delta-method
variance (or survfit's infinitesimal jackknife), and the pointwise limits.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sclero_analysis.survival.influence import cif_variance
from sclero_analysis.survival.inputs import SurvivalData

#: Columns of a cumulative incidence's ``summary``.
CIF_COLUMNS = ("group", "time", "n_risk", "n_event", "cif", "se", "lower", "upper")


@dataclass(frozen=True)
class CifSteps:
    """Aalen–Johansen steps of one group at its distinct times (or of all groups on a grid)."""

    time: np.ndarray
    n_risk: np.ndarray
    d1: np.ndarray  # events of the cause (weighted)
    d2: np.ndarray  # competing events (weighted)
    survival_before: np.ndarray  # all-cause KM just before each time
    survival: np.ndarray
    cif: np.ndarray


def steps_of(data: SurvivalData) -> CifSteps:
    """Return the steps of checked data (one group)."""
    return cif_steps(data.time, data.status, data.weight, data.cause)


def cif_steps(time: np.ndarray, status: np.ndarray, weight: np.ndarray, cause: int) -> CifSteps:
    """Weighted Aalen–Johansen steps of one group: ``.time`` (distinct times) and ``.cif``."""
    return _cif_steps(*np.unique(time, return_inverse=True), status, weight, cause)


def _local_ranks(times: np.ndarray, inverse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct times of some rows and their indices, from the whole data's (no sort)."""
    present = np.bincount(inverse, minlength=len(times)) > 0
    return times[present], (np.cumsum(present) - 1)[inverse]


def _cif_steps(times: np.ndarray, inverse: np.ndarray, status: np.ndarray, weight: np.ndarray,
               cause: int) -> CifSteps:
    k = len(times)
    is_cause = status == cause
    other = (status != 0) & ~is_cause
    d1 = np.bincount(inverse, weights=weight * is_cause, minlength=k)
    d2 = np.bincount(inverse, weights=weight * other, minlength=k)
    n_risk = np.cumsum(np.bincount(inverse, weights=weight, minlength=k)[::-1])[::-1]
    survival = np.cumprod(1 - (d1 + d2) / n_risk)
    before = np.concatenate([[1.0], survival[:-1]])
    return CifSteps(times, n_risk, d1, d2, before, survival, np.cumsum(before * d1 / n_risk))


def gray_variance(s: CifSteps) -> np.ndarray:
    """Variance of cmprsk's cuminc: Σ_j (t4_j − F·t3_j)² t6_j accumulated as A − 2F·B + F²·C.

    Steps of one group (1-D), or of every group at once on a common time grid (2-D, a column
    per group, zero events where a group has no rows at a time).
    """
    def tie_factor(d):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d > 1, 1 - (d - 1) / (s.n_risk - 1), 1.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        inv_s = np.where(s.survival > 0, 1 / s.survival, 0.0)
    base = s.survival_before**2 / s.n_risk**2
    competing = np.where((s.d2 > 0) & (s.survival > 0), base * tie_factor(s.d2) * s.d2, 0.0)
    own = np.where(s.d1 > 0, base * tie_factor(s.d1) * s.d1, 0.0)
    t4_competing, t4_own = s.cif * inv_s, 1 + s.cif * inv_s
    a = np.cumsum(t4_competing**2 * competing + t4_own**2 * own, axis=0)
    b = np.cumsum(inv_s * t4_competing * competing + inv_s * t4_own * own, axis=0)
    c = np.cumsum(inv_s**2 * (competing + own), axis=0)
    return np.maximum(a - 2 * s.cif * b + s.cif**2 * c, 0.0)


@functools.lru_cache(maxsize=8)
def _z(level: float) -> float:
    return float(stats.norm.ppf(1 - (1 - level) / 2))


def limits(cif: np.ndarray, se: np.ndarray, conf_type: str, level: float):
    """Pointwise limits of the cumulative incidence (log-log, log or plain); checks conf_type."""
    z = _z(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log-log":
            f = np.where((cif > 0) & (cif < 1), cif, np.nan)
            g, se_g = np.log(-np.log(f)), se / (f * np.abs(np.log(f)))
            return np.exp(-np.exp(g + z * se_g)), np.exp(-np.exp(g - z * se_g))
        if conf_type == "log":
            f = np.where(cif > 0, cif, np.nan)
            return f * np.exp(-z * se / f), np.minimum(f * np.exp(z * se / f), 1.0)
        if conf_type == "plain":
            return np.maximum(cif - z * se, 0.0), np.minimum(cif + z * se, 1.0)
    raise ValueError(f"conf_type must be 'log-log', 'log' or 'plain', not {conf_type!r}")


def _summary(columns: dict[str, np.ndarray], group_codes: np.ndarray, levels) -> pd.DataFrame:
    group_column = pd.Categorical.from_codes(group_codes, categories=levels)
    return pd.DataFrame({"group": group_column} | columns)


def gray_table(data: SurvivalData, conf_type: str, conf_level: float) -> pd.DataFrame:
    """Every group's curve and cmprsk variance at once, on the grid (distinct time, group).

    A group's cells at times where it has no rows carry no events and a factor 1, so its
    products and sums are the same numbers as over its own times; those cells are dropped.
    """
    times, inverse = data.ranks
    ng = len(data.group.categories)
    cells = inverse * ng + data.group.codes
    size = len(times) * ng
    rows = np.bincount(cells, minlength=size).reshape(-1, ng)
    is_cause = data.status == data.cause
    other = (data.status != 0) & ~is_cause
    d1 = np.bincount(cells, weights=data.weight * is_cause, minlength=size).reshape(-1, ng)
    d2 = np.bincount(cells, weights=data.weight * other, minlength=size).reshape(-1, ng)
    weight = np.bincount(cells, weights=data.weight, minlength=size).reshape(-1, ng)
    n_risk = np.cumsum(weight[::-1], axis=0)[::-1]
    present = rows > 0
    with np.errstate(divide="ignore", invalid="ignore"):  # cells past a group's last time
        survival = np.cumprod(np.where(present, 1 - (d1 + d2) / n_risk, 1.0), axis=0)
        before = np.concatenate([np.ones((1, ng)), survival[:-1]])
        cif = np.cumsum(np.where(present, before * d1 / n_risk, 0.0), axis=0)
        var = gray_variance(CifSteps(times, n_risk, d1, d2, before, survival, cif))
    keep = present.T  # group by group, each in time order
    se = np.sqrt(var.T[keep])
    lower, upper = limits(cif.T[keep], se, conf_type, conf_level)
    columns = {"time": np.broadcast_to(times, (ng, len(times)))[keep], "n_risk": n_risk.T[keep],
               "n_event": d1.T[keep], "cif": cif.T[keep], "se": se, "lower": lower, "upper": upper}
    with_rows = keep.any(axis=1)
    codes = np.repeat(np.arange(with_rows.sum()), keep.sum(axis=1)[with_rows])
    return _summary(columns, codes, data.group.categories[with_rows])


def group_tables(data: SurvivalData, weighted: bool, conf_type: str, conf_level: float) -> pd.DataFrame:
    """Each group's curve in turn (weights, clusters: the infinitesimal-jackknife variance)."""
    cause = data.cause
    columns = {name: [] for name in CIF_COLUMNS[1:]}
    present, lengths = [], []
    for index, rows in _group_rows(data.group):
        part = data.subset(rows)
        ranks = _local_ranks(data.ranks[0], data.ranks[1][rows])
        s = _cif_steps(*ranks, part.status, part.weight, cause)
        se = np.sqrt(cif_variance(part, s.time, s.d1, s.d2, s.n_risk, s.survival_before))
        lower, upper = limits(s.cif, se, conf_type, conf_level)
        counts = _cif_steps(*ranks, part.status, np.ones(len(rows)), cause) if weighted else s
        # (counts: patients, not weights, as R's survfit)
        for name, values in zip(columns, (s.time, counts.n_risk, counts.d1, s.cif, se, lower, upper),
                                strict=True):
            columns[name].append(values)
        present.append(index)
        lengths.append(len(s.time))
    return _summary({name: np.concatenate(values) for name, values in columns.items()},
                    np.repeat(np.arange(len(present)), lengths), data.group.categories[present])


def _group_rows(group: pd.Categorical):
    """Yield (category index, row indices) for each category with rows, in category order."""
    order = np.argsort(group.codes, kind="stable")
    bounds = np.searchsorted(group.codes[order], np.arange(len(group.categories) + 1))
    for index in range(len(group.categories)):
        if bounds[index + 1] > bounds[index]:
            yield index, order[bounds[index]:bounds[index + 1]]
