"""Weighted curves of clone-months: relapse-free survival (Kaplan-Meier) and relapse incidence.

Each clone-month (start, stop] carries its weight; at each distinct outcome time t the weighted
number at risk is the sum of the weights of pieces with start < t ≤ stop (R's counting-process
``survfit(Surv(start, stop, event) ~ 1, weights = w)``). Relapse-free survival counts relapse or
progression and death as events; the cumulative incidence of relapse (Aalen-Johansen) treats
death as a competing event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sclero_analysis.conventions import RELAPSE


@dataclass(frozen=True)
class Curve:
    """Step functions at the distinct outcome times (right-continuous)."""

    time: np.ndarray
    survival: np.ndarray  # relapse-free survival (relapse or death)
    relapse_cif: np.ndarray  # cumulative incidence of relapse, death competing
    n_risk: np.ndarray  # weighted number at risk
    last_time: float  # the last time with a clone followed (weighted at risk > 0)

    def at(self, times: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """Survival and relapse incidence at ``times`` (NaN after the last clone's follow-up)."""
        times = np.asarray(times, float)
        index = np.searchsorted(self.time, times, side="right") - 1
        survival, cif = np.ones(len(times)), np.zeros(len(times))  # before the first event (or none)
        seen = index >= 0
        survival[seen], cif[seen] = self.survival[index[seen]], self.relapse_cif[index[seen]]
        ended = len(self.survival) > 0 and self.survival[-1] == 0
        beyond = (times > self.last_time) & (not ended)
        return np.where(beyond, np.nan, survival), np.where(beyond, np.nan, cif)

    def rmst(self, horizon: float) -> float:
        """Restricted mean relapse-free time to ``horizon`` (NaN if not followed that long)."""
        if horizon > self.last_time and not (len(self.survival) and self.survival[-1] == 0):
            return np.nan
        edges = np.concatenate([[0.0], self.time[self.time < horizon], [horizon]])
        heights = np.concatenate([[1.0], self.survival[self.time < horizon]])
        return float(np.sum(np.diff(edges) * heights))


def weighted_curve(start: np.ndarray, stop: np.ndarray, status: np.ndarray, weight: np.ndarray) -> Curve:
    """Weighted Kaplan-Meier and Aalen-Johansen from counting-process pieces.

    Examples
    --------
    >>> c = weighted_curve(np.zeros(3), np.array([1.0, 2.0, 3.0]), np.array([1, 0, 2]),
    ...                    np.array([1.0, 2.0, 1.0]))
    >>> c.survival.tolist(), c.relapse_cif.tolist()
    ([0.75, 0.0], [0.25, 0.25])
    """
    keep = weight > 0
    start, stop, status, weight = start[keep], stop[keep], status[keep], weight[keep]
    events = status > 0
    times = np.unique(stop[events])
    order_start, order_stop = np.argsort(start, kind="stable"), np.argsort(stop, kind="stable")
    cum_start = np.concatenate([[0.0], np.cumsum(weight[order_start])])
    cum_stop = np.concatenate([[0.0], np.cumsum(weight[order_stop])])
    entered = cum_start[np.searchsorted(start[order_start], times, side="left")]
    left = cum_stop[np.searchsorted(stop[order_stop], times, side="left")]
    at_risk = entered - left
    slot = np.searchsorted(times, stop[events])
    d_all = np.bincount(slot, weights=weight[events], minlength=len(times))
    d_relapse = np.bincount(slot, weights=weight[events] * (status[events] == RELAPSE), minlength=len(times))
    # weights spanning many orders of magnitude (a weight model near separation in a small
    # sample) make the cumulative sums cancel: a time whose events outweigh its risk set is not
    # estimable (NaN from there on), never a negative survival
    valid = (at_risk > 0) & (d_all <= at_risk * (1 + 1e-9))
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(valid, np.minimum(d_all / at_risk, 1.0), np.nan)
        survival = np.cumprod(1 - hazard)
        before = np.concatenate([[1.0], survival[:-1]])
        cif = np.cumsum(before * np.where(valid, d_relapse / at_risk, np.nan))
    last = float(stop.max()) if len(stop) else 0.0
    return Curve(times, survival, cif, at_risk, last)
