"""Logistic regression on grouped binomial rows, by maximum likelihood or Firth's penalty.

The model of :func:`~sclero_analysis.selection.publication_odds`: ``literature`` (0/1) against
``responded`` and covariates, with frequency weights (a 2x2 table is four rows). Firth's
penalised likelihood ``log L + log|I(beta)| / 2`` keeps estimates finite when a cell is empty;
for a saturated 2x2 table it adds 1/2 to every cell (Haldane-Anscombe). Intervals come from the
(penalised) profile likelihood, as R's ``confint`` on a ``glm`` (MASS) and ``logistf``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

MAX_ITER = 100
TOL = 1e-10
#: Largest |coefficient| searched for a profile-likelihood bound (log odds; e^30 ~ 1e13).
BOUND = 30.0


@dataclass(frozen=True)
class LogisticFit:
    """A fitted logistic model: coefficients, covariance and (penalised) log likelihood."""

    coef: np.ndarray
    cov: np.ndarray
    loglik: float
    converged: bool
    firth: bool


def _loglik(x: np.ndarray, y: np.ndarray, n: np.ndarray, beta: np.ndarray, offset: np.ndarray,
            firth: bool) -> float:
    eta = x @ beta + offset
    value = float(np.sum(y * eta - n * np.logaddexp(0.0, eta)))
    if firth:
        p = special.expit(eta)
        sign, logdet = np.linalg.slogdet(x.T @ (x * (n * p * (1 - p))[:, None]))
        value += 0.5 * logdet if sign > 0 else -np.inf
    return value


def _score(x: np.ndarray, y: np.ndarray, n: np.ndarray, beta: np.ndarray, offset: np.ndarray,
           firth: bool) -> tuple[np.ndarray, np.ndarray]:
    """Score (Firth-modified when asked) and Fisher information of the full model."""
    p = special.expit(x @ beta + offset)
    w = n * p * (1 - p)
    info = x.T @ (x * w[:, None])
    residual = y - n * p
    if firth:
        inverse = np.linalg.pinv(info)
        leverage = w * np.einsum("ij,jk,ik->i", x, inverse, x)
        residual = residual + leverage * (0.5 - p)
    return x.T @ residual, info


def fit_logistic(x: np.ndarray, y: np.ndarray, n: np.ndarray, *, firth: bool = False,
                 fixed: dict[int, float] | None = None) -> LogisticFit:
    """Fit ``y ~ Binomial(n, expit(x @ beta))`` by Newton steps with step halving.

    Parameters
    ----------
    x : numpy.ndarray
        Model matrix (rows × coefficients), intercept included.
    y, n : numpy.ndarray
        Successes and trials per row (frequency weights of individual 0/1 rows).
    firth : bool
        Maximise Firth's penalised likelihood instead of the likelihood.
    fixed : dict of int to float, optional
        Coefficients held at a value (for a profile likelihood); the penalty still uses the
        full model's information, as ``logistf`` does.

    Returns
    -------
    LogisticFit
        ``cov`` is the inverse information of the free coefficients (zero rows for fixed ones).

    Examples
    --------
    >>> x = np.array([[1.0, 1.0], [1.0, 0.0]])
    >>> fit = fit_logistic(x, np.array([8.0, 2.0]), np.array([10.0, 10.0]))
    >>> round(float(fit.coef[1]), 6) == round(float(np.log(16)), 6)
    True
    """
    fixed = fixed or {}
    free = np.array([j not in fixed for j in range(x.shape[1])])
    beta = np.zeros(x.shape[1])
    for j, value in fixed.items():
        beta[j] = value
    offset = np.zeros(len(y))
    current = _loglik(x, y, n, beta, offset, firth)
    converged = False
    for _ in range(MAX_ITER):
        score, info = _score(x, y, n, beta, offset, firth)
        step = np.zeros_like(beta)
        step[free] = np.linalg.lstsq(info[np.ix_(free, free)], score[free], rcond=None)[0]
        trial, value = beta + step, _loglik(x, y, n, beta + step, offset, firth)
        for _ in range(30):  # halve until the (penalised) likelihood does not fall
            if value >= current - 1e-12:
                break
            step /= 2
            trial, value = beta + step, _loglik(x, y, n, beta + step, offset, firth)
        beta, change, current = trial, float(np.max(np.abs(step), initial=0.0)), value
        if change < TOL:
            converged = True
            break
    _, info = _score(x, y, n, beta, offset, False)
    cov = np.zeros((x.shape[1], x.shape[1]))
    cov[np.ix_(free, free)] = np.linalg.pinv(info[np.ix_(free, free)])
    return LogisticFit(beta, cov, current, converged, firth)


def profile_interval(x: np.ndarray, y: np.ndarray, n: np.ndarray, fit: LogisticFit, j: int,
                     level: float = 0.95) -> tuple[float, float]:
    """Profile (penalised) likelihood interval of coefficient ``j``.

    The bounds are where ``2 (l(beta_hat) - l_p(b))`` reaches the chi-square(1) quantile;
    a bound beyond ``±30`` on the log scale (no finite bound: an empty cell without Firth's
    penalty) is returned as ``±inf``.

    Examples
    --------
    >>> x = np.array([[1.0, 1.0], [1.0, 0.0]])
    >>> y, n = np.array([8.0, 2.0]), np.array([10.0, 10.0])
    >>> lower, upper = profile_interval(x, y, n, fit_logistic(x, y, n), 1)
    >>> bool(lower < np.log(16) < upper)
    True
    """
    critical = stats.chi2.ppf(level, 1)
    estimate = float(fit.coef[j])
    width = max(float(np.sqrt(fit.cov[j, j])), 0.1)

    def excess(b: float) -> float:
        profile = fit_logistic(x, y, n, firth=fit.firth, fixed={j: b}).loglik
        return 2 * (fit.loglik - profile) - critical

    bounds = []
    for direction in (-1.0, 1.0):
        near, far = estimate, estimate + direction * width
        while excess(far) < 0:
            near, far = far, estimate + 2 * (far - estimate)
            if abs(far) > BOUND:
                far = None
                break
        bounds.append(direction * np.inf if far is None else optimize.brentq(excess, near, far, xtol=1e-10))
    return float(bounds[0]), float(bounds[1])
