"""Inverse-probability-of-censoring weights of the clones, from pooled logistic models.

A clone is censored when its patient deviates; the weights make the clones still following
stand in for those censored, given what a registry records. Three decisions are modelled,
each by a logistic regression of deviation on the baseline covariates (standardised; a
missing value is the mean with a missing indicator) and the patient's state:

* **time zero**: deviating at once (a first line the strategy does not allow), clones without
  a decision window at time zero;
* **a decision window** (a, e] (the grace period after the response check, or the severe
  patients' first months): not doing in time what the strategy requires, fitted on the clones
  following at a that either deviate in the window or are still followed after it, with the
  response so far;
* **every other month** (m, m+1]: deviating in it, a pooled model over clone-months with an
  intercept per period (months 0-5 each, then 6-8, 9-11, 12-17, 18-23, 24 on), the response
  so far (any line's, and the line in course's: a patient who responded to a first line and
  changed agents is judged on the new one) and escalation so far, fitted on the clone-months
  that end in a deviation or are followed to the month's end (an outcome first leaves nothing
  to deviate from).

A clone's weight in month (m, m+1] is the inverse of its probability of having followed through
month m−1 (a deviation at a month's end is exact; one within a month counts from the next),
stabilised by the share of all clones still following by then (a Kaplan-Meier of deviation,
common to every clone, so the weighted curves stay those of the whole population), and
optionally truncated at a quantile. The
models have a small ridge penalty (1e-3) so that decisions nobody takes in some period (e.g. a
responder escalated) give probabilities near 0 instead of diverging.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sclero_analysis.strategies.cloning import Clones

#: Lower edges (months) of the periods with their own intercept in the monthly model.
PERIOD_EDGES = (0, 1, 2, 3, 4, 5, 6, 9, 12, 18, 24)
RIDGE = 1e-3


def fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = RIDGE, iterations: int = 100,
                 start: np.ndarray | None = None) -> np.ndarray:
    """Ridge-penalised logistic regression by Newton's method; returns the coefficients.

    Examples
    --------
    >>> x = np.column_stack([np.ones(8), [0.0, 0, 0, 0, 1, 1, 1, 1]])
    >>> beta = fit_logistic(x, np.array([0.0, 1, 1, 1, 0, 0, 1, 1]), ridge=0.0)
    >>> np.round(1 / (1 + np.exp(-x[[0, 4]] @ beta)), 6).tolist()  # saturated: the observed shares
    [0.75, 0.5]
    """
    beta = np.zeros(x.shape[1]) if start is None or len(start) != x.shape[1] else start.copy()
    penalty = ridge * np.eye(x.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(x @ beta)))
        gradient = x.T @ (y - p) - ridge * beta
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-7:
            break
    return beta


def _probability(x: np.ndarray, y: np.ndarray, groups: int = 0, cache: dict | None = None,
                 key: tuple = (), fit: np.ndarray | None = None) -> np.ndarray:
    """Fitted probabilities of deviation.

    ``fit`` marks the rows the model is fitted on (default all; predictions are for all). The
    first ``groups`` columns are one-hot periods: a period without any deviation has
    probability 0 (its maximum-likelihood value) and is left out of the fit. ``cache`` keeps
    each model's coefficients as the starting point of the next fit (the bootstrap's).
    """
    p = np.zeros(len(y))
    fit = np.ones(len(y), bool) if fit is None else fit
    if len(y) == 0 or not y[fit].any():
        return p
    used, columns = np.ones(len(y), bool), np.ones(x.shape[1], bool)
    if groups:
        empty = (x[fit, :groups].T @ y[fit]) == 0
        used = ~(x[:, :groups][:, empty] > 0).any(axis=1)
        columns[:groups] = ~empty
    xs = x[np.ix_(used, columns)]
    start = None if cache is None else cache.get((key, int(columns.sum())))
    beta = fit_logistic(xs[fit[used]], y[used & fit], start=start)
    if cache is not None and not cache.get("frozen"):
        cache[(key, int(columns.sum()))] = beta
    p[used] = 1 / (1 + np.exp(-(xs @ beta)))
    return p


@dataclass(frozen=True)
class Pieces:
    """Clone-months (m, m+1] up to the horizon, with each one's weights."""

    clone: np.ndarray
    month: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    status: np.ndarray  # outcome code at ``stop`` (0: none in this piece)
    weight: np.ndarray  # stabilised IPC weight
    unstabilised: np.ndarray


def _pieces(clones: Clones, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Clone index and month of every clone-month with follow-up in it."""
    end = np.minimum(clones.time, horizon)
    months = np.where(end > 0, np.ceil(end).astype(int), 0)
    clone = np.repeat(np.arange(len(end)), months)
    offsets = np.cumsum(months) - months
    month = np.arange(len(clone)) - np.repeat(offsets, months)
    return clone, month


def _periods(month: np.ndarray) -> np.ndarray:
    """One-hot period of each month (``PERIOD_EDGES``)."""
    period = np.searchsorted(PERIOD_EDGES, month, side="right") - 1
    return (period[:, None] == np.arange(len(PERIOD_EDGES))[None, :]).astype(float)


def _log_follow(x_base: np.ndarray, x_window: np.ndarray, x_month: np.ndarray, rows: dict,
                cache: dict | None, name: str) -> dict:
    """Log P(following) of each decision: time zero, the window and each monthly row."""
    out = {}
    for key, x in (("zero", x_base), ("window", x_window), ("month", x_month)):
        selected, deviated, fit = rows[key]
        groups = len(PERIOD_EDGES) if key == "month" else 0
        p = _probability(x[selected], deviated, groups, cache, (name, key), fit)
        out[key] = np.log(np.clip(1 - p, 1e-12, 1.0))
    return out


def _log_marginal(clones: Clones, month: np.ndarray) -> np.ndarray:
    """Log of the share of clones still followed by each piece's month (the stabilising numerator).

    A Kaplan-Meier of deviation over all clones, in the same months as the weights (a deviation
    at time zero counts before month 0, one in (j, j+1] from month j + 1): common to every clone
    at risk, so the weighted curves stay those of the whole population.
    """
    if len(month) == 0:
        return np.zeros(0)
    last = int(month.max()) + 1
    deviation = np.where(clones.deviated, clones.deviation, last + 1.0)  # finite: inf never deviates
    slot = np.where(deviation == 0, -1, np.ceil(deviation).astype(int) - 1)  # -1: time zero
    deviations = np.bincount(slot[clones.deviated] + 1, minlength=last + 2)[: last + 1]
    at_risk = np.array([len(clones.time)] + [np.sum(clones.time > j) for j in range(last)], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_share = np.cumsum(np.log(np.where(at_risk > 0, 1 - deviations / at_risk, 1.0)))
    return log_share[month]  # deviations before month m: time zero and months 0 … m − 1


def censoring_weights(
    clones: Clones,
    covariates: np.ndarray,
    responded_by: np.ndarray,
    escalated_by: np.ndarray,
    horizon: float,
    truncate: float | None = None,
    zero_covariates: np.ndarray | None = None,
    cache: dict | None = None,
    line_responded: np.ndarray | None = None,
) -> Pieces:
    """Return the clone-months of one strategy with their censoring weights (see the module docstring).

    Parameters
    ----------
    clones : Clones
    covariates : numpy.ndarray
        (n, q) standardised baseline covariates.
    responded_by, escalated_by : numpy.ndarray
        First month of a response, and of any line above IVIG (inf: none).
    horizon : float
        Months of follow-up analysed.
    truncate : float, optional
        Quantile (e.g. 0.99) above which stabilised weights are set to it (and below 1 − it,
        raised to it).
    zero_covariates : numpy.ndarray, optional
        Covariates of the time-zero model (default ``covariates``), e.g. with interactions.
    cache : dict, optional
        Starting coefficients of the models (keyed by ``cache["name"]`` and model), updated
        unless ``cache["frozen"]`` (the bootstrap starts every replicate from the data's fit, so
        its numbers do not depend on the order of the replicates).
    line_responded : numpy.ndarray, optional
        (n, months) whether the line in course at each whole month had responded by then
        (:meth:`Timelines.line_responded`): a covariate of the monthly model.
    """
    n = len(clones.time)
    deviated = clones.deviated
    in_window = ~np.isnan(clones.window_start)
    a, e = np.nan_to_num(clones.window_start, nan=-1.0), np.nan_to_num(clones.window_end, nan=-1.0)
    zero_rows = ~(in_window & (a == 0))
    zero_dev = deviated & (clones.deviation == 0)
    window_dev = in_window & deviated & (clones.deviation <= e)
    at_start = in_window & ((a == 0) | ((clones.time > a) & (clones.deviation >= a)))
    window_rows = at_start & (window_dev | (clones.time > e))
    clone, month = _pieces(clones, horizon)
    window_month = in_window[clone] & (month >= a[clone]) & (month < e[clone])
    month_rows = ~window_month
    month_dev = deviated[clone] & (clones.deviation[clone] > month) & (clones.deviation[clone] <= month + 1)
    month_fit = month_dev | (clones.time[clone] >= month + 1)
    ones = np.ones((n, 1))
    x_base = np.column_stack([ones, covariates])
    x_zero = x_base if zero_covariates is None else np.column_stack([ones, zero_covariates])
    x_window = np.column_stack([x_base, responded_by <= np.maximum(a, 0)])
    in_course = [] if line_responded is None else [line_responded[clone, month]]
    x_month = np.column_stack(
        [_periods(month), covariates[clone], responded_by[clone] <= month, escalated_by[clone] <= month,
         *in_course]
    )
    rows = {
        "zero": (zero_rows, zero_dev[zero_rows].astype(float), None),
        "window": (window_rows, window_dev[window_rows].astype(float), None),
        # a month's model is fitted on the clones that deviate in it or are followed to its end
        # (an outcome first leaves nothing to deviate from: censoring after the outcome)
        "month": (month_rows, month_dev[month_rows].astype(float), month_fit[month_rows]),
    }
    name = "" if cache is None else cache.get("name", "")
    follow = _log_follow(x_zero, x_window, x_month, rows, cache, name)
    log_w = np.zeros(len(clone))
    zero = np.zeros(n)
    zero[zero_rows] = follow["zero"]
    log_w += zero[clone]
    window = np.zeros(n)
    window[window_rows] = follow["window"]
    log_w += np.where(in_window[clone] & (month >= e[clone]), window[clone], 0.0)
    monthly = np.zeros(len(clone))
    monthly[month_rows] = follow["month"]
    total = np.cumsum(monthly)
    first = np.searchsorted(clone, clone, side="left")
    log_w += total - monthly - (total[first] - monthly[first])  # months before this one, same clone
    unstabilised = np.exp(-log_w)
    weight = np.exp(_log_marginal(clones, month) - log_w)
    if truncate is not None and len(weight):
        low, high = np.quantile(weight, [1 - truncate, truncate])
        weight = np.clip(weight, low, high)
    start = month.astype(float)
    stop = np.minimum(np.minimum(month + 1.0, clones.time[clone]), horizon)
    ends = (stop == clones.time[clone]) & (clones.time[clone] <= horizon)
    status = np.where(ends, clones.status[clone], 0)
    return Pieces(clone, month, start, stop, status, weight, unstabilised)
