"""Gray's test one distinct time at a time: a line-by-line transcript of cmprsk's ``crstm`` loop.

The package's ``_gray_stratum`` computes the same score and variance with cumulative sums over
all event times at once; this slow loop (the package's implementation until it was vectorised)
is the reference its tests compare with on ties, strata and groups without events.
"""

from __future__ import annotations

import numpy as np


def gray_stratum_loop(time, code, group, ng, rho):
    """Score and variance of Gray's test in one stratum (cmprsk ``crst``)."""
    at_risk = np.bincount(group, minlength=ng).astype(float)
    f1_before, s_before = np.zeros(ng), np.ones(ng)
    f_before = 0.0
    score, v = np.zeros(ng - 1), np.zeros((ng - 1, ng - 1))
    c, v2, v3 = np.zeros((ng, ng)), np.zeros((ng - 1, ng)), np.zeros(ng)
    for t in np.unique(time):
        here = time == t
        d = np.array([np.bincount(group[here & (code == k)], minlength=ng) for k in (0, 1, 2)], float)
        nd1, nd2 = d[1].sum(), d[2].sum()
        if nd1 + nd2 > 0:
            live = at_risk > 0
            s_now, f1_now = s_before.copy(), f1_before.copy()
            s_now[live] = s_before[live] * (at_risk[live] - d[1, live] - d[2, live]) / at_risk[live]
            f1_now[live] = f1_before[live] + s_before[live] * d[1, live] / at_risk[live]
            weight_n = np.where(live, at_risk / s_before, 0.0)
            tr = weight_n.sum()
            tq = np.sum(np.where(live, at_risk * (1 - f1_before) / s_before, 0.0))
            f = f_before + nd1 / tr
            fb = (1 - f_before) ** rho
            a = fb * (np.diag(weight_n) - np.outer(weight_n, weight_n) / tr)
            a[~live, :], a[:, ~live] = 0.0, 0.0
            c += a * nd1 / (tr * (1 - f_before))
            score += np.where(live, fb * (d[1] - nd1 * at_risk * (1 - f1_before) / (s_before * tq)), 0.0)[:-1]
            if nd1 > 0:
                for k in np.flatnonzero(live):
                    t4 = 1 - (1 - f) / s_now[k] if s_now[k] > 0 else 1.0
                    t5 = 1 - (nd1 - 1) / (tr * s_before[k] - 1) if nd1 > 1 else 1.0
                    t3 = t5 * s_before[k] * nd1 / (tr * at_risk[k])
                    t1 = a[:-1, k] - t4 * c[:-1, k]
                    v3[k] += t4 * t4 * t3
                    v2[:, k] += t1 * t4 * t3
                    v += np.outer(t1, t1) * t3
            for k in np.flatnonzero((s_now > 0) & (d[2] > 0) & live):
                t4 = (1 - f) / s_now[k]
                t5 = 1 - (d[2, k] - 1) / (at_risk[k] - 1) if d[2, k] > 1 else 1.0
                t3 = t5 * s_before[k] ** 2 * d[2, k] / at_risk[k] ** 2
                t1 = t4 * c[:-1, k]
                v3[k] += t4 * t4 * t3
                v2[:, k] -= t1 * t4 * t3
                v += np.outer(t1, t1) * t3
            f_before, f1_before, s_before = f, f1_now, s_now
        at_risk -= np.bincount(group[here], minlength=ng)
    cc = c[:-1]
    v += (cc * v3) @ cc.T + cc @ v2.T + v2 @ cc.T
    return score, v
