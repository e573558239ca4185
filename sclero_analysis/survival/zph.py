"""Proportional-hazards test of R survival ≥ 3.0's ``cox.zph``.

The score test for adding x·g(t) to the fitted model, evaluated at (β̂, γ = 0), per term (a
categorical's columns together) and globally.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from sclero_analysis.survival.coxcore import CoxData

Transform = Literal["km", "identity", "rank", "log"]


def _left_km_failure(data: CoxData) -> np.ndarray:
    """1 − S(t−) at every row's stop time; KM of all rows, ignoring strata and weights."""
    event_times = np.unique(data.stop[data.event])
    at_risk = np.array([np.sum((data.start < t) & (data.stop >= t)) for t in event_times], float)
    deaths = np.array([np.sum(data.event & (data.stop == t)) for t in event_times], float)
    survival = np.concatenate([[1.0], np.cumprod(1 - deaths / at_risk)])
    before = np.searchsorted(event_times, data.stop, side="left")  # event times strictly earlier
    return 1.0 - survival[before]


def time_transform(data: CoxData, transform: Transform) -> np.ndarray:
    """g(t) at each row's stop time, centred on the mean over event rows."""
    if transform == "km":
        g = _left_km_failure(data)
    elif transform == "rank":
        g = stats.rankdata(data.stop)
    elif transform == "identity":
        g = data.stop.copy()
    elif transform == "log":
        g = np.log(data.stop)
    else:
        raise ValueError(f"transform must be 'km', 'rank', 'identity' or 'log', not {transform!r}")
    return g - g[data.event].mean()


def ph_test(result, transform: Transform = "km") -> pd.DataFrame:
    """Score tests of proportional hazards for a fitted Cox model (see ``CoxResult.ph_test``).

    Returns
    -------
    pandas.DataFrame
        Indexed by term, then ``GLOBAL``: ``chisq, df, p``.
    """
    data, ev = result._data, result._evaluation
    p = data.x.shape[1]
    g_rows = time_transform(data, transform)
    g = np.zeros(len(data.times))
    g[data.death_index[data.event]] = g_rows[data.event]
    u = np.concatenate([np.zeros(p), g @ ev.score_by_time])
    info_t = ev.information_by_time
    i11 = info_t.sum(axis=0)
    i12 = np.einsum("j,jab->ab", g, info_t)
    i22 = np.einsum("j,jab->ab", g**2, info_t)
    information = np.block([[i11, i12], [i12, i22]])
    rows = {}
    for term, columns in result.design.terms.items():
        keep = list(range(p)) + [p + c for c in columns]
        sub_u, sub_i = u[keep], information[np.ix_(keep, keep)]
        rows[term] = (float(sub_u @ np.linalg.solve(sub_i, sub_u)), len(columns))
    rows["GLOBAL"] = (float(u @ np.linalg.solve(information, u)), p)
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["chisq", "df"])
    frame["p"] = stats.chi2.sf(frame["chisq"], frame["df"])
    frame.index.name = "term"
    return frame
