"""Cox models for many replicate data sets at once: vectorised Newton–Raphson over (B, n, p).

The same partial likelihood as :func:`sclero_analysis.fit_cox` (and R's ``coxph``): Breslow or
Efron ties with R's rule for case weights (the tied deaths' mean weight multiplies every Efron
sub-step), and the robust (sandwich) variance from weighted score residuals, summed within
clusters. Rows of each replicate are sorted by time, padded to a common length with rows of
weight 0, and every sum over rows is a sequential cumulative sum read at the replicate's own
last row, so a replicate's numbers do not depend on the other replicates of its batch or on
the padding: a study gives the same result to the last digit however it is chunked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sclero_analysis.studies.cox_kernel import fit_kernel

Ties = Literal["efron", "breslow"]


@dataclass(frozen=True)
class BatchedCoxResult:
    """Per replicate coefficients and standard errors (NaN where a fit failed).

    Attributes
    ----------
    coef, se, se_naive : ndarray (B, p)
        ``se`` is robust when weights or clusters were given (or ``robust=True``), else naive.
        NaN for a covariate without variation in a replicate (e.g. a tier absent from it; the
        other coefficients are estimated as R would without that column).
    loglik : ndarray (B,)
    iterations : ndarray (B,)
    converged : ndarray (B,) of bool
        False for a fit that did not converge, a singular information matrix, or a replicate
        without events; its numbers are NaN, never averaged in.
    """

    coef: np.ndarray
    se: np.ndarray
    se_naive: np.ndarray
    loglik: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray


@dataclass(frozen=True)
class _Batch:
    x: np.ndarray  # (B, n, p), centred, sorted by time descending
    w: np.ndarray  # (B, n) case weights (0 on padding)
    d: np.ndarray  # (B, n) event indicator as float
    start: np.ndarray  # (B, n) first position of each row's tie group
    end: np.ndarray  # (B, n) last position of each row's tie group
    last: np.ndarray  # (B,) last real row (−1 when empty)
    cluster: np.ndarray | None  # (B, n) cluster codes
    frac: np.ndarray  # (B, n) Efron fraction k/d of each death (0 for Breslow)
    c: np.ndarray  # (B, n) weight multiplying each death's log-denominator term
    n_dead: np.ndarray  # (B, n) deaths in the row's tie group
    efron: bool = True
    constant: np.ndarray | None = None  # (B, p) covariates without variation in the replicate


def _total(values: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Σ over rows 0..last of each replicate, summed strictly in row order (padding-proof)."""
    running = np.cumsum(values, axis=1)
    index = np.maximum(last, 0).reshape((-1, 1) + (1,) * (values.ndim - 2))
    out = np.take_along_axis(running, index, axis=1)[:, 0]
    return np.where((last >= 0).reshape((-1,) + (1,) * (out.ndim - 1)), out, 0.0)


def _at(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[b, index[b, i], ...] for every b, i (a flat row gather)."""
    b, n = index.shape
    flat = (np.arange(b)[:, None] * values.shape[1] + index).ravel()
    rows = values.reshape(b * values.shape[1], -1)[flat]
    return rows.reshape((b, n) + values.shape[2:])


def _before(running: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Return the running sums just before each row's tie group (0 for the first group)."""
    first = (start > 0).reshape(start.shape + (1,) * (running.ndim - 2))
    return np.where(first, _at(running, np.maximum(start - 1, 0)), 0.0)


def _group_sum(values: np.ndarray, batch: _Batch) -> np.ndarray:
    """Σ of ``values`` over each row's tie group, read at every row."""
    running = np.cumsum(values, axis=1)
    return _at(running, batch.end) - _before(running, batch.start)


@dataclass(frozen=True)
class _Rows:
    """Row-level quantities at the final beta (only the robust variance needs them)."""

    denom: np.ndarray  # (B, n) D_i of each death row
    xbar: np.ndarray  # (B, n, p) a_i of each death row
    risk: np.ndarray  # (B, n) exp(eta)


def _fit(time, event, x, weight, mask, cluster, ties: Ties, max_iter: int, tol: float, rows: bool):
    """Prepare and fit every replicate in compiled code (:func:`cox_kernel.fit_kernel`)."""
    b, n, p = x.shape
    mask = np.ones((b, n), bool) if mask is None else np.ascontiguousarray(mask, bool)
    if not np.all(np.isfinite(time)[mask]):
        raise ValueError("time must be finite on every row in use")
    weight = np.ones((b, n)) if weight is None else np.ascontiguousarray(weight, float)
    order, start, end = (np.empty((b, n), np.int64) for _ in range(3))
    w, d, frac, c, n_dead = (np.empty((b, n)) for _ in range(5))
    x_sorted = np.empty((b, n, p))
    last, iterations = np.empty(b, np.int64), np.empty(b, np.int64)
    constant, converged = np.empty((b, p), bool), np.empty(b, bool)
    beta, loglik, info = np.empty((b, p)), np.empty(b), np.empty((b, p, p))
    row_shape = (b, n) if rows else (b, 1)  # placeholders when no robust variance is asked
    denom, xbar, risk = np.ones(row_shape), np.zeros(row_shape + (p,)), np.zeros(row_shape)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        fit_kernel(np.ascontiguousarray(time), np.ascontiguousarray(event, bool), np.ascontiguousarray(x),
                   weight, mask, ties == "efron", max_iter, tol, rows, order, x_sorted, w, d, start, end,
                   frac, c, n_dead, last, constant, beta, loglik, info, iterations, converged, denom,
                   xbar, risk)
    codes = None if cluster is None else np.take_along_axis(np.asarray(cluster), order, axis=1)
    batch = _Batch(x_sorted, w, d, start, end, last, codes, frac, c, n_dead, ties == "efron", constant)
    converged &= d.sum(axis=1) > 0
    return batch, beta, loglik, info, iterations, converged, _Rows(denom, xbar, risk)


def _score_residuals(batch: _Batch, ev: _Rows) -> np.ndarray:
    """Row score residuals per unit weight (as ``survival``'s coxscore), (B, n, p)."""
    x, d, frac = batch.x, batch.d, batch.frac
    h = batch.c / ev.denom  # hazard increment of each death sub-step
    h = np.where(d > 0, h, 0.0)
    ha = h[:, :, None] * ev.xbar
    cum_h = _at(np.cumsum(h[:, ::-1], axis=1)[:, ::-1], batch.start)
    cum_g = _at(np.cumsum(ha[:, ::-1], axis=1)[:, ::-1], batch.start)
    residual = -ev.risk[:, :, None] * (x * cum_h[:, :, None] - cum_g)
    # a death is exposed to its own group's Efron sub-steps with share (1 − k/d), not 1
    lost_h = _group_sum(h * frac, batch)
    lost_g = _group_sum((h * frac)[:, :, None] * ev.xbar, batch)
    n_dead = np.where(batch.n_dead > 0, batch.n_dead, 1.0)
    mean_xbar = _group_sum(d[:, :, None] * ev.xbar, batch) / n_dead[:, :, None]
    own = ev.risk[:, :, None] * (x * lost_h[:, :, None] - lost_g) + (x - mean_xbar)
    return residual + d[:, :, None] * own


def _rows_times(rows: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Rows (B, n, p) @ matrix (B, p, q), summed over p in a fixed order (batch-independent bits)."""
    out = np.zeros(rows.shape[:2] + matrix.shape[2:])
    for k in range(rows.shape[2]):
        out += rows[:, :, k, None] * matrix[:, None, k, :]
    return out


def _robust(batch: _Batch, ev: _Rows, variance: np.ndarray) -> np.ndarray:
    dfbeta = batch.w[:, :, None] * _rows_times(_score_residuals(batch, ev), variance)
    b, n, p = dfbeta.shape
    if batch.cluster is None:
        outer = dfbeta[:, :, :, None] * dfbeta[:, :, None, :]
        return _total(outer, batch.last)
    codes = batch.cluster
    k = int(codes.max()) + 1 if codes.size else 1
    sums = np.zeros((b * k, p))
    flat = (np.arange(b)[:, None] * k + codes).ravel()
    np.add.at(sums, flat, dfbeta.reshape(-1, p))  # each cluster's rows in row order
    sums = sums.reshape(b, k, p)
    outer = sums[:, :, :, None] * sums[:, :, None, :]
    return _total(outer, np.full(b, k - 1))


def fit_cox_batched(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
    ties: Ties = "efron",
    robust: bool = False,
    max_iter: int = 30,
    tol: float = 1e-10,
) -> BatchedCoxResult:
    """Fit one Cox model per replicate of a padded batch.

    Parameters
    ----------
    time, event : ndarray (B, n)
        Follow-up time and event indicator (bool) per replicate and row.
    x : ndarray (B, n, p)
        Covariates (already coded: dummies for categorical terms).
    weight : ndarray (B, n), optional
        Case weights (e.g. IPTW); with weights the reported ``se`` is robust, as R's.
    mask : ndarray (B, n) of bool, optional
        Which rows are real (False: padding or a row left out, e.g. a missing covariate).
    cluster : ndarray (B, n) of int, optional
        Cluster codes per replicate (e.g. patient); the robust variance sums within clusters.
    ties : {"efron", "breslow"}
    robust : bool
        Robust variance even without weights or clusters (each row its own cluster).
    max_iter : int
    tol : float
        Converged when the last Newton step is below ``tol`` × (1 + max |beta|).

    Returns
    -------
    BatchedCoxResult

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([[1., 2, 3, 4, 5, 6]]); e = np.array([[1, 1, 0, 1, 1, 0]], bool)
    >>> x = np.array([[0., 1, 0, 1, 1, 0]])[:, :, None]
    >>> round(float(fit_cox_batched(t, e, x).coef[0, 0]), 6)   # R: coxph 0.845527764296
    0.845528
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', not {ties!r}")
    time = np.asarray(time, float)
    if time.ndim != 2:
        raise ValueError("time must be a (replicates, rows) array")
    x = np.asarray(x, float)
    x = x[:, :, None] if x.ndim == 2 else x
    p = x.shape[2]
    robust = weight is not None or cluster is not None or robust
    batch, beta, loglik, info, iterations, converged, ev = _fit(time, event, x, weight, mask, cluster, ties,
                                                                 max_iter, tol, robust)
    variance = np.full((len(beta), p, p), np.nan)
    constant = batch.constant
    fixed = constant[:, :, None] | constant[:, None, :]
    info = np.where(fixed, 0.0, info) + np.eye(p) * constant[:, None, :]
    good = converged & np.all(np.isfinite(info), axis=(1, 2))
    if good.any():
        inv = np.linalg.inv(np.where(good[:, None, None], info, np.eye(p)))
        inv = np.where(fixed, 0.0, inv)
        variance = np.where(good[:, None, None], inv, np.nan)
    se_naive = np.sqrt(np.diagonal(variance, axis1=1, axis2=2))
    se = se_naive
    if robust:
        robust_var = _robust(batch, ev, np.where(good[:, None, None], variance, 0.0))
        se = np.where(good[:, None], np.sqrt(np.diagonal(robust_var, axis1=1, axis2=2)), np.nan)
    nan = ~good[:, None] | constant  # a covariate constant in a replicate has no estimate
    se, se_naive = np.where(nan, np.nan, se), np.where(nan, np.nan, se_naive)
    return BatchedCoxResult(np.where(nan, np.nan, beta), se, se_naive,
                            np.where(good, loglik, np.nan), iterations, good)
