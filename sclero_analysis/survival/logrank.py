"""The log-rank / Fleming–Harrington G-rho family, stratified, and the test for trend.

Reproduces R's ``survdiff``; the trend test is the score test of a Cox model
with the group scores as one numeric covariate and Breslow ties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import linalg, stats

from sclero_analysis.survival.clusters import Cluster, cluster_codes
from sclero_analysis.survival.coxcore import cox_data
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
from sclero_analysis.survival.robust import robust_score


def _stratum_sums(data: SurvivalData, levels: list, rho: float) -> tuple[np.ndarray, ...]:
    """Observed, expected and variance matrix of one stratum (weighted by S(t-)^rho).

    Counts are case-weighted (all ones without weights, as survdiff).
    """
    k = len(levels)
    observed, expected, variance = np.zeros(k), np.zeros(k), np.zeros((k, k))
    event_times = np.unique(data.time[data.is_event])
    if len(event_times) == 0:
        return observed, expected, variance
    in_group = np.array([np.asarray(data.group == level) for level in levels])
    w = data.weight
    n_g = np.array([[w[g][data.time[g] >= t].sum() for t in event_times] for g in in_group])
    d_g = np.array([[w[g][data.is_event[g] & (data.time[g] == t)].sum() for t in event_times]
                    for g in in_group])
    n, d = n_g.sum(axis=0), d_g.sum(axis=0)
    survival_before = np.concatenate([[1.0], np.cumprod(1 - d / n)[:-1]])
    rho_w = survival_before**rho
    observed = (rho_w * d_g).sum(axis=1)
    expected = (rho_w * d * n_g / n).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, rho_w**2 * d * (n - d) / (n - 1), 0.0)
    share = n_g / n
    variance = np.diag(share @ factor) - (share * factor) @ share.T
    return observed, expected, variance


def _pooled(data: SurvivalData, strata: np.ndarray | None, levels: list, rho: float):
    keys = [None] if strata is None else list(np.unique(strata))
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
    cluster: Cluster = None,
    weights: str | None = None,
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
        False: the k-group test (k − 1 df). True: test for trend across the levels of an
        *ordered* categorical, scored 1, 2, …, k (1 df); unordered levels are refused. A
        mapping level → score, or a sequence of scores (one per level in the group's order),
        sets the scores.
    rho : float
        Weight S(t−)^rho from the pooled Kaplan–Meier of each stratum: 0 log-rank,
        1 Peto-Peto (Fleming–Harrington G-rho).
    cluster : str, False or None
        Column whose rows belong together (``patient_id``): the test becomes the robust score
        test of the Cox model on the group (R's ``coxph(..., cluster = patient_id)``,
        ``summary(fit)$robscore``; Efron ties), which allows for correlated rows. ``False``:
        rows independent. ``None`` (default): independent, with a warning when the frame's
        identifier column (``df.attrs["cluster"]``) repeats.
    weights : str, optional
        Case weights: the robust score test of the weighted Cox model (each row its own
        cluster unless ``cluster`` is given).

    Returns
    -------
    HypothesisTest
        ``statistic, dof, p_value`` and ``table`` indexed by group with ``n, observed,
        expected`` (weighted when rho ≠ 0 or with case weights, as R's survdiff).

    Raises
    ------
    SurvivalInputError
        Fewer than two groups with rows, no events at all, ``trend=True`` on unordered
        levels, or ``rho`` ≠ 0 with a cluster or weights.

    Warns
    -----
    RepeatedIdsWarning
        ``cluster`` not given while the frame's identifier column repeats.

    Notes
    -----
    At each event time with d deaths among n at risk (n_g in group g), O_g += w·d_g,
    E_g += w·d·n_g/n, V_gh += w²·d(n−d)/(n−1)·(n_g/n)(δ_gh − n_h/n). Groups with E = 0 and
    then the first group are dropped before χ² = (O−E)ᵀV⁻¹(O−E). The trend statistic is
    (cᵀ(O−E))²/(cᵀVc). With clusters or weights, χ² = UᵀB⁻¹U, U = Σ_c u_c the Cox score at
    β = 0 summed from the clusters' score residuals u_c, B = Σ_c u_c u_cᵀ.

    References
    ----------
    Mantel N (1966). Cancer Chemother Rep 50:163-170. Harrington DP, Fleming TR (1982).
    Biometrika 69:553-566. Lin DY, Wei LJ (1989). JASA 84:1074-1078.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5, 6], "event": [1, 1, 0, 1, 1, 0],
    ...                    "tier": ["a", "a", "a", "b", "b", "b"]})
    >>> round(logrank(df).statistic, 6)  # R: survdiff(...)$chisq = 2.469388
    2.469388
    """
    codes = cluster_codes(df, cluster, "logrank")
    data = survival_data(df, time=time, event=event, group=group, cause=cause, weights=weights,
                         cluster=codes)
    levels = [lv for lv in data.group.categories if (data.group == lv).any()]
    if len(levels) < 2:
        raise SurvivalInputError(f"need at least two groups with rows in '{group}', found {levels}")
    if not data.is_event.any():
        raise SurvivalInputError(f"no events with code {cause} in '{event}': nothing to compare")
    robust = codes is not None or weights is not None
    if robust and rho != 0:
        raise SurvivalInputError("the clustered (robust score) test is a log-rank test (rho = 0); "
                                 "no clustered or weighted form of rho ≠ 0 is available")
    stratum = strata_codes(df, strata)
    observed, expected, variance = _pooled(data, stratum, levels, rho)
    table = pd.DataFrame({"n": [int((data.group == lv).sum()) for lv in levels],
                          "observed": observed, "expected": expected}, index=pd.Index(levels, name="group"))
    scores = None if trend is False else _scores(trend, levels, data.group.ordered, group)
    if scores is not None:
        table["score"] = scores
    if robust:
        statistic, dof = _robust(data, levels, scores, stratum)
    elif scores is None:
        statistic, dof = _chi_square(observed, expected, variance)
    else:
        statistic, dof = float((scores @ (observed - expected)) ** 2 / (scores @ variance @ scores)), 1
    p_value = float(stats.chi2.sf(statistic, dof)) if dof > 0 else np.nan
    return HypothesisTest(_name(rho, strata, scores is not None, cluster if codes is not None else None,
                                weights), statistic, dof, p_value, table)


def _name(rho: float, strata: str | None, trend: bool, cluster: str | None, weights: str | None) -> str:
    name = ("log-rank test for trend" if trend else "log-rank") + f" (rho={rho:g})"
    if strata:
        name += f", stratified by {strata}"
    if cluster or weights:
        name += ", robust score test" + (f" clustered on {cluster}" if cluster else "")
    return name


def _robust(data: SurvivalData, levels: list, scores: np.ndarray | None,
            stratum: np.ndarray | None) -> tuple[float, int]:
    """Robust score test of the Cox model on the group (dummies, or one column of scores)."""
    code = pd.Categorical(data.group, categories=levels).codes
    if scores is None:
        x = (code[:, None] == np.arange(1, len(levels))[None, :]).astype(float)
    else:
        x = scores[code][:, None]
    cox = cox_data(x, data.weight, data.time, data.is_event, stratum)
    return robust_score(cox, "efron", data.cluster)


def _scores(trend: bool | Mapping | Sequence[float], levels: list, ordered: bool,
            group: str) -> np.ndarray:
    if trend is True:
        if not ordered:
            raise SurvivalInputError(
                f"trend=True needs ordered levels, but '{group}' has unordered levels {levels}: "
                "pass the scores (trend={level: score, ...}, leaving out rows of levels without "
                "a place in the order) or make the column an ordered categorical")
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
