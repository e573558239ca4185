"""Gray's K-sample test for cumulative incidence curves, as ``cmprsk::cuminc``'s ``$Tests``.

cmprsk (``crstm``) loops over the distinct times; here every quantity is a cumulative sum or
product over the event times, and the variance terms matrix products over (time, group), so
the test costs a sort and a few passes over the event times and groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from sclero_analysis.survival.inputs import SurvivalData, SurvivalInputError
from sclero_analysis.survival.results import HypothesisTest


@dataclass(frozen=True)
class _GrayTimes:
    """Per distinct event time (rows) and group (columns) of one stratum, as cmprsk's ``crstm``.

    ``n``: at risk; ``d1``, ``d2``: events of the cause and competing; ``s_before``, ``s_now``:
    all-cause Kaplan–Meier just before and at the time; ``f1_before``: the group's cumulative
    incidence just before; ``w``: n / S(t−) (0 for a group with no one at risk); ``f``: the
    pooled F(t) of the test's weights, ``f_before`` its value just before.
    """

    n: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    live: np.ndarray
    s_before: np.ndarray
    s_now: np.ndarray
    f1_before: np.ndarray
    w: np.ndarray
    tr: np.ndarray
    nd1: np.ndarray
    f: np.ndarray
    f_before: np.ndarray


def _shifted(values: np.ndarray, first: float) -> np.ndarray:
    """Each row's value just before: ``first``, then ``values`` without its last row."""
    return np.concatenate([np.full((1,) + values.shape[1:], first), values[:-1]])


def _gray_times(time: np.ndarray, code: np.ndarray, group: np.ndarray, ng: int,
                ranks: tuple[np.ndarray, np.ndarray] | None = None) -> _GrayTimes:
    times, inverse = np.unique(time, return_inverse=True) if ranks is None else ranks
    cells = inverse * ng + group
    size = len(times) * ng
    rows = np.bincount(cells, minlength=size).reshape(-1, ng)
    d1 = np.bincount(cells[code == 1], minlength=size).reshape(-1, ng).astype(float)
    d2 = np.bincount(cells[code == 2], minlength=size).reshape(-1, ng).astype(float)
    n = np.cumsum(rows[::-1], axis=0)[::-1].astype(float)  # rows with time >= t
    keep = (d1 + d2).sum(axis=1) > 0  # times with censorings only change n
    n, d1, d2 = n[keep], d1[keep], d2[keep]
    live = n > 0
    s_now = np.cumprod(np.where(live, (n - d1 - d2) / n, 1.0), axis=0)
    s_before = _shifted(s_now, 1.0)
    f1_before = _shifted(np.cumsum(np.where(live, s_before * d1 / n, 0.0), axis=0), 0.0)
    w = np.where(live, n / s_before, 0.0)
    tr = w.sum(axis=1)
    nd1 = d1.sum(axis=1)
    f = np.cumsum(nd1 / tr)
    return _GrayTimes(n, d1, d2, live, s_before, s_now, f1_before, w, tr, nd1, f,
                      _shifted(f, 0.0))


def _gray_variance_parts(g: _GrayTimes, a: np.ndarray, c: np.ndarray):
    """Per time and group k: t1 (J, ng, ng−1) and t3, t4 (J, ng) of the cause and competing terms.

    cmprsk's t1 for group k is column k of a and c without the last row; a and c are symmetric
    (exactly: w_k·w_l = w_l·w_k), so it is row k without the last column, contiguous here.
    """
    nd1, tr, f = g.nd1[:, None], g.tr[:, None], g.f[:, None]
    own = (nd1 > 0) & g.live
    t4 = np.where(own, np.where(g.s_now > 0, 1 - (1 - f) / g.s_now, 1.0), 0.0)
    t5 = np.where(nd1 > 1, 1 - (nd1 - 1) / (tr * g.s_before - 1), 1.0)
    t3 = np.where(own, t5 * g.s_before * nd1 / (tr * g.n), 0.0)
    t1 = a[:, :, :-1] - t4[:, :, None] * c[:, :, :-1]
    competing = (g.s_now > 0) & (g.d2 > 0) & g.live
    u4 = np.where(competing, (1 - f) / g.s_now, 0.0)
    u5 = np.where(g.d2 > 1, 1 - (g.d2 - 1) / (g.n - 1), 1.0)
    u3 = np.where(competing, u5 * g.s_before**2 * g.d2 / g.n**2, 0.0)
    u1 = u4[:, :, None] * c[:, :, :-1]
    return (t1, t3, t4), (u1, u3, -u4)


def _gray_stratum(time, code, group, ng, rho, ranks=None):
    """Score and variance of Gray's test in one stratum (cmprsk ``crstm``), over all times at once.

    cmprsk loops over the distinct times; every quantity here is a cumulative sum or product
    over the event times instead (censoring-only times just lower the numbers at risk).
    ``ranks``: distinct times (of these rows or more) and each row's index among them, when
    known.
    """
    g = _gray_times(time, code, group, ng, ranks)
    fb = (1 - g.f_before) ** rho
    a = -(g.w[:, :, None] * g.w[:, None, :]) / g.tr[:, None, None]
    diagonal = np.arange(ng)
    a[:, diagonal, diagonal] += g.w
    if rho != 0:  # else fb = 1
        a *= fb[:, None, None]
    c = np.cumsum(a * (g.nd1 / (g.tr * (1 - g.f_before)))[:, None, None], axis=0)
    tq = np.where(g.live, g.n * (1 - g.f1_before) / g.s_before, 0.0).sum(axis=1)
    expected = g.nd1[:, None] * g.n * (1 - g.f1_before) / (g.s_before * tq[:, None])
    score = np.cumsum(np.where(g.live, fb[:, None] * (g.d1 - expected), 0.0), axis=0)[-1, :-1]
    v = np.zeros((ng - 1, ng - 1))
    v2, v3 = np.zeros((ng - 1, ng)), np.zeros(ng)
    for t1, t3, t4 in _gray_variance_parts(g, a, c):
        rows = t1.reshape(-1, ng - 1)
        v += (rows * t3.reshape(-1, 1)).T @ rows
        v2 += (t1 * (t4 * t3)[:, :, None]).sum(axis=0).T
        v3 += np.sum(t4 * t4 * t3, axis=0)
    cc = c[-1, :-1]
    v += (cc * v3) @ cc.T + cc @ v2.T + v2 @ cc.T
    return score, v


def gray_statistic(data: SurvivalData, rho: float, strata: np.ndarray | None) -> HypothesisTest:
    """Gray's test on checked data (the groups with rows compared).

    ``strata``: a label per row (scores and variances summed over strata), None for one.
    """
    present = np.bincount(data.group.codes, minlength=len(data.group.categories)) > 0
    levels = data.group.categories[present]
    if len(levels) < 2:
        raise SurvivalInputError("Gray's test needs at least two groups with rows")
    is_event = data.is_event
    if not is_event.any():  # the score and its variance are all zero: nothing to test
        raise SurvivalInputError(f"no events with code {data.cause}: nothing to compare")
    group = (np.cumsum(present) - 1)[data.group.codes]  # codes among the levels with rows
    code = np.where(is_event, 1, np.where(data.status != 0, 2, 0))
    ng = len(levels)
    score, v = np.zeros(ng - 1), np.zeros((ng - 1, ng - 1))
    keys = None if strata is None else pd.factorize(np.asarray(strata))[0]
    for rows in [slice(None)] if keys is None else [keys == key for key in np.unique(keys)]:
        with np.errstate(divide="ignore", invalid="ignore"):  # exhausted groups are masked out
            part_score, part_v = _gray_stratum(data.time[rows], code[rows], group[rows], ng, rho,
                                               (data.ranks[0], data.ranks[1][rows]))
        score, v = score + part_score, v + part_v
    statistic = float(score @ np.linalg.solve(v, score))
    table = pd.DataFrame({"score": np.append(score, np.nan)}, index=levels.rename("group"), copy=False)
    return HypothesisTest(f"Gray's test (cause {data.cause}, rho={rho:g})", statistic, ng - 1,
                          float(special.chdtrc(ng - 1, statistic)), table)  # stats.chi2.sf
