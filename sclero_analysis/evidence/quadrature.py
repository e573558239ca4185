"""Marginal likelihood of the binomial-normal model by adaptive Gauss-Hermite quadrature.

Source ``j`` reports ``x_j`` responders of ``n_j``; its logit is ``m_j + tau * u_j`` with ``m_j`` the
fixed linear predictor and ``u_j ~ N(0, 1)``. Each source's integral over ``u_j`` is evaluated with
7 Gauss-Hermite nodes centred at the conditional mode of ``u_j`` and scaled by the curvature
there (Liu & Pierce 1994), which is the approximation ``lme4::glmer(nAGQ = 7)`` uses. The
computation is vectorised over sources; derivatives are those of the quadrature formula itself
(nodes move with the mode and the scale), so a Newton search finds its exact maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

N_NODES = 7
_Z, _W = np.polynomial.hermite_e.hermegauss(N_NODES)
_NODE_WEIGHTS = _W / _W.sum() * np.exp(_Z**2 / 2)  # w_i e^{z_i^2 / 2}: integrand divided by phi
MODE_TOL = 1e-11
MODE_MAX_ITER = 200


@dataclass(frozen=True)
class Binomial:
    """Counts of one pooled group: responders ``x`` of ``n`` per source (float arrays)."""

    x: np.ndarray
    n: np.ndarray

    @cached_property
    def log_choose(self) -> np.ndarray:
        """``log C(n, x)`` per source."""
        n, x = self.n, self.x
        return special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)


def conditional_modes(data: Binomial, m: np.ndarray, tau: float, start: np.ndarray) -> np.ndarray:
    """Mode of each source's random effect ``u`` given the linear predictor ``m`` and ``tau``.

    Solves ``tau * (x - n * expit(m + tau * u)) = u``, a strictly decreasing function of ``u``
    whose root lies in ``[tau * (x - n), tau * x]``: Newton steps, replaced by bisection
    whenever they do not land strictly inside the current bracket, so every source converges
    (Newton alone can cycle between a bracket's ends when the curvature vanishes on one side).

    Examples
    --------
    >>> data = Binomial(np.array([3.0]), np.array([4.0]))
    >>> u = conditional_modes(data, np.zeros(1), 1.0, np.zeros(1))
    >>> bool(abs(1.0 * (3 - 4 * special.expit(u[0])) - u[0]) < 1e-10)
    True
    """
    lo, hi = tau * (data.x - data.n), tau * data.x
    u = np.clip(start, lo, hi)
    for _ in range(MODE_MAX_ITER):
        p = special.expit(m + tau * u)
        g = tau * (data.x - data.n * p) - u
        lo = np.where(g > 0, u, lo)
        hi = np.where(g < 0, u, hi)
        step = u + g / (1 + tau**2 * data.n * p * (1 - p))
        # a Newton step must land strictly inside the bracket (or stay put, converged)
        outside = ((step <= lo) | (step >= hi)) & (step != u)
        step = np.where(outside, 0.5 * (lo + hi), step)
        done = np.max(np.abs(step - u), initial=0.0) < MODE_TOL
        u = step
        if done:
            break
    return u


def _log_binomial(x: np.ndarray, n: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """``x * eta - n * log(1 + e^eta)`` (the binomial log-likelihood without its constant)."""
    return x * eta - n * np.logaddexp(0.0, eta)


@dataclass(frozen=True)
class SourceTerms:
    """Per-source log-likelihood and its derivatives at one parameter value.

    Attributes
    ----------
    loglik : numpy.ndarray
        Log marginal likelihood of each source (with the binomial coefficient).
    d_m : numpy.ndarray
        Derivative with respect to the source's linear predictor.
    d_tau : numpy.ndarray
        Derivative with respect to ``tau``.
    modes : numpy.ndarray
        Conditional modes of ``u`` (a warm start for the next evaluation).
    """

    loglik: np.ndarray
    d_m: np.ndarray
    d_tau: np.ndarray
    modes: np.ndarray


def source_terms(data: Binomial, m: np.ndarray, tau: float, start: np.ndarray) -> SourceTerms:
    """Adaptive Gauss-Hermite log marginal likelihood per source, with exact derivatives.

    Parameters
    ----------
    data : Binomial
    m : numpy.ndarray
        Fixed linear predictor (logit) of each source.
    tau : float
        Standard deviation of the random effects (logit scale), > 0.
    start : numpy.ndarray
        Starting values of the conditional modes.

    Returns
    -------
    SourceTerms

    Notes
    -----
    With the mode ``u0`` and the scale ``s = (1 + tau^2 n pi0 (1 - pi0))^{-1/2}`` (``pi0`` the
    fitted probability at the mode), the likelihood of a source is
    ``s * sum_i w_i exp(z_i^2 / 2) p(x | m + tau u_i) exp(-u_i^2 / 2)`` with ``u_i = u0 + s z_i``,
    ``z_i`` and ``w_i`` the 7 Gauss-Hermite nodes and weights of the standard normal (weights
    summing to 1). Derivatives of ``u0`` and ``s`` follow from the implicit function theorem at
    the mode.

    Examples
    --------
    >>> data = Binomial(np.array([2.0, 5.0]), np.array([4.0, 6.0]))
    >>> terms = source_terms(data, np.zeros(2), 1e-8, np.zeros(2))
    >>> np.round(np.exp(terms.loglik), 6).tolist()  # tau -> 0: binomial probabilities at p = 1/2
    [0.375, 0.09375]
    """
    u0 = conditional_modes(data, m, tau, start)
    eta0 = m + tau * u0
    p0 = special.expit(eta0)
    v0 = p0 * (1 - p0)
    s2 = 1 / (1 + tau**2 * data.n * v0)
    s = np.sqrt(s2)
    nodes = u0[:, None] + s[:, None] * _Z[None, :]
    eta = m[:, None] + tau * nodes
    f0 = _log_binomial(data.x, data.n, eta0) - u0**2 / 2
    f = _log_binomial(data.x[:, None], data.n[:, None], eta) - nodes**2 / 2
    e = _NODE_WEIGHTS[None, :] * np.exp(f - f0[:, None])
    total = e.sum(axis=1)
    loglik = data.log_choose + np.log(s) + f0 + np.log(total)
    q = e / total[:, None]
    resid = data.x[:, None] - data.n[:, None] * special.expit(eta)
    slope = tau * resid - nodes  # d f / d u at the nodes
    r0 = data.x - data.n * p0
    du_dm = -tau * data.n * v0 * s2
    du_dtau = s2 * (r0 - tau * data.n * v0 * u0)
    dv = v0 * (1 - 2 * p0)
    dlogs_dm = -0.5 * s2 * tau**2 * data.n * dv * (1 + tau * du_dm)
    dlogs_dtau = -0.5 * s2 * (2 * tau * data.n * v0 + tau**2 * data.n * dv * (u0 + tau * du_dtau))
    zs = _Z[None, :] * s[:, None]
    d_m = dlogs_dm + (q * (resid + slope * (du_dm[:, None] + zs * dlogs_dm[:, None]))).sum(axis=1)
    d_tau = dlogs_dtau + (q * (nodes * resid + slope * (du_dtau[:, None] + zs * dlogs_dtau[:, None]))).sum(
        axis=1)
    return SourceTerms(loglik, d_m, d_tau, u0)
