"""Multinomial logistic propensity models for many replicates at once (Newton over (B, n, q)).

The model of :func:`sclero_analysis.propensity` (logit for two levels, multinomial logit for
more, reference = first level, intercept plus the given columns), fitted by Newton–Raphson with
step halving for every replicate of a padded batch. A level absent from a replicate is left out
of that replicate's model (its probability is 0), as ``propensity`` keeps present levels only.
Sums over rows are sequential cumulative sums, so results do not depend on the batch.
"""

from __future__ import annotations

import numpy as np

from sclero_analysis.studies.batched_cox import _total

#: Scores are bounded below as in ``propensity`` when the model separates.
MIN_SCORE = 1e-6


def _probabilities(x: np.ndarray, beta: np.ndarray, present: np.ndarray) -> np.ndarray:
    """(B, n, K) class probabilities; beta (B, K, q) with class 0 fixed at 0."""
    eta = np.einsum("bnq,bkq->bnk", x, beta)
    eta = np.where(present[:, None, :], eta, -np.inf)
    eta = eta - eta.max(axis=2, keepdims=True)
    e = np.exp(eta)
    return e / e.sum(axis=2, keepdims=True)


def _loglik(y: np.ndarray, p: np.ndarray, mask: np.ndarray, last: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        own = np.log(np.take_along_axis(p, y[:, :, None], axis=2)[:, :, 0])
    return _total(np.where(mask, own, 0.0), last)


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
    free = present[:, 1:]  # (B, k-1) levels with parameters
    last = np.full(b, n - 1)
    beta = np.zeros((b, k, q))
    p = _probabilities(x, beta, present)
    ll = _loglik(y, p, mask, last)
    converged = np.zeros(b, bool)
    failed = np.zeros(b, bool)
    size = (k - 1) * q
    for _ in range(max_iter):
        active = ~converged & ~failed
        if not active.any():
            break
        resid = np.where(mask[:, :, None], onehot - p, 0.0)[:, :, 1:]  # (B, n, k-1)
        grad = _total(resid[:, :, :, None] * x[:, :, None, :], last).reshape(b, size)
        pk = np.where(mask[:, :, None], p[:, :, 1:], 0.0)
        cov = pk[:, :, :, None] * (np.eye(k - 1) - pk[:, :, None, :])  # (B, n, k-1, k-1)
        xx = x[:, :, :, None] * x[:, :, None, :]
        info = _total(cov[:, :, :, None, :, None] * xx[:, :, None, :, None, :], last)
        info = info.reshape(b, size, size)
        fixed = np.repeat(~free, q, axis=1)  # parameters of absent levels stay 0
        info = np.where(fixed[:, :, None] | fixed[:, None, :], 0.0, info) + np.eye(size) * fixed[:, None, :]
        grad = np.where(fixed, 0.0, grad)
        try:
            step = np.linalg.solve(info, grad[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(a, g, rcond=None)[0] for a, g in zip(info, grad, strict=True)])
        step = np.where(active[:, None], step, 0.0).reshape(b, k - 1, q)
        for _halving in range(30):
            trial = beta.copy()
            trial[:, 1:] += step
            p_new = _probabilities(x, trial, present)
            ll_new = _loglik(y, p_new, mask, last)
            worse = active & ~(ll_new >= ll - 1e-12 * np.abs(ll))
            if not worse.any():
                break
            step = np.where(worse[:, None, None], step / 2, step)
        take = active & ~worse
        beta = np.where(take[:, None, None], trial, beta)
        p = np.where(take[:, None, None], p_new, p)
        small = np.max(np.abs(step), axis=(1, 2)) <= tol * (1 + np.max(np.abs(beta), axis=(1, 2)))
        converged |= take & small
        failed |= active & worse  # no ascent possible: separation or a flat likelihood
    scores = np.where(present[:, None, :], np.maximum(p, MIN_SCORE), 0.0)
    return scores, converged
