"""Inverse-variance pooling of proportions on the logit or Freeman-Tukey scale.

``metafor::escalc`` + ``rma``: per-source logits with 1/2 added to both cells of a source with a
zero cell (``add = 1/2, to = "only0"``) and variance ``1/x + 1/(n - x)``, or the Freeman-Tukey
double arcsine ``(asin sqrt(x/(n+1)) + asin sqrt((x+1)/(n+1))) / 2`` with variance
``1/(4n + 2)``; a random-effects model with ``tau^2`` from :mod:`sclero_analysis.evidence.tau2`;
Cochran's Q, I^2 and H^2 (Higgins & Thompson 2002); Knapp-Hartung's rescaled covariance and t
tests (Knapp & Hartung 2003). The back-transformation of the double arcsine uses the harmonic
mean of the sources' sizes (Miller 1978), as ``metafor::transf.ipft.hm``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats

from sclero_analysis.evidence.inference import PooledFit, Test
from sclero_analysis.evidence.quadrature import Binomial
from sclero_analysis.evidence.tau2 import ESTIMATORS, project

Measure = Literal["PLO", "PFT"]
CONTINUITY = 0.5


def effect_sizes(data: Binomial, measure: Measure) -> tuple[np.ndarray, np.ndarray]:
    """Per-source estimate and sampling variance on the model's scale.

    Examples
    --------
    >>> y, v = effect_sizes(Binomial(np.array([0.0, 3.0]), np.array([4.0, 4.0])), "PLO")
    >>> np.round(y, 4).tolist(), np.round(v, 4).tolist()
    ([-2.1972, 1.0986], [2.2222, 1.3333])
    """
    x, n = data.x, data.n
    if measure == "PFT":
        y = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
        return y, 1 / (4 * n + 2)
    zero = (x == 0) | (x == n)
    events = x + CONTINUITY * zero
    others = n - x + CONTINUITY * zero
    return np.log(events / others), 1 / events + 1 / others


def ft_forward(p: float | np.ndarray, n: float) -> np.ndarray:
    """Freeman-Tukey double arcsine of a proportion ``p`` for a source of size ``n``."""
    x = np.asarray(p, float) * n
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))


def ft_back(t: float | np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Back-transform a double arcsine with the harmonic mean of ``sizes`` (Miller 1978).

    Values beyond the transform of 0 or 1 map to 0 or 1.

    Examples
    --------
    >>> sizes = np.array([10.0, 20.0])
    >>> round(float(ft_back(ft_forward(0.3, 40 / 3), sizes)), 10)
    0.3
    """
    t = np.asarray(t, float)
    nhm = 1 / np.mean(1 / sizes)
    s = np.sin(2 * t)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(1 - (s + (s - 1 / s) / nhm) ** 2)
        p = 0.5 * (1 - np.sign(np.cos(2 * t)) * root)
    p = np.where(t > ft_forward(1.0, nhm), 1.0, np.where(t < ft_forward(0.0, nhm), 0.0, p))
    return p


def _heterogeneity(y: np.ndarray, v: np.ndarray, design: np.ndarray, tau2: float) -> dict[str, float]:
    """Cochran's Q (weights 1/v), its p-value, I^2 (%) and H^2 at ``tau^2``."""
    k, p = design.shape
    if k <= p:
        return {"i2": 0.0, "h2": 1.0, "q": 0.0, "q_df": 0, "q_p": 1.0}
    proj = project(y, v, design, 0.0)
    q = max(0.0, proj.residual_quadratic)
    typical = (k - p) / proj.trace_p
    return {"i2": 100 * tau2 / (typical + tau2), "h2": tau2 / typical + 1, "q": q, "q_df": k - p,
            "q_p": float(stats.chi2.sf(q, k - p))}


def fit_inverse_variance(y: np.ndarray, v: np.ndarray, design: np.ndarray, estimator: str,
                         test: Test) -> PooledFit:
    """Random-effects model ``y ~ N(X beta, v + tau^2)`` as ``metafor::rma``.

    Parameters
    ----------
    y, v : numpy.ndarray
        Per-source estimates and sampling variances.
    design : numpy.ndarray
        Model matrix (k by p).
    estimator : {"reml", "dl", "pm"}
        Estimator of ``tau^2`` (``0`` when there is a single source).
    test : {"z", "t", "knha"}
        ``knha`` multiplies the covariance by ``sum w (y - X beta)^2 / (k - p)``.

    Returns
    -------
    PooledFit

    Examples
    --------
    >>> fit = fit_inverse_variance(np.array([0.0, 2.0, 1.0]), np.full(3, 0.5), np.ones((3, 1)), "dl", "z")
    >>> float(fit.beta[0]), fit.tau2, round(float(fit.se[0]), 4)
    (1.0, 0.5, 0.5774)
    """
    k, p = design.shape
    tau2 = ESTIMATORS[estimator](y, v, design) if k > p else 0.0
    proj = project(y, v, design, tau2)
    vcov = proj.inverse
    if test == "knha":
        w = 1 / (v + tau2)
        rss = float(w @ (y - design @ proj.beta) ** 2)
        vcov = vcov * (rss / (k - p) if rss > np.finfo(float).eps else 0.0)
    w = 1 / (v + tau2)
    return PooledFit(beta=proj.beta, vcov=vcov, tau2=tau2, df=k - p, test=test,
                     weights=100 * w / w.sum(), heterogeneity=_heterogeneity(y, v, design, tau2))
