"""The fitted Cox model returned by :func:`~sclero_analysis.survival.cox.fit_cox`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from sclero_analysis.survival.concordance import concordance
from sclero_analysis.survival.coxcore import CoxData, Evaluation
from sclero_analysis.survival.design import Design
from sclero_analysis.survival.zph import ph_test


def tests_frame(statistics: dict[str, float], dof: int) -> pd.DataFrame:
    """Global tests as a frame indexed by test name: ``statistic, dof, p`` (chi-square)."""
    values = np.array(list(statistics.values()), dtype=float)
    # special.chdtrc is what stats.chi2.sf evaluates, without its argument handling (and NaN
    # for no degrees of freedom, as stats.chi2.sf)
    p = special.chdtrc(dof, values) if dof > 0 else np.full(len(values), np.nan)
    return pd.DataFrame({"statistic": values, "dof": np.full(len(values), dof), "p": p},
                        index=pd.Index(np.array(list(statistics), dtype=object)), copy=False)


def wald_summary(beta: np.ndarray, var: np.ndarray, columns: list[str], conf_level: float,
                 naive: np.ndarray | None = None,
                 extra: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Regression table with Wald intervals: ``coef, se, (se_naive), hr, hr_lower, hr_upper, z, p``.

    ``extra`` columns (e.g. ``n``, ``events``) are appended.
    """
    z_crit = special.ndtri(1 - (1 - conf_level) / 2)  # stats.norm.ppf
    se = np.sqrt(np.diag(var))
    with np.errstate(over="ignore"):  # an infinite coefficient (already warned) gives inf limits
        z = beta / se
        table = {"coef": beta, "se": se}
        if naive is not None:
            table["se_naive"] = np.sqrt(np.diag(naive))
        table |= {"hr": np.exp(beta), "hr_lower": np.exp(beta - z_crit * se),
                  "hr_upper": np.exp(beta + z_crit * se), "z": z,
                  "p": 2 * special.ndtr(-np.abs(z))}  # stats.norm.sf
    return pd.DataFrame(table | (extra or {}), copy=False,
                        index=pd.Index(np.array(columns, dtype=object), name="term"))


@dataclass(frozen=True, eq=False)
class CoxResult:
    """A fitted Cox model.

    Attributes
    ----------
    summary : pandas.DataFrame
        Indexed by column (``tier[cytoreduction]``, ``age``…): ``coef, se, hr, hr_lower,
        hr_upper, z, p``; ``se`` is robust with a cluster, non-integer weights or ``robust=True``,
        and ``se_naive`` (the model-based SE) then sits beside it. Last, ``n`` and ``events``:
        the rows and events in the level of a categorical, all rows and events for any other
        term (as gtsummary's ``tbl_regression`` with N and events by level).
    loglik, loglik_null : float
        Log partial likelihood at the estimate and at beta = 0.
    n, n_events : int
        Rows used and events of the cause of interest.
    tests : pandas.DataFrame
        Indexed by ``likelihood_ratio, wald, score`` (and ``robust_score`` when robust):
        ``statistic, dof, p`` (dof: the estimable coefficients).
    var : numpy.ndarray
        Variance matrix used for ``se`` (robust or model-based; NaN rows and columns for
        coefficients that cannot be estimated).
    design : Design
        The covariate matrix, its column names, terms and reference levels.
    ties : str
        ``efron`` or ``breslow``.
    robust : bool
        Whether ``se`` is the sandwich SE.
    counts : pandas.DataFrame
        Rows and events per level of each categorical (the reference level included,
        ``tier[ivig]``) and per other term: ``variable, level, reference, n, events``
        (:func:`~sclero_analysis.survival.counts.term_counts`).
    """

    summary: pd.DataFrame
    loglik: float
    loglik_null: float
    n: int
    n_events: int
    tests: pd.DataFrame
    var: np.ndarray
    design: Design
    ties: str
    robust: bool
    conf_level: float
    _data: CoxData = field(repr=False)  # the estimable columns only
    _evaluation: Evaluation = field(repr=False)
    _kept: np.ndarray | None = field(default=None, repr=False)  # estimable columns (mask)
    counts: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def coef(self) -> pd.Series:
        """Log hazard ratios by column."""
        return self.summary["coef"]

    @cached_property
    def concordance(self) -> float:
        """Harrell's C as R's ``coxph`` reports it (higher risk, shorter time)."""
        coef = self.coef.to_numpy()
        return concordance(self._data, self._data.x @ coef[~np.isnan(coef)])

    def ph_test(self, transform: Literal["km", "identity", "rank", "log"] = "km") -> pd.DataFrame:
        """Test proportional hazards per term and globally, as R's ``cox.zph(terms=TRUE)``.

        Returns
        -------
        pandas.DataFrame
            Indexed by term, then ``GLOBAL``: ``chisq, df, p``.
        """
        if self._kept is not None and not self._kept.all():
            raise ValueError("the model has coefficients that cannot be estimated (NaN): refit "
                             "without those columns to test proportional hazards")
        return ph_test(self, transform)

    def __repr__(self) -> str:
        return (f"CoxResult(n={self.n}, events={self.n_events}, ties={self.ties}, "
                f"robust={self.robust})\n{self.summary.round(4).to_string()}")
