"""Wald and likelihood-ratio tests of heterogeneity for the binomial-normal model.

As ``metafor::rma.glmm``: the common-effect logistic model (the moderators alone) is compared
with the saturated model (one logit per source). ``q_wald`` is the Wald test that the saturated
model's logits are equal (beyond the moderators) and ``q_lrt`` twice the log-likelihood
difference, both on ``k - p`` degrees of freedom. Both models are fitted by iteratively
reweighted least squares exactly as R's ``glm.fit`` (starting values ``(x + 1/2)/(n + 1)``,
stopping when the relative change in deviance falls below 1e-8, at most 25 iterations): a source
with 0 or n responders has no finite saturated logit, and the tests then depend on where
``glm.fit`` stops, which is reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from sclero_analysis.evidence.quadrature import Binomial

EPSILON = 1e-8  # glm.control(epsilon)
MAX_ITER = 25  # glm.control(maxit)
THRESH = 30.0  # R's logit link clamps |eta| > 30
DBL_EPS = np.finfo(float).eps


def _inverse_link(eta: np.ndarray) -> np.ndarray:
    """R's ``binomial()$linkinv``: clamped so that 0 < mu < 1."""
    odds = np.where(eta < -THRESH, DBL_EPS, np.where(eta > THRESH, 1 / DBL_EPS,
                                                     np.exp(np.clip(eta, -THRESH, THRESH))))
    return odds / (1 + odds)


def _mu_eta(eta: np.ndarray) -> np.ndarray:
    """R's ``binomial()$mu.eta``."""
    e = np.exp(np.clip(eta, -THRESH, THRESH))
    return np.where(np.abs(eta) > THRESH, DBL_EPS, e / (1 + e) ** 2)


def _deviance(y: np.ndarray, mu: np.ndarray, n: np.ndarray) -> float:
    return float((2 * n * (special.xlogy(y, y / mu) + special.xlogy(1 - y, (1 - y) / (1 - mu)))).sum())


@dataclass(frozen=True)
class GlmState:
    """Where R's IRLS stopped: coefficients, linear predictor, and the last working weights."""

    beta: np.ndarray
    eta: np.ndarray
    working_weights: np.ndarray


def glm_fit(data: Binomial, design: np.ndarray | None) -> GlmState:
    """Logistic regression of ``x`` of ``n`` on ``design`` as R's ``glm.fit``.

    ``design=None`` fits the saturated model (one logit per source), whose weighted least-squares
    step is the working response itself.

    Examples
    --------
    >>> data = Binomial(np.array([3.0, 5.0]), np.array([10.0, 10.0]))
    >>> round(float(glm_fit(data, np.ones((2, 1))).beta[0]), 6)  # logit(8 / 20)
    -0.405465
    """
    y = data.x / data.n
    mu = (data.x + 0.5) / (data.n + 1)
    eta = np.log(mu / (1 - mu))
    mu = _inverse_link(eta)
    beta = eta if design is None else np.zeros(design.shape[1])
    dev_old = _deviance(y, mu, data.n)
    for _ in range(MAX_ITER):
        slope = _mu_eta(eta)
        z = eta + (y - mu) / slope
        weights = data.n * slope**2 / (mu * (1 - mu))
        if design is None:
            beta = z
        else:
            root = np.sqrt(weights)
            beta = np.linalg.lstsq(design * root[:, None], z * root, rcond=None)[0]
        eta = beta if design is None else design @ beta
        mu = _inverse_link(eta)
        dev = _deviance(y, mu, data.n)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < EPSILON:
            break
        dev_old = dev
    return GlmState(beta, eta, weights)


def _loglik(data: Binomial, eta: np.ndarray) -> float:
    mu = _inverse_link(eta)
    return float((data.log_choose + special.xlogy(data.x, mu) + special.xlogy(data.n - data.x, 1 - mu)).sum())


def heterogeneity_tests(data: Binomial, design: np.ndarray) -> dict[str, float]:
    """``q_wald, q_wald_p, q_lrt, q_lrt_p, q_df`` (NaN for a single source).

    Examples
    --------
    >>> data = Binomial(np.array([2.0, 8.0, 5.0]), np.array([10.0, 10.0, 10.0]))
    >>> {k: round(v, 4) for k, v in heterogeneity_tests(data, np.ones((3, 1))).items()}
    {'q_wald': 6.1499, 'q_wald_p': 0.0462, 'q_lrt': 7.7098, 'q_lrt_p': 0.0212, 'q_df': 2}
    """
    k, p = design.shape
    if k < 2:
        return {"q_wald": np.nan, "q_wald_p": np.nan, "q_lrt": np.nan, "q_lrt_p": np.nan, "q_df": 0}
    saturated = glm_fit(data, None)
    common = glm_fit(data, design)
    w, eta = saturated.working_weights, saturated.eta
    # Wald test that the saturated logits lie in the span of the design: weighted residual sum
    root = np.sqrt(w)
    fitted = design @ np.linalg.lstsq(design * root[:, None], eta * root, rcond=None)[0]
    wald = max(0.0, float(w @ (eta - fitted) ** 2))
    lrt = max(0.0, -2 * (_loglik(data, common.eta) - _loglik(data, eta)))
    df = k - p
    p_wald, p_lrt = (stats.chi2.sf(wald, df), stats.chi2.sf(lrt, df)) if df > 0 else (1.0, 1.0)
    return {"q_wald": wald, "q_wald_p": float(p_wald), "q_lrt": lrt, "q_lrt_p": float(p_lrt), "q_df": df}
