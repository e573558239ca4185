"""Binomial-normal random-intercept model of single-arm proportions, fitted by maximum likelihood.

The model of ``metafor::rma.glmm(measure = "PLO")``: ``x_j ~ Binomial(n_j, expit(X_j beta + b_j))``,
``b_j ~ N(0, tau^2)``. The marginal likelihood is evaluated by 7-point adaptive Gauss-Hermite
quadrature (:mod:`sclero_analysis.evidence.quadrature`) and maximised over ``(beta, log tau)`` by
Newton's method; the covariance of ``beta`` is the inverse observed information over
``(beta, tau)``, as ``lme4``'s Hessian-based ``vcov``. A maximum on the boundary ``tau = 0`` gives the
common-effect logistic model.

When the likelihood has no finite maximum (every source responds, a moderator level where every
source responds, or a between-source variance that grows without bound) :func:`fit_glmm`
returns ``None``; with ``penalised=True`` it maximises instead the penalised likelihood
``log L - sum(beta_k^2) / (2 * 2.5^2) - tau``: independent normal N(0, 2.5^2) priors on the
logit coefficients (the scale of Gelman et al.'s weakly informative prior for logistic
regression) and an exponential(1) prior on ``tau``, a posterior mode that is always finite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from sclero_analysis.evidence.newton import Optimum, minimise
from sclero_analysis.evidence.quadrature import Binomial, source_terms

PRIOR_SD = 2.5  # penalised fallback: N(0, PRIOR_SD^2) on each logit coefficient
TAU_RATE = 1.0  # penalised fallback: exponential(TAU_RATE) on tau
BETA_LIMIT = 20.0  # |logit| beyond this (p within 2e-9 of 0 or 1) is a maximum at infinity
TAU_LIMIT = 20.0  # tau beyond this (every prediction interval is (0, 1)) is tau -> infinity
TAU_FLOOR = 1e-5  # tau below this: the maximum is on the boundary tau = 0
INFO_STEP = 1e-5


@dataclass(frozen=True)
class GlmmFit:
    """A fitted binomial-normal model.

    Attributes
    ----------
    beta : numpy.ndarray
        Logit coefficients.
    vcov : numpy.ndarray
        Their covariance (inverse observed information).
    tau2 : float
        Between-source variance of the logit (0 on the boundary).
    information : numpy.ndarray
        Observed information about each source's own logit (its weight in the fit).
    loglik : float
        Log marginal likelihood (quadrature), binomial coefficients included, penalty excluded.
    penalised : bool
        Fitted with the penalised likelihood.
    """

    beta: np.ndarray
    vcov: np.ndarray
    tau2: float
    information: np.ndarray
    loglik: float
    penalised: bool


class _Likelihood:
    """Negative (penalised) log-likelihood over ``theta = (beta, log tau)`` or ``beta`` alone."""

    def __init__(self, data: Binomial, design: np.ndarray, penalised: bool) -> None:
        self.data, self.design, self.penalised = data, design, penalised
        self.modes = np.zeros(len(data.x))
        self.p = design.shape[1]

    def penalty(self, beta: np.ndarray) -> tuple[float, np.ndarray]:
        if not self.penalised:
            return 0.0, np.zeros_like(beta)
        return float(beta @ beta) / (2 * PRIOR_SD**2), beta / PRIOR_SD**2

    def common(self, beta: np.ndarray) -> tuple[float, np.ndarray]:
        """Common-effect (``tau = 0``) objective and gradient."""
        m = self.design @ beta
        loglik = self.data.log_choose + self.data.x * m - self.data.n * np.logaddexp(0.0, m)
        score = self.design.T @ (self.data.x - self.data.n * special.expit(m))
        penalty, d_penalty = self.penalty(beta)
        return -float(loglik.sum()) + penalty, -score + d_penalty

    def random(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Random-effects objective and gradient over ``(beta, log tau)``."""
        beta, tau = theta[:-1], float(np.exp(theta[-1]))
        terms = source_terms(self.data, self.design @ beta, tau, self.modes)
        self.modes = terms.modes
        penalty, d_penalty = self.penalty(beta)
        gradient = np.append(-(self.design.T @ terms.d_m) + d_penalty, -tau * terms.d_tau.sum())
        if self.penalised:
            penalty += TAU_RATE * tau
            gradient[-1] += TAU_RATE * tau
        return -float(terms.loglik.sum()) + penalty, gradient

    def information(self, beta: np.ndarray, tau: float) -> np.ndarray:
        """Observed information about each source's own logit at ``(beta, tau)``."""
        m = self.design @ beta
        if tau == 0.0:
            p = special.expit(m)
            return self.data.n * p * (1 - p)
        up = source_terms(self.data, m + INFO_STEP, tau, self.modes).d_m
        down = source_terms(self.data, m - INFO_STEP, tau, self.modes).d_m
        return -(up - down) / (2 * INFO_STEP)


def _start(data: Binomial, design: np.ndarray) -> tuple[np.ndarray, float]:
    """Weighted least squares on empirical logits (0.5 added) and a DerSimonian-Laird tau."""
    y = np.log((data.x + 0.5) / (data.n - data.x + 0.5))
    v = 1 / (data.x + 0.5) + 1 / (data.n - data.x + 0.5)
    w = 1 / v
    beta = np.linalg.lstsq(design * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    k, p = design.shape
    if k <= p:
        return beta, 0.5
    q = float(w @ (y - design @ beta) ** 2)
    tau2 = (q - (k - p)) / (w.sum() - (w**2).sum() / w.sum())
    return beta, float(np.sqrt(max(tau2, 0.05)))


def _fit(likelihood: _Likelihood, optimum: Optimum, tau: float) -> GlmmFit:
    p = likelihood.p
    beta = optimum.theta[:p]
    covariance = np.linalg.inv(optimum.hessian)[:p, :p]
    loglik = -optimum.value
    if likelihood.penalised:
        loglik += likelihood.penalty(beta)[0] + TAU_RATE * tau
    return GlmmFit(beta=beta, vcov=(covariance + covariance.T) / 2, tau2=tau**2,
                   information=likelihood.information(beta, tau), loglik=loglik,
                   penalised=likelihood.penalised)


def fit_glmm(data: Binomial, design: np.ndarray, *, random: bool = True,
             penalised: bool = False) -> GlmmFit | None:
    """Fit the binomial-normal model (or the common-effect model) by (penalised) maximum likelihood.

    Parameters
    ----------
    data : Binomial
        Responders and sources' sizes.
    design : numpy.ndarray
        Model matrix (k sources by p coefficients; a column of ones for the pooled logit).
    random : bool
        False fits the common-effect model (``tau = 0``), e.g. when ``tau`` is not identifiable.
    penalised : bool
        Maximise the penalised likelihood (module docstring) instead of the likelihood.

    Returns
    -------
    GlmmFit or None
        None when the (unpenalised) maximum lies at infinity.

    Examples
    --------
    >>> data = Binomial(np.array([4.0, 9.0, 2.0, 7.0]), np.array([10.0, 12.0, 9.0, 8.0]))
    >>> fit = fit_glmm(data, np.ones((4, 1)))
    >>> round(float(fit.beta[0]), 3), round(fit.tau2, 3)
    (0.3, 0.969)
    >>> fit_glmm(Binomial(np.array([3.0, 5.0]), np.array([3.0, 5.0])), np.ones((2, 1))) is None
    True
    """
    likelihood = _Likelihood(data, design, penalised)
    beta0, tau0 = _start(data, design)

    def too_far(theta: np.ndarray) -> bool:
        return bool(np.max(np.abs(theta[: likelihood.p])) > BETA_LIMIT)

    common = minimise(likelihood.common, beta0, too_far)
    if not common.converged and not penalised:
        return None
    if not random:
        return _fit(likelihood, common, 0.0)
    theta0 = np.append(common.theta, np.log(tau0))

    def left(theta: np.ndarray) -> bool:
        return too_far(theta) or not np.log(TAU_FLOOR) <= theta[-1] <= np.log(TAU_LIMIT)

    full = minimise(likelihood.random, theta0, left)
    tau = float(np.exp(full.theta[-1]))
    if tau < TAU_FLOOR or full.value >= common.value:
        return _fit(likelihood, common, 0.0)
    if not full.converged:
        return None
    return _fit(likelihood, full, tau)
