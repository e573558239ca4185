"""Inference from a fitted pooling model: Wald coefficients, moderator test, prediction intervals.

One fitted model (:class:`PooledFit`, from the GLMM or an inverse-variance fit) and the rules of
``metafor``'s ``summary`` and ``predict``: z tests, t tests on ``k - p`` degrees of freedom
(``test="t"``, and ``"knha"`` whose covariance is already rescaled), a Wald (chi-square) or F
test of the moderators, and a prediction interval ``estimate +/- crit * sqrt(se^2 + tau^2)`` with
the same critical value as the confidence interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

Test = Literal["z", "t", "knha"]


@dataclass(frozen=True)
class PooledFit:
    """A pooling model fitted in one group of sources.

    Attributes
    ----------
    beta : numpy.ndarray
        Coefficients on the model's scale (logit, or Freeman-Tukey double arcsine).
    vcov : numpy.ndarray
        Their covariance (Knapp-Hartung rescaled for ``test="knha"``).
    tau2 : float
        Between-source variance on the model's scale.
    df : int
        Residual degrees of freedom ``k - p``.
    test : {"z", "t", "knha"}
    weights : numpy.ndarray
        Each source's weight in percent (sums to 100).
    heterogeneity : dict
        Heterogeneity statistics of the model (names as in the summary's columns).
    penalised : bool
        Fitted with the penalised likelihood (no finite maximum likelihood).
    """

    beta: np.ndarray
    vcov: np.ndarray
    tau2: float
    df: int
    test: Test
    weights: np.ndarray
    heterogeneity: dict[str, float] = field(default_factory=dict)
    penalised: bool = False

    @property
    def se(self) -> np.ndarray:
        """Standard errors of the coefficients."""
        return np.sqrt(np.clip(np.diag(self.vcov), 0, None))


def critical_value(test: Test, df: int, conf_level: float) -> float:
    """Two-sided critical value: normal for ``test="z"``, t on ``df`` otherwise (NaN if df < 1).

    Examples
    --------
    >>> round(critical_value("z", 10, 0.95), 4), round(critical_value("knha", 10, 0.95), 4)
    (1.96, 2.2281)
    """
    upper = 0.5 + conf_level / 2
    if test == "z":
        return float(stats.norm.ppf(upper))
    return float(stats.t.ppf(upper, df)) if df >= 1 else np.nan


def _p_value(test: Test, df: int, statistic: np.ndarray) -> np.ndarray:
    if test == "z":
        return 2 * stats.norm.sf(np.abs(statistic))
    return 2 * stats.t.sf(np.abs(statistic), df) if df >= 1 else np.full_like(statistic, np.nan)


def coefficient_table(fit: PooledFit, terms: list[str], conf_level: float) -> pd.DataFrame:
    """Wald table of the coefficients: ``term, coef, se, stat, p, lower, upper``.

    Examples
    --------
    >>> fit = PooledFit(np.array([1.0]), np.array([[0.25]]), 0.0, 9, "z", np.full(10, 10.0))
    >>> coefficient_table(fit, ["intercept"], 0.95).round(3).to_dict("records")
    [{'term': 'intercept', 'coef': 1.0, 'se': 0.5, 'stat': 2.0, 'p': 0.046, 'lower': 0.02, 'upper': 1.98}]
    """
    se = fit.se
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = fit.beta / se
    crit = critical_value(fit.test, fit.df, conf_level)
    return pd.DataFrame({"term": terms, "coef": fit.beta, "se": se, "stat": statistic,
                         "p": _p_value(fit.test, fit.df, statistic),
                         "lower": fit.beta - crit * se, "upper": fit.beta + crit * se})


def moderator_test(fit: PooledFit) -> tuple[float, int, float]:
    """Omnibus test that every coefficient but the intercept is 0: ``(statistic, df, p)``.

    Chi-square on ``p - 1`` degrees of freedom for z tests; for t-based tests the statistic is
    divided by ``p - 1`` and referred to F(p - 1, k - p), as metafor's QM.

    Examples
    --------
    >>> fit = PooledFit(np.array([0.5, 1.0]), np.diag([0.1, 0.25]), 0.0, 8, "z", np.full(10, 10.0))
    >>> tuple(round(v, 4) for v in moderator_test(fit))
    (4.0, 1, 0.0455)
    """
    m = len(fit.beta) - 1
    b = fit.beta[1:]
    try:
        statistic = float(b @ np.linalg.solve(fit.vcov[1:, 1:], b))
    except np.linalg.LinAlgError:
        return np.nan, m, np.nan
    if fit.test == "z":
        return statistic, m, float(stats.chi2.sf(statistic, m))
    statistic /= m
    return statistic, m, float(stats.f.sf(statistic, m, fit.df)) if fit.df >= 1 else np.nan


def prediction(fit: PooledFit, row: np.ndarray, conf_level: float) -> dict[str, float]:
    """Pooled estimate at covariate ``row``, with confidence and prediction intervals.

    Returns
    -------
    dict
        ``estimate, se, lower, upper, pi_lower, pi_upper`` on the model's scale.

    Examples
    --------
    >>> fit = PooledFit(np.array([1.0]), np.array([[0.09]]), 0.16, 9, "z", np.full(10, 10.0))
    >>> {k: round(v, 3) for k, v in prediction(fit, np.ones(1), 0.95).items()}
    {'estimate': 1.0, 'se': 0.3, 'lower': 0.412, 'upper': 1.588, 'pi_lower': 0.02, 'pi_upper': 1.98}
    """
    estimate = float(row @ fit.beta)
    variance = float(row @ fit.vcov @ row)
    se = float(np.sqrt(variance)) if variance >= 0 else np.nan
    crit = critical_value(fit.test, fit.df, conf_level)
    half_pi = crit * float(np.sqrt(variance + fit.tau2))
    return {"estimate": estimate, "se": se, "lower": estimate - crit * se,
            "upper": estimate + crit * se, "pi_lower": estimate - half_pi, "pi_upper": estimate + half_pi}
