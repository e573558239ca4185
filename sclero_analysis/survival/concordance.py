"""Harrell's concordance of a Cox model, as R's ``coxph`` reports it."""

from __future__ import annotations

import numpy as np

from sclero_analysis.survival.coxcore import CoxData


def concordance(data: CoxData, risk_score: np.ndarray) -> float:
    """Weighted Harrell's C: for each event, the rows still at risk (same stratum) compare.

    A pair is comparable when one row has the event and the other is at risk at that time
    and does not have an event then (a censoring at the event time counts as longer). The
    higher risk score should have the shorter time. C = (concordant + tied/2) /
    (concordant + discordant + tied), ties in the risk score only; pairs tied on time are
    excluded. Each pair weighs w_i · w_j.

    Examples
    --------
    >>> from sclero_analysis.survival.coxcore import cox_data
    >>> d = cox_data(np.zeros((3, 1)), np.ones(3), np.array([1.0, 2, 3]), np.array([True, True, False]))
    >>> concordance(d, np.array([3.0, 2.0, 1.0]))
    1.0
    """
    concordant = discordant = tied = 0.0
    w = data.weight
    for j in range(len(data.times)):
        at_risk = (data.first <= j) & (data.last > j)
        dying = data.event & (data.death_index == j)
        others = at_risk & ~dying
        if not others.any():
            continue
        other_scores, other_w = risk_score[others], w[others]
        order = np.argsort(other_scores)
        sorted_scores, cum_w = other_scores[order], np.concatenate([[0.0], np.cumsum(other_w[order])])
        for i in np.flatnonzero(dying):
            below = np.searchsorted(sorted_scores, risk_score[i], side="left")
            above = np.searchsorted(sorted_scores, risk_score[i], side="right")
            concordant += w[i] * cum_w[below]
            tied += w[i] * (cum_w[above] - cum_w[below])
            discordant += w[i] * (cum_w[-1] - cum_w[above])
    total = concordant + discordant + tied
    return float((concordant + tied / 2) / total) if total > 0 else float("nan")
