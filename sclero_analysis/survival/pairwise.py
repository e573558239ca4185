"""Pairwise log-rank tests between groups, with p-values adjusted for multiple comparisons.

Equal to ``survminer::pairwise_survdiff``: R's ``survdiff`` on the rows of each pair of groups,
then ``p.adjust`` over all the pairs. With ``cluster=`` each pair's test is the clustered
(robust score) log-rank of :func:`~sclero_analysis.survival.logrank.logrank`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd

from sclero_analysis.formatting import format_p
from sclero_analysis.survival.clusters import Cluster, cluster_codes
from sclero_analysis.survival.inputs import (
    CAUSE,
    EVENT,
    GROUP,
    TIME,
    SurvivalInputError,
    level_order,
)
from sclero_analysis.survival.logrank import logrank

Adjust = Literal["holm", "bonferroni", "BH", "none"]
ADJUSTMENTS = ("holm", "bonferroni", "BH", "none")
PAIR_COLUMNS = ("group1", "group2", "statistic", "dof", "p_value", "p_adjusted")


def p_adjust(p, method: Adjust = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons, as R's ``p.adjust``.

    Parameters
    ----------
    p : array-like of float
        Unadjusted p-values; NaN entries stay NaN and do not count (R's rule for NA).
    method : {"holm", "bonferroni", "BH", "none"}
        Holm's step-down (controls the family-wise error, never less powerful than
        Bonferroni), Bonferroni, Benjamini–Hochberg (controls the false discovery rate), or
        none.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, capped at 1, in the order given.

    References
    ----------
    Holm S (1979). Scand J Stat 6:65-70. Benjamini Y, Hochberg Y (1995). JRSS B 57:289-300.

    Examples
    --------
    >>> p_adjust([0.01, 0.04, 0.03], "holm").round(4).tolist()
    [0.03, 0.06, 0.06]
    >>> p_adjust([0.01, 0.04, 0.03], "BH").round(4).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in ADJUSTMENTS:
        raise ValueError(f"adjust must be one of {ADJUSTMENTS}, not {method!r}")
    values = np.asarray(p, dtype=float)
    out = values.copy()
    known = ~np.isnan(values)
    q, n = values[known], int(known.sum())
    if method == "none" or n == 0:
        return out
    if method == "bonferroni":
        adjusted = np.minimum(1.0, n * q)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        adjusted = np.empty(n)
        adjusted[order] = np.minimum(1.0, np.maximum.accumulate((n - np.arange(n)) * q[order]))
    else:  # BH
        order = np.argsort(-q, kind="stable")
        adjusted = np.empty(n)
        adjusted[order] = np.minimum(1.0, np.minimum.accumulate(n / np.arange(n, 0, -1) * q[order]))
    out[known] = adjusted
    return out


@dataclass(frozen=True)
class PairwiseTest:
    """Log-rank tests of every pair of groups, with adjusted p-values.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per pair, in the groups' order (first the pairs with the first group):
        ``group1, group2, statistic, dof, p_value`` (unadjusted) and ``p_adjusted``.
    adjust : str
        ``holm``, ``bonferroni``, ``BH`` or ``none``.
    name : str
        The test run on each pair, e.g. ``log-rank (rho=0)``.
    """

    summary: pd.DataFrame
    adjust: str
    name: str

    def matrix(self, adjusted: bool = True) -> pd.DataFrame:
        """Return the p-values as R's ``pairwise_survdiff`` prints them (lower triangle).

        Parameters
        ----------
        adjusted : bool
            Adjusted (default) or unadjusted p-values.

        Returns
        -------
        pandas.DataFrame
            Rows: every group but the first; columns: every group but the last; NaN above
            the diagonal.
        """
        levels = list(dict.fromkeys([*self.summary["group1"], *self.summary["group2"]]))
        frame = pd.DataFrame(np.nan, index=pd.Index(levels[1:], name="group"),
                             columns=levels[:-1])
        column = "p_adjusted" if adjusted else "p_value"
        for row in self.summary.itertuples(index=False):
            frame.loc[row.group2, row.group1] = getattr(row, column)
        return frame

    def __repr__(self) -> str:
        lines = [f"Pairwise {self.name}, p adjusted by {self.adjust}:"]
        lines += [f"  {r.group1} vs {r.group2}: chi-square = {r.statistic:.2f}, "
                  f"{format_p(r.p_adjusted, prefix=True)}" for r in self.summary.itertuples()]
        return "\n".join(lines)


def _pair(df: pd.DataFrame, group: str, pair: tuple, kwargs: dict) -> tuple[float, int, float]:
    rows = df[df[group].isin(pair)]
    try:
        test = logrank(rows, group=group, **kwargs)
    except SurvivalInputError as error:
        if "no events" not in str(error):
            raise
        return np.nan, 0, np.nan  # nothing to compare in this pair (R: chi-square 0 on 0 df)
    return test.statistic, test.dof, test.p_value


def pairwise_logrank(
    df: pd.DataFrame,
    time: str = TIME,
    event: str = EVENT,
    group: str = GROUP,
    cause: int = CAUSE,
    adjust: Adjust = "holm",
    rho: float = 0.0,
    strata: str | None = None,
    cluster: Cluster = None,
) -> PairwiseTest:
    """Log-rank test of every pair of groups, p-values adjusted (``pairwise_survdiff``).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject, e.g. :func:`sclero_analysis.relapse_frame`.
    time, event, group, cause : str, str, str, int
        Columns and the event code of interest; other non-zero codes count as censored.
    adjust : {"holm", "bonferroni", "BH", "none"}
        Adjustment over all pairs (R's ``p.adjust``); Holm by default (survminer's default is
        BH: pass ``adjust="BH"`` to reproduce it).
    rho : float
        0 log-rank, 1 Peto–Peto (as :func:`logrank`).
    strata : str, optional
        Stratify each pair's test.
    cluster : str, False or None
        Column whose rows belong together (``patient_id``): each pair's test is the clustered
        robust score test (as :func:`logrank`). ``False``: rows independent. ``None``
        (default): independent, with one warning when the frame's identifier column
        (``df.attrs["cluster"]``) repeats.

    Returns
    -------
    PairwiseTest
        ``.summary`` (group1, group2, statistic, dof, p_value, p_adjusted), ``.matrix()``.

    Raises
    ------
    SurvivalInputError
        Fewer than two groups with rows; an unknown ``adjust``.

    Warns
    -----
    RepeatedIdsWarning
        ``cluster`` not given while the frame's identifier column repeats.

    Notes
    -----
    Each pair is tested on its own rows only (not with a variance pooled over all groups),
    as survminer does. A pair without events has no test: its p-values are NaN and, as R's
    NA, it does not count in the adjustment. Holm's and Bonferroni's adjustments control the
    chance of any false positive among the pairs; Benjamini–Hochberg controls the expected
    share of false positives among the pairs called different.

    References
    ----------
    Holm S (1979). Scand J Stat 6:65-70. Benjamini Y, Hochberg Y (1995). JRSS B 57:289-300.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5, 6, 7, 8, 9],
    ...                    "event": [1, 1, 0, 1, 1, 0, 1, 1, 1],
    ...                    "tier": list("aaabbbccc")})
    >>> pairwise_logrank(df).summary[["group1", "group2"]].values.tolist()
    [['a', 'b'], ['a', 'c'], ['b', 'c']]
    """
    if adjust not in ADJUSTMENTS:
        raise SurvivalInputError(f"adjust must be one of {ADJUSTMENTS}, not {adjust!r}")
    if group not in df.columns:
        raise SurvivalInputError(f"group column '{group}' is not in the data")
    if cluster is None:  # one warning for all pairs, naming this function
        cluster_codes(df, None, "pairwise_logrank")
        cluster = False
    levels = [lv for lv in level_order(df[group]) if (df[group] == lv).any()]
    if len(levels) < 2:
        raise SurvivalInputError(f"need at least two groups with rows in '{group}', found {levels}")
    kwargs = {"time": time, "event": event, "cause": cause, "rho": rho, "strata": strata,
              "cluster": cluster}
    rows = [(a, b, *_pair(df, group, (a, b), kwargs)) for a, b in combinations(levels, 2)]
    summary = pd.DataFrame(rows, columns=list(PAIR_COLUMNS[:-1]))
    summary["p_adjusted"] = p_adjust(summary["p_value"].to_numpy(), adjust)
    return PairwiseTest(summary, adjust, _name(rho, strata, cluster))


def _name(rho: float, strata: str | None, cluster: str | bool) -> str:
    name = f"log-rank (rho={rho:g})"
    if strata:
        name += f", stratified by {strata}"
    if cluster:
        name += f", robust score test clustered on {cluster}"
    return name
