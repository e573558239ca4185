"""The result of :func:`sclero_analysis.pool_proportions`: pooled proportions per group, per source."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes

from sclero_analysis.evidence.forest import forest_proportions


@dataclass(frozen=True, eq=False)
class PooledProportions:
    """Pooled proportions per group with the sources behind them.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per group (the ``by`` columns first): ``k`` sources, ``n`` patients, ``events``,
        pooled ``proportion`` with its confidence interval ``lower, upper`` and prediction
        interval ``pi_lower, pi_upper``; ``logit`` and its ``se``; ``tau2`` (between-source
        variance of the logit); GLMM: Wald and likelihood-ratio heterogeneity tests ``q_wald,
        q_wald_p, q_lrt, q_lrt_p``; inverse-variance methods: ``i2`` (%), Cochran's ``q`` and
        ``q_p``; ``pft``: ``ft``, the pooled double arcsine (``se`` and ``tau2`` on its scale,
        ``logit`` NaN); ``penalised``: True where the GLMM had no finite maximum likelihood.
    studies : pandas.DataFrame
        One row per source: the ``by`` columns, ``study, events, n, proportion``, its exact
        (Clopper-Pearson) interval ``lower, upper`` and ``weight`` (percent of its group).
    moderators : pandas.DataFrame or None
        With ``moderators``: one row per group and term (``intercept``, ``column[level]``, a
        numeric column's name): ``coef, se, stat, p, lower, upper`` on the model's scale (logit,
        so ``exp(coef)`` is an odds ratio), the residual ``tau2``, the omnibus test of the
        moderators ``qm, qm_df, qm_p`` (chi-square; F with ``test="t"``/``"knha"``) and
        ``penalised``.
    method : str
    test : str
    conf_level : float
    by : tuple of str
    """

    summary: pd.DataFrame
    studies: pd.DataFrame
    moderators: pd.DataFrame | None
    method: str
    test: str
    conf_level: float
    by: tuple[str, ...]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the forest plot: one row per source, the pooled diamond and prediction interval.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Drawn on a new figure sized to the number of sources when not given (never on the
            current axes).

        Returns
        -------
        matplotlib.axes.Axes
        """
        return forest_proportions(self.summary, self.studies, self.by, self.method, self.conf_level, ax=ax)

    def __repr__(self) -> str:
        groups = f", by {', '.join(self.by)} ({len(self.summary)} groups)" if self.by else ""
        return (f"PooledProportions({self.method}, test={self.test!r}, {len(self.studies)} sources"
                f"{groups})")
