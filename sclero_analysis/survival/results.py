"""Result of a hypothesis test: statistic, degrees of freedom, p-value and a table."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sclero_analysis.formatting import format_p


@dataclass(frozen=True)
class HypothesisTest:
    """A chi-square test result (log-rank, trend, Gray, proportional hazards …).

    Attributes
    ----------
    name : str
        What was tested, e.g. ``log-rank (rho=0)``.
    statistic : float
        Chi-square statistic.
    dof : int
        Degrees of freedom.
    p_value : float
        Upper-tail chi-square probability.
    table : pandas.DataFrame
        Per-group detail (observed and expected events for log-rank tests).
    """

    name: str
    statistic: float
    dof: int
    p_value: float
    table: pd.DataFrame

    @property
    def summary(self) -> pd.DataFrame:
        """One-row frame: ``test, statistic, dof, p_value``."""
        return pd.DataFrame([{"test": self.name, "statistic": self.statistic, "dof": self.dof,
                              "p_value": self.p_value}])

    def __repr__(self) -> str:
        return (f"{self.name}: chi-square = {self.statistic:.4g} on {self.dof} df, "
                f"{format_p(self.p_value, prefix=True) or 'p not computable'}")
