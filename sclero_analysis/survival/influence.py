"""Infinitesimal-jackknife (IJ) influence of Kaplan–Meier, RMST and cumulative incidence.

The IJ variance of an estimate is Σ_c (Σ_{i∈c} w_i D_i)², with D_i the derivative of the
estimate with respect to row i's case weight and c the clusters (each row its own cluster when
none are given). It is R's ``survfit(..., robust=TRUE)`` variance: the default there with
non-integer weights or a ``cluster`` (rows of one patient summed before squaring).

The influences follow each curve's recursion over the distinct times, one value per cluster,
so memory stays O(clusters) whatever the number of times.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sclero_analysis.survival.inputs import SurvivalData
from sclero_analysis.survival.steps import Steps


def _walk(data: SurvivalData, times: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (step, rows at that time, weight at risk per cluster) for each of ``times``.

    ``times`` are the distinct times of ``data`` in increasing order; the at-risk weights are
    those of rows with time ≥ the step's time.
    """
    codes = _codes(data)
    size = int(codes.max()) + 1
    order = np.argsort(data.time, kind="stable")
    sorted_time = data.time[order]
    bounds = np.searchsorted(sorted_time, times, side="left")
    ends = np.searchsorted(sorted_time, times, side="right")
    at_risk = np.bincount(codes, weights=data.weight, minlength=size)
    remaining = np.bincount(codes, minlength=size)
    for j in range(len(times)):
        rows = order[bounds[j]:ends[j]]
        yield j, rows, at_risk
        np.subtract.at(at_risk, codes[rows], data.weight[rows])
        np.subtract.at(remaining, codes[rows], 1)
        at_risk[remaining == 0] = 0.0  # exactly, whatever the rounding of the subtractions


def _codes(data: SurvivalData) -> np.ndarray:
    return np.arange(len(data.time)) if data.cluster is None else data.cluster


def _per_cluster(data: SurvivalData, rows: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size)
    np.add.at(out, _codes(data)[rows], data.weight[rows])
    return out


def km_influence(data: SurvivalData, steps: Steps, tau: float | None = None
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """IJ standard error of S at each step, and each cluster's influence on the RMST up to tau.

    Parameters
    ----------
    data : SurvivalData
        One group's rows (with their clusters, if any).
    steps : Steps
        Its Kaplan–Meier steps (:func:`~sclero_analysis.survival.steps.km_steps`).
    tau : float, optional
        Truncation time of the restricted mean; None to skip it.

    Returns
    -------
    se : numpy.ndarray
        Standard error of S at each of ``steps.time``.
    rmst : numpy.ndarray or None
        Influence of each cluster (codes 0, 1, …) on ∫₀^tau S, the area under its influence
        on S; the RMST's IJ variance is the sum of squares.

    Notes
    -----
    U_c(t_j) = U_c(t_{j−1})(1 − h_j) + S(t_{j−1})(Y_c(t_j) h_j − dN_c(t_j))/n_j, with Y_c and
    dN_c the cluster's weight at risk and dying at t_j, h_j = d_j/n_j.
    """
    size = int(_codes(data).max()) + 1
    influence = np.zeros(size)
    area = np.zeros(size) if tau is not None else None
    ends = np.append(steps.time[1:], np.inf)
    se = np.empty(len(steps.time))
    previous = 1.0
    for j, rows, at_risk in _walk(data, steps.time):
        if steps.hazard[j] > 0:
            died = _per_cluster(data, rows[data.is_event[rows]], size)
            influence = influence * (1 - steps.hazard[j]) + previous * (
                at_risk * steps.hazard[j] - died) / steps.n_risk[j]
            if steps.survival[j] == 0:  # everyone at risk died: S = 0 whatever the weights
                influence = np.zeros(size)
        se[j] = np.sqrt(np.sum(influence**2))
        if area is not None and steps.time[j] < tau:
            area += influence * (min(ends[j], tau) - steps.time[j])
        previous = steps.survival[j]
    return se, area


def cif_variance(data: SurvivalData, time: np.ndarray, d1: np.ndarray, d2: np.ndarray,
                 n_risk: np.ndarray, survival_before: np.ndarray) -> np.ndarray:
    """IJ variance of the cumulative incidence of ``data.cause`` at each of ``time``.

    As R's multi-state ``survfit`` (Aalen–Johansen): the influence on the all-cause survival
    U_S and on the incidence U_F follow, at each time with events,
    U_F += U_S·h₁ + S(t−)(dN₁ − Y·h₁)/n and U_S = U_S(1 − h) − S(t−)(dN − Y·h)/n.
    """
    size = int(_codes(data).max()) + 1
    u_surv, u_cif = np.zeros(size), np.zeros(size)
    variance = np.empty(len(time))
    any_event = data.status != 0
    for j, rows, at_risk in _walk(data, time):
        if d1[j] + d2[j] > 0:
            n = n_risk[j]
            h, h1 = (d1[j] + d2[j]) / n, d1[j] / n
            died = _per_cluster(data, rows[any_event[rows]], size)
            died1 = _per_cluster(data, rows[data.is_event[rows]], size)
            u_cif = u_cif + u_surv * h1 + survival_before[j] * (died1 - at_risk * h1) / n
            u_surv = u_surv * (1 - h) - survival_before[j] * (died - at_risk * h) / n
        variance[j] = np.sum(u_cif**2)
    return variance
