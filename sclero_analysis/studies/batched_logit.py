"""Multinomial logistic propensity models for many replicates at once (Newton over (B, n, q)).

The model of :func:`sclero_analysis.propensity` (logit for two levels, multinomial logit for
more, reference = first level, intercept plus the given columns), fitted by Newton–Raphson with
step halving for every replicate of a padded batch (compiled with Numba). A level absent from
a replicate is left out of that replicate's model (its probability is 0), as ``propensity``
keeps present levels only.
Sums over rows run strictly in row order, so a replicate's numbers do not depend on the batch
(or its padding): a study gives the same digits however it is chunked.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Scores are bounded below as in ``propensity`` when the model separates.
MIN_SCORE = 1e-6


@njit(cache=True, nogil=True, error_model="numpy")
def _probabilities_kernel(x, y, mask, present, beta, p, loglik):
    """Class probabilities of every row and each replicate's log-likelihood, rows in order."""
    b_count, n, q = x.shape
    k_count = beta.shape[1]
    eta = np.empty(k_count)
    for b in range(b_count):
        ll = 0.0
        for i in range(n):
            top = -np.inf
            for k in range(k_count):
                if present[b, k]:
                    value = 0.0
                    for j in range(q):
                        value += x[b, i, j] * beta[b, k, j]
                    eta[k] = value
                    top = max(top, value)
            total = 0.0
            for k in range(k_count):  # a fixed order of addition
                eta[k] = np.exp(eta[k] - top) if present[b, k] else 0.0
                total += eta[k]
            for k in range(k_count):
                p[b, i, k] = eta[k] / total
            if mask[b, i]:
                ll += np.log(p[b, i, y[b, i]])
        loglik[b] = ll


def _probabilities(x, y, mask, present, beta) -> tuple[np.ndarray, np.ndarray]:
    """(B, n, K) class probabilities (beta (B, K, q), class 0 fixed at 0) and log-likelihoods."""
    b, n, _ = x.shape
    p, loglik = np.empty((b, n, beta.shape[1])), np.empty(b)
    with np.errstate(divide="ignore"):
        _probabilities_kernel(x, y, mask, present, beta, p, loglik)
    return p, loglik


@njit(cache=True, nogil=True, error_model="numpy")
def _score_info_kernel(x, y, mask, p, grad, info):  # noqa: C901 (one compiled loop nest)
    """Score and information of the non-reference classes' parameters, summed in row order.

    The information's blocks are Σ_i p_ij (δ_jm − p_im) x_i x_iᵀ; only the upper triangle is
    accumulated and then mirrored.
    """
    b_count, n, q = x.shape
    levels = p.shape[2] - 1
    size = levels * q
    xx = np.empty((q, q))
    g = np.empty(size)
    h = np.empty((size, size))
    for b in range(b_count):
        g[:] = 0.0
        h[:, :] = 0.0
        for i in range(n):
            if not mask[b, i]:
                continue
            xi = x[b, i]
            for s in range(q):
                for t in range(s, q):
                    xx[s, t] = xi[s] * xi[t]
            for j in range(levels):
                pj = p[b, i, j + 1]
                resid = (1.0 if y[b, i] == j + 1 else 0.0) - pj
                for s in range(q):
                    g[j * q + s] += resid * xi[s]
                weight = pj * (1.0 - pj)
                for s in range(q):
                    for t in range(s, q):
                        h[j * q + s, j * q + t] += weight * xx[s, t]
                for m in range(j + 1, levels):
                    weight = -pj * p[b, i, m + 1]
                    for s in range(q):
                        for t in range(q):
                            h[j * q + s, m * q + t] += weight * xx[min(s, t), max(s, t)]
        for r in range(size):
            grad[b, r] = g[r]
            for c in range(r, size):
                info[b, r, c] = h[r, c]
                info[b, c, r] = h[r, c]

def _newton_step(x, y, p, mask, present, k) -> np.ndarray:
    """Newton step (B, k−1, q) of the multinomial log-likelihood; absent levels stay fixed."""
    b, _, q = x.shape
    size = (k - 1) * q
    grad, info = np.zeros((b, size)), np.zeros((b, size, size))
    _score_info_kernel(x, y, mask, p, grad, info)
    fixed = np.repeat(~present[:, 1:], q, axis=1)  # parameters of absent levels stay 0
    info = np.where(fixed[:, :, None] | fixed[:, None, :], 0.0, info) + np.eye(size) * fixed[:, None, :]
    grad = np.where(fixed, 0.0, grad)
    try:
        step = np.linalg.solve(info, grad[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # replicate by replicate, so a singular one changes no other's digits
        step = np.stack([_solve_one(a, g) for a, g in zip(info, grad, strict=True)])
    return step.reshape(b, k - 1, q)


def _solve_one(info: np.ndarray, grad: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(info, grad)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(info, grad, rcond=None)[0]


def _halve(x, y, mask, present, beta, step, ll):
    """Take the step, halving it (up to 30 times) where it lowers the log-likelihood."""
    for _ in range(30):
        trial = beta.copy()
        trial[:, 1:] += step
        p_new, ll_new = _probabilities(x, y, mask, present, trial)
        worse = ~(ll_new >= ll - 1e-12 * np.abs(ll))
        if not worse.any():
            break
        step = np.where(worse[:, None, None], step / 2, step)
    return trial, p_new, ll_new, worse


def fit_multinomial_batched(x: np.ndarray, y: np.ndarray, k: int, mask: np.ndarray,
                            max_iter: int = 50, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Fit a multinomial logit per replicate and return scores and convergence.

    Parameters
    ----------
    x : ndarray (B, n, q)
        Covariates without intercept (one is added).
    y : ndarray (B, n) of int
        Treatment level codes 0..k−1.
    k : int
        Number of levels.
    mask : ndarray (B, n) of bool
        Real rows (False: padding or rows left out).

    Returns
    -------
    scores : ndarray (B, n, k)
        Fitted probabilities (0 for absent levels), bounded below by 1e-6 for present ones.
    converged : ndarray (B,) of bool
    """
    b, n, _ = x.shape
    x = np.concatenate([np.ones((b, n, 1)), x], axis=2)
    x = np.where(mask[:, :, None], x, 0.0)
    q = x.shape[2]
    y = np.where(mask, y, 0).astype(int)
    present = ((y[:, :, None] == np.arange(k)) & mask[:, :, None]).any(axis=1)
    present[:, 0] = True  # the reference level carries the normalisation
    beta = np.zeros((b, k, q))
    p, ll = _probabilities(x, y, mask, present, beta)
    converged = np.zeros(b, bool)
    failed = np.zeros(b, bool)
    for _ in range(max_iter):
        rows = np.flatnonzero(~converged & ~failed)  # only the replicates still iterating
        if len(rows) == 0:
            break
        step = _newton_step(x[rows], y[rows], p[rows], mask[rows], present[rows], k)
        trial, p_new, ll_new, worse = _halve(x[rows], y[rows], mask[rows], present[rows], beta[rows],
                                             step, ll[rows])
        take = ~worse
        beta[rows[take]], p[rows[take]], ll_new_taken = trial[take], p_new[take], ll_new[take]
        ll[rows[take]] = ll_new_taken
        size = np.max(np.abs(step[take]), axis=(1, 2))
        small = size <= tol * (1 + np.max(np.abs(trial[take]), axis=(1, 2)))
        converged[rows[take][small]] = True
        failed[rows[worse]] = True  # no ascent possible: separation or a flat likelihood
    scores = np.where(present[:, None, :], np.maximum(p, MIN_SCORE), 0.0)
    return scores, converged
