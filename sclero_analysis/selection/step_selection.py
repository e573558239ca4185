"""``sa.step_selection``: series selected on significance, corrected by a step-function model."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from sclero_analysis.evidence.result import PooledProportions
from sclero_analysis.exceptions import SmallSampleWarning
from sclero_analysis.selection.step_result import StepSelection
from sclero_analysis.selection.stepfun import DELTA_MAX, StepData, hessian, maximise, step_data

#: tau^2 at or below this is on its boundary: its row of the Hessian is left out.
TAU2_ZERO = 1e-10


def _effects(pooled: PooledProportions) -> pd.DataFrame:
    """Logit proportions and their variances per source (1/2 added to 0 and n, as escalc PLO)."""
    studies = pooled.studies
    x, n = studies["events"].to_numpy(float), studies["n"].to_numpy(float)
    add = np.where((x == 0) | (x == n), 0.5, 0.0)
    yi = np.log((x + add) / (n - x + add))
    vi = 1 / (x + add) + 1 / (n - x + add)
    return studies[[*pooled.by, "study"]].assign(yi=yi, vi=vi)


def _unadjusted(data: StepData) -> dict:
    theta, ll = maximise(data, _start(data), free_delta=False)
    se = float(np.sqrt(1 / np.sum(1 / (data.vi + theta[1]))))
    return {"estimate_unadjusted": theta[0], "se_unadjusted": se, "tau2_unadjusted": theta[1],
            "loglik_unadjusted": ll}


def _start(data: StepData) -> np.ndarray:
    w = 1 / data.vi
    return np.array([np.sum(w * data.yi) / w.sum(), max(np.var(data.yi) - np.mean(data.vi), 0.01)])


def _covariance(theta: np.ndarray, data: StepData) -> np.ndarray:
    """Inverse Hessian; parameters on a bound (tau^2 = 0, delta at 0 or 100) are left out (NaN)."""
    free = np.ones(len(theta), bool)
    free[1] = theta[1] > TAU2_ZERO
    free[2:] = (theta[2:] > 1e-8) & (theta[2:] < DELTA_MAX - 1e-6)
    cov = np.full((len(theta), len(theta)), np.nan)
    h = hessian(theta, data)[np.ix_(free, free)]
    try:
        cov[np.ix_(free, free)] = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        pass
    return cov


def _labels(steps: np.ndarray) -> list[str]:
    left = np.concatenate([[0.0], steps[:-1]])
    return [f"{a:g} < p <= {b:g}" for a, b in zip(left, steps, strict=True)]


def _fit(data: StepData, where: str, level: float, caveats: list[str]) -> tuple[dict, pd.DataFrame]:
    empty = [label for label, k in zip(_labels(data.steps), data.k_per_interval, strict=True) if k == 0]
    if empty:
        raise ValueError(f"step_selection, {where}: no effect has a p-value in {', '.join(empty)}; "
                         "choose steps with at least one effect in every interval")
    base = _unadjusted(data)
    theta, ll = maximise(data, np.array([base["estimate_unadjusted"], base["tau2_unadjusted"]]))
    cov = _covariance(theta, data)
    se = np.sqrt(np.diag(cov))
    crit = stats.norm.isf((1 - level) / 2)
    lrt = max(0.0, 2 * (ll - base["loglik_unadjusted"]))
    df = len(data.steps) - 1
    if theta[1] <= TAU2_ZERO:
        caveats.append(f"{where}: tau^2 is estimated at 0 (its bound); SEs come from the other "
                       "parameters' Hessian and se_tau2 is NaN")
    at_bound = (theta[2:] <= 1e-8) | (theta[2:] >= DELTA_MAX - 1e-6)
    if at_bound.any():
        caveats.append(f"{where}: a selection weight delta is at its bound (0 or {DELTA_MAX:g}); "
                       "its SE is NaN; treat the fit with caution")
    row = {"k": len(data.yi), "estimate": theta[0], "se": se[0], "lower": theta[0] - crit * se[0],
           "upper": theta[0] + crit * se[0], "tau2": theta[1], "se_tau2": se[1], "loglik": ll,
           **base, "lrt": lrt, "lrt_df": df, "lrt_p": float(stats.chi2.sf(lrt, df))}
    delta = np.concatenate([[1.0], theta[2:]])
    se_delta = np.concatenate([[np.nan], se[2:]])
    deltas = pd.DataFrame({"interval": _labels(data.steps), "k": data.k_per_interval, "delta": delta,
                           "se": se_delta, "lower": np.maximum(delta - crit * se_delta, 0.0),
                           "upper": delta + crit * se_delta})
    return row, deltas


def _inputs(data: PooledProportions | pd.DataFrame, yi: str, vi: str,
            by) -> tuple[pd.DataFrame, list[str], bool]:
    if isinstance(data, PooledProportions):
        if data.method == "pft":
            raise ValueError("step_selection needs logit proportions; the pool was fitted with method='pft'")
        return _effects(data).rename(columns={"yi": yi, "vi": vi}), list(data.by), True
    by_list = [by] if isinstance(by, str) else list(by or [])
    missing = [c for c in [yi, vi, *by_list] if c not in data.columns]
    if missing:
        raise KeyError(f"step_selection: no column {missing} in the data")
    return data, by_list, False


def step_selection(
    data: PooledProportions | pd.DataFrame,
    steps: Sequence[float] = (0.025, 1.0),
    alternative: str = "greater",
    *,
    yi: str = "yi",
    vi: str = "vi",
    by: str | Sequence[str] | None = None,
    conf_level: float = 0.95,
) -> StepSelection:
    """Fit the Vevea-Hedges step-function selection model by maximum likelihood, per group.

    Parameters
    ----------
    data : PooledProportions or pandas.DataFrame
        A :func:`~sclero_analysis.pool_proportions` result (each source's logit proportion and
        its variance, 1/2 added to both cells of a source with 0 or n responders, as
        ``metafor::escalc(measure = "PLO")``; its groups), or a frame of effects ``yi`` and
        sampling variances ``vi``.
    steps : sequence of float
        Upper ends of the p-value intervals (1 is added when missing); each interval must hold
        at least one effect.
    alternative : {"greater", "less", "two.sided"}
        Direction of the p-values the selection acts on (``greater``: effects above 0 are
        "significant", e.g. response rates above 50% on the logit scale).
    yi, vi : str
        Columns of effects and sampling variances (a frame only).
    by : str or sequence of str, optional
        Fit separately per group (a frame only; a pool keeps its own groups).
    conf_level : float
        Level of the Wald intervals.

    Returns
    -------
    StepSelection
        ``.summary`` per group: ``k, estimate, se, lower, upper, tau2, se_tau2, loglik``, the
        random-effects fit without selection (``estimate_unadjusted, se_unadjusted,
        tau2_unadjusted, loglik_unadjusted``), the likelihood-ratio test of no selection
        ``lrt, lrt_df, lrt_p`` and, for a pool, ``proportion, proportion_lower,
        proportion_upper`` (the estimate back-transformed). ``.deltas``: per group and
        interval, ``k`` effects and the relative probability of selection ``delta`` (1 for
        the first interval) with ``se, lower, upper``.

    Warns
    -----
    SmallSampleWarning
        tau^2 or a delta on its bound (0, or 100 for delta): its SE is NaN.

    Notes
    -----
    Effects ``y_i ~ N(mu, v_i + tau^2)`` are published with relative probability ``delta_j``
    when their one-sided p-value falls in the j-th interval; the likelihood is the normal
    density weighted by ``delta_j`` and divided by the mean weight under the model. This is
    ``metafor::selmodel(rma(yi, vi, method = "ML"), type = "stepfun", steps, alternative)``
    (same p-values, intervals, bounds and Hessian-based standard errors). Where metafor's
    optimiser, which works on log tau^2, stops short of a maximum at tau^2 = 0, this fit
    reaches the boundary and a higher likelihood. It suits comparative series selected on
    significance; single case reports selected on response are corrected by
    :func:`~sclero_analysis.publication_odds` instead.

    References
    ----------
    Vevea JL, Hedges LV. A general linear model for estimating effect size in the presence of
    publication bias. Psychometrika 1995;60:419-435.

    Viechtbauer W. metafor: selmodel, selection models (version 3.8-1).

    Examples
    --------
    >>> import pandas as pd
    >>> effects = pd.DataFrame({"yi": [0.1, 0.3, 0.5, 0.7, 0.2, 0.9, -0.1, 0.4],
    ...                         "vi": [0.04, 0.05, 0.03, 0.06, 0.08, 0.05, 0.07, 0.02]})
    >>> fit = step_selection(effects, steps=(0.05, 1))
    >>> fit.deltas["k"].tolist()
    [4, 4]
    >>> bool(fit.summary.loc[0, "loglik"] >= fit.summary.loc[0, "loglik_unadjusted"])
    True
    """
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must lie strictly between 0 and 1, not {conf_level!r}")
    frame, by_list, logit = _inputs(data, yi, vi, by)
    groups = [({}, frame)] if not by_list else [
        (dict(zip(by_list, key if isinstance(key, tuple) else (key,), strict=True)), part)
        for key, part in frame.groupby(by_list, sort=True, observed=True)]
    rows, deltas, caveats = [], [], []
    for keys, part in groups:
        where = ", ".join(f"{k}={v!r}" for k, v in keys.items()) or "all effects"
        fitted = step_data(part[yi].to_numpy(float), part[vi].to_numpy(float), steps, alternative)
        row, table = _fit(fitted, where, conf_level, caveats)
        if logit:
            row |= {"proportion": special.expit(row["estimate"]),
                    "proportion_lower": special.expit(row["lower"]),
                    "proportion_upper": special.expit(row["upper"])}
        rows.append({**keys, **row})
        deltas.append(table.assign(**keys)[[*keys, *table.columns]])
    for message in caveats:
        warnings.warn(f"step_selection, {message}", SmallSampleWarning, stacklevel=2)
    return StepSelection(summary=pd.DataFrame(rows), deltas=pd.concat(deltas, ignore_index=True),
                         steps=tuple(float(s) for s in fitted.steps), alternative=alternative,
                         conf_level=conf_level, by=tuple(by_list))
