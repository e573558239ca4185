"""Restricted mean survival time per group and pairwise contrasts (survRM2)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from sclero_analysis.survival.clusters import Cluster, cluster_codes
from sclero_analysis.survival.influence import km_influence
from sclero_analysis.survival.inputs import (
    CAUSE,
    EVENT,
    GROUP,
    TIME,
    SurvivalData,
    SurvivalInputError,
    survival_data,
)
from sclero_analysis.survival.steps import km_steps


@dataclass(frozen=True)
class RMST:
    """Restricted mean survival time up to ``tau``.

    Attributes
    ----------
    tau : float
        Truncation time (the unit of the time column, months in the analysis frames).
    summary : pandas.DataFrame
        Indexed by group: ``rmst, se, lower, upper``.
    differences : pandas.DataFrame
        One row per pair (``group``, ``reference``, every later level against every earlier
        one): ``difference, se, lower, upper, p`` (RMST of group minus reference) and
        ``ratio, ratio_lower, ratio_upper``.
    conf_level : float
        Confidence level of the intervals.
    variance : str
        ``greenwood`` (survRM2's) or ``ij`` (infinitesimal jackknife: with clusters or
        non-integer weights).
    """

    tau: float
    summary: pd.DataFrame
    differences: pd.DataFrame
    conf_level: float
    variance: str = "greenwood"


def rmst_one(time: np.ndarray, is_event: np.ndarray, weight: np.ndarray, tau: float) -> tuple[float, float]:
    """RMST and its variance for one group, as ``survRM2::rmst1``.

    The area under the Kaplan–Meier curve from 0 to tau; variance
    Σ_{t_j ≤ tau} (∫_{t_j}^{tau} S)² d_j / (n_j (n_j − d_j)), a term being 0 when n_j = d_j.
    """
    steps = km_steps(time, is_event, weight)
    keep = steps.time <= tau
    grid = np.concatenate([[0.0], steps.time[keep], [tau]])
    heights = np.concatenate([[1.0], steps.survival[keep]])
    areas = np.diff(grid) * heights
    with np.errstate(divide="ignore", invalid="ignore"):
        n, d = steps.n_risk[keep], steps.n_event[keep]
        terms = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    area_after = np.cumsum(areas[::-1])[::-1][1:]  # ∫ from each t_j to tau
    return float(areas.sum()), float(np.sum(area_after**2 * terms))


def tau_bound(data: SurvivalData, levels: list) -> float:
    """Largest tau the data supports (survRM2's rule, for k groups).

    If a group reaching the overall largest time ends with an event, that time; otherwise the
    smallest of the groups' largest times.
    """
    last = {}
    for level in levels:
        in_group = np.asarray(data.group == level)
        t = data.time[in_group]
        last[level] = (t.max(), bool(data.is_event[in_group][t == t.max()].any()))
    overall = max(t for t, _ in last.values())
    if any(event for t, event in last.values() if t == overall):
        return float(overall)
    return float(min(t for t, _ in last.values()))


def _pair_variances(level, reference, r1: float, r0: float, variances: dict,
                    influence: dict | None) -> tuple[float, float]:
    """Variance of the difference and of the log ratio of two groups' RMSTs.

    With influences (IJ), clusters with rows in both groups make the two estimates
    correlated: the variance is that of the summed influence differences. Otherwise (survRM2)
    the groups are independent.
    """
    if influence is None:
        v1, v0 = variances[level], variances[reference]
        return v1 + v0, v1 / r1**2 + v0 / r0**2
    u1, u0 = influence[level], influence[reference]
    return float(np.sum((u1 - u0) ** 2)), float(np.sum((u1 / r1 - u0 / r0) ** 2))


def _differences(summary: pd.DataFrame, variances: dict, z: float,
                 influence: dict | None = None) -> pd.DataFrame:
    rows = []
    for reference, level in combinations(summary.index, 2):
        r1, r0 = summary.loc[level, "rmst"], summary.loc[reference, "rmst"]
        var, var_log = _pair_variances(level, reference, r1, r0, variances, influence)
        se, se_log = np.sqrt(var), np.sqrt(var_log)
        difference = r1 - r0
        rows.append({
            "group": level, "reference": reference, "difference": difference, "se": se,
            "lower": difference - z * se, "upper": difference + z * se,
            "p": 2 * stats.norm.sf(abs(difference) / se) if se > 0 else np.nan,
            "ratio": r1 / r0, "ratio_lower": r1 / r0 * np.exp(-z * se_log),
            "ratio_upper": r1 / r0 * np.exp(z * se_log),
        })
    return pd.DataFrame(rows, columns=["group", "reference", "difference", "se", "lower", "upper",
                                       "p", "ratio", "ratio_lower", "ratio_upper"])


def rmst(
    df: pd.DataFrame,
    tau: float,
    time: str = TIME,
    event: str = EVENT,
    group: str | None = GROUP,
    cause: int = CAUSE,
    weights: str | None = None,
    conf_level: float = 0.95,
    cluster: Cluster = None,
) -> RMST:
    """Restricted mean survival time up to ``tau`` per group, with pairwise differences.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject, e.g. :func:`sclero_analysis.relapse_frame`.
    tau : float
        Truncation time, in the unit of ``time`` (months in the analysis frames).
    time, event, group, cause : str, str, str or None, int
        Columns and event code of interest; other non-zero codes count as censored.
    weights : str, optional
        Case weights (weighted Kaplan–Meier). Integer (frequency) weights keep the
        Greenwood-type variance; non-integer weights (IPTW) use the infinitesimal-jackknife
        variance, as :func:`kaplan_meier` does.
    conf_level : float
        Confidence level (default 0.95).
    cluster : str, False or None
        Column whose rows belong together (``patient_id``): infinitesimal-jackknife variance
        with each cluster's influence summed, and differences that account for patients with
        lines in both groups. ``False``: rows independent. ``None`` (default): independent,
        with a warning when the frame's identifier column (``df.attrs["cluster"]``) repeats.

    Returns
    -------
    RMST
        ``.summary`` indexed by group (``rmst, se, lower, upper``) and ``.differences`` (every
        pair, later level minus earlier level, with Wald CI and p, and the RMST ratio).

    Raises
    ------
    SurvivalInputError
        tau ≤ 0, or beyond what the data supports: the largest time of a group that reaches
        the overall largest time with an event, otherwise the smallest group's largest time
        (survRM2's rule).

    Warns
    -----
    RepeatedIdsWarning
        ``cluster`` not given while the frame's identifier column repeats.

    Notes
    -----
    RMST = ∫₀^τ Ŝ(t) dt with variance Σ_{t_j≤τ} (∫_{t_j}^τ Ŝ)² d_j/(n_j(n_j−d_j)). Differences
    use SE √(V₁+V₀); ratios use the delta method on the log scale. With clusters or
    non-integer weights the variance is the infinitesimal jackknife Σ_c (∫₀^τ U_c)², U_c a
    cluster's influence on Ŝ (R's ``resid(survfit(...), times = tau, type = "rmst")``
    summed by cluster), and a difference's variance is Σ_c (∫U_c,1 − ∫U_c,0)².

    References
    ----------
    Uno H, et al. (2014). J Clin Oncol 32:2380-2385. Royston P, Parmar MKB (2013). BMC Med Res
    Methodol 13:152.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time_months": [1, 2, 2, 3, 4], "event": [1, 1, 1, 0, 1]})
    >>> round(float(rmst(df, tau=4, group=None).summary.loc["all", "rmst"]), 6)
    2.6
    """
    codes = cluster_codes(df, cluster, "rmst")
    data = survival_data(df, time=time, event=event, group=group, cause=cause, weights=weights,
                         cluster=codes)
    use_ij = codes is not None or not data.integer_weights
    if use_ij and codes is None:  # each row its own cluster, numbered across groups
        data = replace(data, cluster=np.arange(len(data.time)))
    levels = [lv for lv in data.group.categories if (data.group == lv).any()]
    bound = tau_bound(data, levels)
    if not 0 < tau <= bound:
        raise SurvivalInputError(
            f"tau = {tau} is outside (0, {bound:g}]: beyond {bound:g} the Kaplan–Meier curve of at "
            "least one group is undefined (its follow-up ends censored); choose a smaller tau"
        )
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    estimates, variances, influence = {}, {}, {} if use_ij else None
    for level in levels:
        part = data.subset(np.asarray(data.group == level))
        estimates[level], variances[level] = rmst_one(part.time, part.is_event, part.weight, tau)
        if influence is not None:
            influence[level] = _rmst_influence(part, tau, int(data.cluster.max()) + 1)
            variances[level] = float(np.sum(influence[level] ** 2))
    se = {level: np.sqrt(v) for level, v in variances.items()}
    summary = pd.DataFrame({
        "rmst": estimates, "se": se,
        "lower": {lv: estimates[lv] - z * se[lv] for lv in levels},
        "upper": {lv: estimates[lv] + z * se[lv] for lv in levels},
    })
    summary.index.name = "group"
    return RMST(tau, summary, _differences(summary, variances, z, influence), conf_level,
                "ij" if use_ij else "greenwood")


def _rmst_influence(part: SurvivalData, tau: float, size: int) -> np.ndarray:
    """Each cluster's influence on one group's RMST (zero for clusters without rows in it)."""
    area = km_influence(part, km_steps(part.time, part.is_event, part.weight), tau)[1]
    return np.pad(area, (0, size - len(area)))
