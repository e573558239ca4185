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

from sclero_analysis.studies.cox_kernel import (
    SMALL_P,
    fit_kernel,
    fit_small_kernel,
    general_scratch,
    robust_kernel,
    small_scratch,
)

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
    # the per-row arrays are (B, n[, p]) when the robust variance is asked, else one replicate's scratch
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


@dataclass(frozen=True)
class _Rows:
    """Row-level quantities at the final beta (only the robust variance needs them)."""

    denom: np.ndarray  # (B, n) D_i of each death row
    xbar: np.ndarray  # (B, n, p) a_i of each death row
    risk: np.ndarray  # (B, n) exp(eta)


def _fit(time, event, x, weight, mask, cluster, ties: Ties, max_iter: int, tol: float, rows: bool):
    """Prepare and fit every replicate in compiled code.

    :func:`cox_kernel.fit_small_kernel` up to ``SMALL_P`` covariates, else
    :func:`cox_kernel.fit_kernel` (the same numbers).
    """
    b, n, p = x.shape
    mask = np.ones((b, n), bool) if mask is None else np.ascontiguousarray(mask, bool)
    if not np.all(np.isfinite(time)[mask]):
        raise ValueError("time must be finite on every row in use")
    weight = np.ones((b, n)) if weight is None else np.ascontiguousarray(weight, float)
    kept = b if rows else 1  # the sorted rows of every replicate (for the robust variance), or scratch
    order, start, end = (np.empty((kept, n), np.int64) for _ in range(3))
    w, d, frac, c, n_dead = (np.empty((kept, n)) for _ in range(5))
    x_sorted = np.empty((kept, n, p))
    last, iterations = np.empty(b, np.int64), np.empty(b, np.int64)
    constant, converged = np.empty((b, p), bool), np.empty(b, bool)
    beta, loglik, info = np.empty((b, p)), np.empty(b), np.empty((b, p, p))
    row_shape = (b, n) if rows else (b, 1)  # placeholders when no robust variance is asked
    denom, xbar, risk = np.ones(row_shape), np.zeros(row_shape + (p,)), np.zeros(row_shape)
    event = np.ascontiguousarray(event, bool)
    if 0 < p <= SMALL_P:
        fit, scratch = fit_small_kernel, small_scratch(n)
    else:
        fit, scratch = fit_kernel, general_scratch(n, p)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        fit(scratch, np.ascontiguousarray(time), event, np.ascontiguousarray(x), weight, mask,
            ties == "efron", max_iter, tol, rows, order, x_sorted, w, d, start, end, frac, c, n_dead, last,
            constant, beta, loglik, info, iterations, converged, denom, xbar, risk)
    codes = None
    if cluster is not None:
        cluster = np.asarray(cluster)
        if not np.issubdtype(cluster.dtype, np.integer) or np.any(cluster[mask] < 0):
            raise ValueError("cluster must hold non-negative integer codes")
        codes = np.take_along_axis(cluster, order, axis=1)
    batch = _Batch(x_sorted, w, d, start, end, last, codes, frac, c, n_dead, ties == "efron", constant)
    converged &= np.any(event & mask, axis=1)  # a replicate without events has no fit
    return batch, beta, loglik, info, iterations, converged, _Rows(denom, xbar, risk)


def _robust(batch: _Batch, ev: _Rows, variance: np.ndarray) -> np.ndarray:
    """Robust variance (B, p, p) in compiled code (:func:`cox_kernel.robust_kernel`)."""
    clustered = batch.cluster is not None
    codes = batch.cluster if clustered else np.zeros((len(batch.last), 1), np.int64)
    out = np.empty(variance.shape)
    robust_kernel(batch.x, batch.w, batch.d, batch.start, batch.end, batch.frac, batch.c, batch.n_dead,
                  batch.last, np.ascontiguousarray(codes, np.int64), clustered, ev.denom, ev.xbar, ev.risk,
                  np.ascontiguousarray(variance), out)
    return out


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
        Cluster codes per replicate (non-negative integers, e.g. patient index); the robust
        variance sums within clusters.
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
