"""The Vevea-Hedges step-function selection model: likelihood, maximum, Hessian.

Effect sizes ``y_i ~ N(mu, v_i + tau^2)`` are observed (published) with a relative probability
``delta_j`` that depends on which interval ``(s_{j-1}, s_j]`` of the one-sided p-value
``p_i = 1 - Phi(y_i / sqrt(v_i))`` they fall in (``delta_1 = 1``). The log likelihood is

    sum_i [log delta_{j(i)} + log phi(y_i; mu, v_i + tau^2) - log A_i],
    A_i = sum_j delta_j P(s_{j-1} < p <= s_j | mu, v_i + tau^2),

as ``metafor::selmodel(type = "stepfun")`` (Vevea & Hedges 1995): the same p-values, intervals,
bounds (``0 <= delta <= 100``) and standard errors from the inverse Hessian of the negative log
likelihood in ``(mu, tau^2, delta_2, ...)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

ALTERNATIVES = ("greater", "less", "two.sided")
DELTA_MAX = 100.0


@dataclass(frozen=True)
class StepData:
    """Effects, variances, steps and each effect's p-value interval (0-based)."""

    yi: np.ndarray
    vi: np.ndarray
    steps: np.ndarray
    alternative: str
    interval: np.ndarray

    @property
    def k_per_interval(self) -> np.ndarray:
        """Number of effects in each p-value interval."""
        return np.bincount(self.interval, minlength=len(self.steps))


def p_values(yi: np.ndarray, vi: np.ndarray, alternative: str) -> np.ndarray:
    """One-sided (or two-sided) p-value of each effect, as metafor's selection models.

    Examples
    --------
    >>> p_values(np.array([1.96]), np.array([1.0]), "greater").round(3).tolist()
    [0.025]
    """
    z = yi / np.sqrt(vi)
    if alternative == "two.sided":
        return 2 * stats.norm.sf(np.abs(z))
    return stats.norm.sf(z) if alternative == "greater" else stats.norm.cdf(z)


def step_data(yi, vi, steps, alternative: str = "greater") -> StepData:
    """Check the inputs and assign each effect to its p-value interval (``p <= s_j``, first j)."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, not {alternative!r}")
    yi, vi = np.asarray(yi, float), np.asarray(vi, float)
    if yi.shape != vi.shape or yi.ndim != 1 or not (np.isfinite(yi).all() and (vi > 0).all()):
        raise ValueError("yi and vi must be finite vectors of one length with vi > 0")
    steps = np.unique(np.asarray(steps, float))
    if ((steps <= 0) | (steps > 1)).any():
        raise ValueError(f"steps must lie in (0, 1]; got {steps.tolist()}")
    if steps[-1] != 1:
        steps = np.append(steps, 1.0)
    interval = np.searchsorted(steps, p_values(yi, vi, alternative), side="left")
    return StepData(yi, vi, steps, alternative, interval)


def _below(data: StepData, mu: float, tau2: float) -> np.ndarray:
    """P(p <= s_j) for each effect (rows) and step (columns) under N(mu, v_i + tau^2)."""
    sd_obs, sd = np.sqrt(data.vi)[:, None], np.sqrt(data.vi + tau2)[:, None]
    s = data.steps[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):  # s = 1: critical value -inf, P = 1
        if data.alternative == "greater":
            return special.ndtr((mu - sd_obs * -special.ndtri(s)) / sd)
        if data.alternative == "less":
            return special.ndtr((sd_obs * special.ndtri(s) - mu) / sd)
        critical = sd_obs * -special.ndtri(s / 2)
        return special.ndtr((mu - critical) / sd) + special.ndtr((-critical - mu) / sd)


def loglik(theta: np.ndarray, data: StepData) -> float:
    """Log likelihood at ``theta = (mu, tau2, delta_2, ..., delta_N)``.

    Examples
    --------
    >>> data = step_data([0.1, 0.5, 0.9], [0.04, 0.05, 0.06], [0.025, 1])
    >>> bool(np.isclose(loglik(np.array([0.5, 0.0, 1.0]), data),
    ...                 stats.norm.logpdf([0.1, 0.5, 0.9], 0.5, np.sqrt([0.04, 0.05, 0.06])).sum()))
    True
    """
    mu, tau2 = theta[0], max(theta[1], 0.0)
    delta = np.concatenate([[1.0], theta[2:]])
    below = _below(data, mu, tau2)
    mass = np.diff(np.concatenate([np.zeros((len(data.yi), 1)), below], axis=1), axis=1)
    area = mass @ delta
    total = data.vi + tau2
    density = -0.5 * (np.log(2 * np.pi * total) + (data.yi - mu) ** 2 / total)
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log(delta[data.interval]) + density - np.log(area)))


def maximise(data: StepData, start: np.ndarray, free_delta: bool = True) -> tuple[np.ndarray, float]:
    """Maximum likelihood over ``mu``, ``tau2 >= 0`` and (when ``free_delta``) ``0 <= delta <= 100``.

    SLSQP from three starting values of tau^2 (the start, 0 and the variance of the effects)
    keeps the highest likelihood; the returned ``theta`` has every delta (fixed ones at 1).
    """
    n_delta = len(data.steps) - 1

    def full(free: np.ndarray) -> np.ndarray:
        return free if free_delta else np.concatenate([free, np.ones(n_delta)])

    def negative(free: np.ndarray) -> float:
        value = loglik(full(free), data)
        return -value if np.isfinite(value) else 1e300

    bounds = [(None, None), (0.0, None)] + ([(0.0, DELTA_MAX)] * n_delta if free_delta else [])
    size = len(bounds)
    best = None
    for tau2 in (start[1], 0.0, max(start[1], np.var(data.yi))):
        x0 = np.concatenate([[start[0], tau2], np.ones(size - 2)])
        found = optimize.minimize(negative, x0, method="SLSQP", bounds=bounds,
                                  options={"ftol": 1e-14, "maxiter": 1000})
        if best is None or found.fun < best.fun:
            best = found
    lower = [b[0] if b[0] is not None else -np.inf for b in bounds]
    upper = [b[1] if b[1] is not None else np.inf for b in bounds]
    x = np.clip(best.x, lower, upper)
    return full(x), loglik(full(x), data)


def hessian(theta: np.ndarray, data: StepData) -> np.ndarray:
    """Hessian of the negative log likelihood by central differences with Richardson extrapolation.

    Steps are ``1e-4 * |x|`` (``1e-4`` at 0), halved four times, as R's ``numDeriv::hessian``.
    """
    size = len(theta)
    h0 = np.where(np.abs(theta) > 1e-8, 1e-4 * np.abs(theta), 1e-4)

    def second(i: int, j: int, h: np.ndarray) -> float:
        ei, ej = np.zeros(size), np.zeros(size)
        ei[i], ej[j] = h[i], h[j]
        f = lambda x: -loglik(x, data)  # noqa: E731
        return (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)) / (
            4 * h[i] * h[j])

    result = np.zeros((size, size))
    for i in range(size):
        for j in range(i, size):
            table = [second(i, j, h0 / 2**r) for r in range(4)]
            for m in range(1, 4):  # Richardson: errors O(h^2), O(h^4), ...
                table = [(4**m * table[r + 1] - table[r]) / (4**m - 1) for r in range(len(table) - 1)]
            result[i, j] = result[j, i] = table[0]
    return result
