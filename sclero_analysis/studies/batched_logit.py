"""Multinomial logistic propensity models for many replicates at once (Newton over (B, n, q)).

The model of :func:`sclero_analysis.propensity` (logit for two levels, multinomial logit for
more, reference = first level, intercept plus the given columns), fitted by Newton–Raphson with
step halving for every replicate of a padded batch. A level absent from a replicate is left out
of that replicate's model (its probability is 0), as ``propensity`` keeps present levels only.
Sums over rows run strictly in row order, so a replicate's numbers do not depend on the batch
(or its padding): a study gives the same digits however it is chunked.
"""

from __future__ import annotations

import numpy as np

from sclero_analysis.studies.batched_cox import _rows_times

#: Scores are bounded below as in ``propensity`` when the model separates.
MIN_SCORE = 1e-6


def _probabilities(x: np.ndarray, beta: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(B, n, K) class probabilities; beta (B, K, q) with class 0 fixed at 0."""
    eta = _rows_times(x, np.swapaxes(beta, 1, 2))
    eta = np.where(present[:, None, :], eta, -np.inf)
    eta = eta - eta.max(axis=2, keepdims=True)
    e = np.exp(eta)
    total = np.zeros(e.shape[:2])
    for k in range(e.shape[2]):  # a fixed order of addition, whatever the batch's shape
        total += e[:, :, k]
    return e / total[:, :, None]


def _row_sum(values: np.ndarray) -> np.ndarray:
    """Sum over rows (axis 1) strictly in row order.

    Padding rows add exact zeros, so a replicate's sum has the same bits whatever the batch's
    padded length.
    """
    return np.cumsum(values, axis=1)[:, -1]


def _loglik(y: np.ndarray, p: np.ndarray, mask: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        own = np.log(np.take_along_axis(p, y[:, :, None], axis=2)[:, :, 0])
    return _row_sum(np.where(mask, own, 0.0))


def _newton_step(x, onehot, p, mask, present, k) -> np.ndarray:
    """Newton step (B, k−1, q) of the multinomial log-likelihood; absent levels stay fixed."""
    b, _, q = x.shape
    size = (k - 1) * q
    resid = np.where(mask[:, :, None], onehot - p, 0.0)[:, :, 1:]
    grad = _row_sum(resid[:, :, :, None] * x[:, :, None, :]).reshape(b, size)
    pk = np.where(mask[:, :, None], p[:, :, 1:], 0.0)
    info = np.zeros((b, k - 1, q, k - 1, q))
    for j in range(k - 1):  # blocks Σ_i p_ij (δ_jm − p_im) x_i x_iᵀ
        for m in range(j, k - 1):
            weight = pk[:, :, j] * ((j == m) - pk[:, :, m])
            block = _row_sum((weight[:, :, None] * x)[:, :, :, None] * x[:, :, None, :])
            info[:, j, :, m, :] = block
            info[:, m, :, j, :] = np.swapaxes(block, 1, 2)
    info = info.reshape(b, size, size)
    fixed = np.repeat(~present[:, 1:], q, axis=1)  # parameters of absent levels stay 0
    info = np.where(fixed[:, :, None] | fixed[:, None, :], 0.0, info) + np.eye(size) * fixed[:, None, :]
    grad = np.where(fixed, 0.0, grad)
    try:
        step = np.linalg.solve(info, grad[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        step = np.stack([np.linalg.lstsq(a, g, rcond=None)[0] for a, g in zip(info, grad, strict=True)])
    return step.reshape(b, k - 1, q)


def _halve(x, y, mask, present, beta, step, ll):
    """Take the step, halving it (up to 30 times) where it lowers the log-likelihood."""
    for _ in range(30):
        trial = beta.copy()
        trial[:, 1:] += step
        p_new = _probabilities(x, trial, present)
        ll_new = _loglik(y, p_new, mask)
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
    onehot = (y[:, :, None] == np.arange(k)) & mask[:, :, None]
    present = onehot.any(axis=1)
    present[:, 0] = True  # the reference level carries the normalisation
    beta = np.zeros((b, k, q))
    p = _probabilities(x, beta, present)
    ll = _loglik(y, p, mask)
    converged = np.zeros(b, bool)
    failed = np.zeros(b, bool)
    for _ in range(max_iter):
        rows = np.flatnonzero(~converged & ~failed)  # only the replicates still iterating
        if len(rows) == 0:
            break
        step = _newton_step(x[rows], onehot[rows], p[rows], mask[rows], present[rows], k)
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
