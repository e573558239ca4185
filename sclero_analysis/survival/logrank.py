"""The log-rank / Fleming–Harrington G-rho family, stratified, and the test for trend.

Reproduces R's ``survdiff`` (METHODS §2); the trend test is the score test of a Cox model
with the group scores as one numeric covariate and Breslow ties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import linalg, stats

from sclero_analysis.survival.inputs import (
    CAUSE,
    EVENT,
    GROUP,
    TIME,
    SurvivalData,
    SurvivalInputError,
    strata_codes,
    survival_data,
)
from sclero_analysis.survival.results import HypothesisTest


def _stratum_sums(data: SurvivalData, levels: list, rho: float) -> tuple[np.ndarray, ...]:
    """Observed, expected and variance matrix of one stratum (weighted by S(t-)^rho)."""
    k = len(levels)
    observed, expected, variance = np.zeros(k), np.zeros(k), np.zeros((k, k))
    event_times = np.unique(data.time[data.is_event])
    if len(event_times) == 0:
        return observed, expected, variance
    in_group = np.array([np.asarray(data.group == level) for level in levels])
    n_g = np.array([[(data.time[g] >= t).sum() for t in event_times] for g in in_group], float)
    d_g = np.array([[(data.is_event[g] & (data.time[g] == t)).sum() for t in event_times]
                    for g in in_group], float)
    n, d = n_g.sum(axis=0), d_g.sum(axis=0)
    survival_before = np.concatenate([[1.0], np.cumprod(1 - d / n)[:-1]])
    w = survival_before**rho
    observed = (w * d_g).sum(axis=1)
    expected = (w * d * n_g / n).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, w**2 * d * (n - d) / (n - 1), 0.0)
    share = n_g / n
    variance = np.diag(share @ factor) - (share * factor) @ share.T
    return observed, expected, variance


def _pooled(data: SurvivalData, strata: np.ndarray | None, levels: list, rho: float):
    keys = [None] if strata is None else list(pd.unique(strata))
    sums = [np.zeros(len(levels)), np.zeros(len(levels)), np.zeros((len(levels),) * 2)]
    for key in keys:
        part = data if key is None else data.subset(strata == key)
        for total, piece in zip(sums, _stratum_sums(part, levels, rho), strict=True):
            total += piece
    return sums


def _chi_square(observed, expected, variance) -> tuple[float, int]:
    """R's rule: drop groups with E = 0, then the first remaining group; solve."""
    keep = np.flatnonzero(expected > 0)
    if len(keep) < 2:
        return 0.0, 0
    use = keep[1:]
    diff = (observed - expected)[use]
    statistic = float(diff @ linalg.solve(variance[np.ix_(use, use)], diff, assume_a="sym"))
    return statistic, len(keep) - 1


def logrank(
    df: pd.DataFrame,
    time: str = TIME,
    event: str = EVENT,
    group: str = GROUP,
    cause: int = CAUSE,
    strata: str | None = None,
    trend: bool | Mapping | Sequence[float] = False,
    rho: float = 0.0,
) -> HypothesisTest:
    """Compare survival between groups: log-rank, Peto-Peto (``rho=1``), stratified, trend.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject, e.g. :func:`sclero_analysis.relapse_frame`.
    time, event, group, cause : str, str, str, int
        Columns and the event code of interest; other non-zero codes count as censored.
    strata : str, optional
        Column to stratify on: observed, expected and variance are summed over strata.
    trend : bool, mapping or sequence
        False: the k-group test (k − 1 df). True: test for trend across the group levels in
        order with scores 1, 2, …, k (1 df). A mapping level → score or a sequence of scores
        (one per level) sets the scores.
    rho : float
        Weight S(t−)^rho from the pooled Kaplan–Meier of each stratum: 0 log-rank,
        1 Peto-Peto (Fleming–Harrington G-rho).

    Returns
    -------
    HypothesisTest
        ``statistic, dof, p_value`` and ``table`` indexed by group with ``n, observed,
        expected`` (weighted when rho ≠ 0, as R's survdiff).

    Raises
    ------
    SurvivalInputError
        Fewer than two groups with rows, or no events at all.

    Notes
    -----
    At each event time with d deaths among n at risk (n_g in group g), O_g += w·d_g,
    E_g += w·d·n_g/n, V_gh += w²·d(n−d)/(n−1)·(n_g/n)(δ_gh − n_h/n). Groups with E = 0 and
    then the first group are dropped before χ² = (O−E)ᵀV⁻¹(O−E). The trend statistic is
    (cᵀ(O−E))²/(cᵀVc).

    References
    ----------
    Mantel N (1966). Cancer Chemother Rep 50:163-170. Harrington DP, Fleming TR (1982).
    Biometrika 69:553-566.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5, 6], "event": [1, 1, 0, 1, 1, 0],
    ...                    "tier": ["a", "a", "a", "b", "b", "b"]})
    >>> round(logrank(df).statistic, 6)  # R: survdiff(...)$chisq = 2.469388
    2.469388
    """
    data = survival_data(df, time=time, event=event, group=group, cause=cause)
    levels = [lv for lv in data.group.categories if (data.group == lv).any()]
    if len(levels) < 2:
        raise SurvivalInputError(f"need at least two groups with rows in '{group}', found {levels}")
    if not data.is_event.any():
        raise SurvivalInputError(f"no events with code {cause} in '{event}': nothing to compare")
    stratum = strata_codes(df, strata)
    observed, expected, variance = _pooled(data, stratum, levels, rho)
    table = pd.DataFrame({"n": [int((data.group == lv).sum()) for lv in levels],
                          "observed": observed, "expected": expected}, index=pd.Index(levels, name="group"))
    if trend is False:
        statistic, dof = _chi_square(observed, expected, variance)
        name = f"log-rank (rho={rho:g})" + (f", stratified by {strata}" if strata else "")
    else:
        scores = _scores(trend, levels)
        table["score"] = scores
        statistic = float((scores @ (observed - expected)) ** 2 / (scores @ variance @ scores))
        dof, name = 1, f"log-rank test for trend (rho={rho:g})"
    p_value = float(stats.chi2.sf(statistic, dof)) if dof > 0 else np.nan
    return HypothesisTest(name, statistic, dof, p_value, table)


def _scores(trend: bool | Mapping | Sequence[float], levels: list) -> np.ndarray:
    if trend is True:
        return np.arange(1, len(levels) + 1, dtype=float)
    if isinstance(trend, Mapping):
        missing = [lv for lv in levels if lv not in trend]
        if missing:
            raise SurvivalInputError(f"trend scores are missing for groups {missing}")
        return np.array([float(trend[lv]) for lv in levels])
    scores = np.asarray(trend, dtype=float)
    if scores.shape != (len(levels),):
        raise SurvivalInputError(f"give one trend score per group ({len(levels)}), not {len(scores)}")
    return scores
