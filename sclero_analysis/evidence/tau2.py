"""Between-source variance for inverse-variance pooling: DerSimonian-Laird, REML, Paule-Mandel.

Estimates ``y_j ~ N(X_j beta, v_j + tau^2)`` as ``metafor::rma`` does (DerSimonian & Laird 1986;
Viechtbauer 2005; Paule & Mandel 1982), iterated to convergence far beyond metafor's default
stopping rules, so that the value is the estimator's, not the algorithm's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

REML_TOL = 1e-13  # change in tau^2 between Fisher-scoring iterations
REML_MAX_ITER = 1_000  # Fisher scoring can oscillate: the score's root is then found by bracketing
PM_TOL = 1e-14


@dataclass(frozen=True)
class Projection:
    """Weighted least squares of ``y`` on ``X`` with weights ``1 / (v + tau^2)``.

    Attributes
    ----------
    beta : numpy.ndarray
    inverse : numpy.ndarray
        ``(X' W X)^-1``.
    residual_quadratic : float
        ``y' P y`` (``Q`` at ``tau^2 = 0``).
    p_y : numpy.ndarray
        ``P y = W (y - X beta)``.
    trace_p, trace_pp : float
        ``tr(P)`` and ``tr(P P)``.
    """

    beta: np.ndarray
    inverse: np.ndarray
    residual_quadratic: float
    p_y: np.ndarray
    trace_p: float
    trace_pp: float


def project(y: np.ndarray, v: np.ndarray, design: np.ndarray, tau2: float) -> Projection:
    """Weighted least squares and the traces of ``P = W - W X (X'WX)^-1 X' W``, without forming P.

    Examples
    --------
    >>> proj = project(np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.ones((2, 1)), 0.0)
    >>> float(proj.beta[0]), proj.residual_quadratic, proj.trace_p
    (0.5, 0.5, 1.0)
    """
    w = 1 / (v + tau2)
    inverse = np.linalg.inv(design.T @ (w[:, None] * design))
    beta = inverse @ (design.T @ (w * y))
    p_y = w * (y - design @ beta)
    b2 = inverse @ (design.T @ ((w**2)[:, None] * design))
    b3 = inverse @ (design.T @ ((w**3)[:, None] * design))
    trace_p = float(w.sum() - np.trace(b2))
    trace_pp = float((w**2).sum() - 2 * np.trace(b3) + np.trace(b2 @ b2))
    return Projection(beta, inverse, float(y @ p_y), p_y, trace_p, trace_pp)


def tau2_dl(y: np.ndarray, v: np.ndarray, design: np.ndarray) -> float:
    """DerSimonian-Laird: ``max(0, (Q - (k - p)) / tr(P))`` with ``P`` at ``tau^2 = 0``.

    Examples
    --------
    >>> round(tau2_dl(np.array([0.0, 2.0, 1.0]), np.array([0.5, 0.5, 0.5]), np.ones((3, 1))), 6)
    0.5
    """
    proj = project(y, v, design, 0.0)
    k, p = design.shape
    return max(0.0, (proj.residual_quadratic - (k - p)) / proj.trace_p)


def _reml_loglik(y: np.ndarray, v: np.ndarray, design: np.ndarray, tau2: float) -> float:
    """Restricted log-likelihood (up to a constant)."""
    proj = project(y, v, design, tau2)
    return -0.5 * (np.log(v + tau2).sum() - np.linalg.slogdet(proj.inverse)[1] + proj.residual_quadratic)


def _hedges(y: np.ndarray, v: np.ndarray, design: np.ndarray) -> float:
    """Hedges' (method of moments, unweighted) estimate: REML's starting value, as metafor."""
    k, p = design.shape
    inverse = np.linalg.inv(design.T @ design)
    residual = y - design @ (inverse @ (design.T @ y))
    trace_pv = v.sum() - np.trace(inverse @ (design.T @ (v[:, None] * design)))
    return max(0.0, (float(residual @ residual) - trace_pv) / (k - p))


def _reml_score(y: np.ndarray, v: np.ndarray, design: np.ndarray, tau2: float) -> float:
    """Twice the derivative of the restricted log-likelihood: ``y'PPy - tr(P)``."""
    proj = project(y, v, design, tau2)
    return float(proj.p_y @ proj.p_y) - proj.trace_p


def _reml_root(y: np.ndarray, v: np.ndarray, design: np.ndarray) -> float:
    """Root of the REML score by bracketing (when Fisher scoring oscillates)."""
    if _reml_score(y, v, design, 0.0) <= 0:
        return 0.0
    upper = 1.0
    while _reml_score(y, v, design, upper) > 0:
        upper *= 2
    return float(optimize.brentq(lambda t: _reml_score(y, v, design, t), 0.0, upper, xtol=PM_TOL,
                                 rtol=4 * np.finfo(float).eps))


def tau2_reml(y: np.ndarray, v: np.ndarray, design: np.ndarray) -> float:
    """Restricted maximum likelihood by Fisher scoring (step halved to stay at or above 0).

    As metafor: Fisher scoring from Hedges' estimate; where it oscillates instead of converging
    (metafor then stops with an error), the root of the REML score is found by bracketing.

    Examples
    --------
    >>> round(tau2_reml(np.array([0.0, 2.0, 1.0]), np.array([0.5, 0.5, 0.5]), np.ones((3, 1))), 6)
    0.5
    """
    tau2 = _hedges(y, v, design)
    for _ in range(REML_MAX_ITER):
        proj = project(y, v, design, tau2)
        step = (float(proj.p_y @ proj.p_y) - proj.trace_p) / proj.trace_pp
        while tau2 + step < 0:
            step /= 2
        tau2, change = tau2 + step, abs(step)
        if change < REML_TOL:
            break
    else:
        tau2 = _reml_root(y, v, design)
    if tau2 > REML_TOL and _reml_loglik(y, v, design, 0.0) > _reml_loglik(y, v, design, tau2):
        return 0.0  # Fisher scoring stopped at a local maximum below the one at 0
    return max(0.0, float(tau2))


def tau2_pm(y: np.ndarray, v: np.ndarray, design: np.ndarray) -> float:
    """Paule-Mandel: the ``tau^2`` at which the generalised ``Q`` equals its expectation ``k - p``.

    Examples
    --------
    >>> round(tau2_pm(np.array([0.0, 2.0, 1.0]), np.array([0.5, 0.5, 0.5]), np.ones((3, 1))), 6)
    0.5
    """
    k, p = design.shape

    def excess(tau2: float) -> float:
        return project(y, v, design, tau2).residual_quadratic - (k - p)

    if excess(0.0) <= 0:
        return 0.0
    upper = max(100.0, 10 * float(np.median(np.abs(y - np.median(y)))) ** 2 * 1.4826**2)
    while excess(upper) > 0:
        upper *= 10
    return float(optimize.brentq(excess, 0.0, upper, xtol=PM_TOL, rtol=4 * np.finfo(float).eps))


ESTIMATORS = {"dl": tau2_dl, "reml": tau2_reml, "pm": tau2_pm}
