"""The event-time structure of a Cox problem and its risk-set sums, as R's ``coxph`` forms them.

:class:`CoxData` holds the covariates and, per event time, which rows are at risk and which
die (within strata, with delayed entry for (start, stop] data). Risk-set sums over rows come
from one cumulative sum over the rows ordered by decreasing exit time (the latest risk set
first, as R accumulates them), so one evaluation costs O(n p²) after one sort.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np


@dataclass(frozen=True)
class CoxData:
    """Covariates, weights and the event-time structure of one Cox problem.

    Attributes
    ----------
    x : ndarray (n, p)
    weight : ndarray (n,)
    start, stop : ndarray (n,)
        Entry (−inf for right-censored data) and exit times.
    event : ndarray (n,) of bool
    stratum : ndarray (n,) of int
    times : ndarray (m,)
        Distinct event times, grouped by stratum, increasing within each.
    time_stratum : ndarray (m,)
    death_index : ndarray (n,)
        Index into ``times`` of each death, −1 for the others.
    first, last : ndarray (n,)
        Each row is at risk at event-time indices ``first <= j < last``.
    """

    x: np.ndarray
    weight: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    stratum: np.ndarray
    times: np.ndarray
    time_stratum: np.ndarray
    death_index: np.ndarray
    first: np.ndarray
    last: np.ndarray

    @cached_property
    def n_deaths(self) -> np.ndarray:
        """Unweighted number of deaths at each event time."""
        return np.bincount(self.death_index[self.event], minlength=len(self.times)).astype(float)

    @cached_property
    def exits(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows by decreasing ``last`` (stable), and for each event time j the number with last > j."""
        return _by_decreasing(self.last, len(self.times))

    @cached_property
    def entries(self) -> tuple[np.ndarray, np.ndarray] | None:
        """As :attr:`exits` for ``first`` (rows not yet entered); None without delayed entry."""
        return _by_decreasing(self.first, len(self.times)) if np.any(self.first > 0) else None

    @cached_property
    def deaths(self) -> tuple[np.ndarray, np.ndarray]:
        """Dying rows ordered by event time (stable), and where each event time's deaths start."""
        dying = np.flatnonzero(self.event)
        order = dying[np.argsort(self.death_index[dying], kind="stable")]
        return order, np.searchsorted(self.death_index[order], np.arange(len(self.times)))

    @cached_property
    def tied_deaths(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Event times with several deaths, their dying rows by time, where each time's start."""
        tied = np.flatnonzero(self.n_deaths > 1)
        order, _ = self.deaths
        rows = order[self.n_deaths[self.death_index[order]] > 1]
        return tied, rows, np.searchsorted(self.death_index[rows], tied)

    @cached_property
    def weighted_deaths(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Σ w and Σ w·x over the deaths at each event time, and the dying rows' weights."""
        sums = death_sums(self, self.weight[:, None] * np.column_stack([np.ones(len(self.x)), self.x]))
        return sums[:, 0], sums[:, 1:], self.weight[self.event]

    def sub_steps(self, ties: str) -> SubSteps:
        """Efron's sub-steps k = 0, 1, … (one for Breslow): what they take from the data."""
        key = f"_sub_steps_{ties}"
        if key not in self.__dict__:  # cached as a cached_property would be
            self.__dict__[key] = _sub_steps(self, ties == "efron")
        return self.__dict__[key]

    @cached_property
    def by_exit(self) -> ExitOrder:
        """The rows by decreasing exit time with the products of x that ``evaluate`` sums."""
        order, counts = self.exits
        (i, j), _ = packing(self.x.shape[1])
        x = self.x[order]
        position = np.empty(len(order), dtype=np.intp)
        position[order] = np.arange(len(order))
        entries = None if self.entries is None else (position[self.entries[0]], self.entries[1])
        return ExitOrder(order, counts, self.weight[order], np.hstack([x, x[:, i] * x[:, j]]),
                         entries, position[self.tied_deaths[1]], self.last[order])


@dataclass(frozen=True)
class ExitOrder:
    """A Cox problem's rows by decreasing exit time (``CoxData.exits``), for risk-set sums.

    Attributes
    ----------
    order, counts : ndarray
        Rows by decreasing ``last``; for each event time j the number of rows with last > j.
    weight : ndarray (n,)
        Weights in that order.
    products : ndarray (n, p + p(p+1)/2)
        x and the upper triangle of x·xᵀ of each row, in that order.
    entries : (ndarray, ndarray) or None
        Delayed entry: positions (in this order) of the rows by decreasing ``first``, and for
        each event time the number with first > j.
    tied : ndarray
        Positions of the rows dying at event times with several deaths, by time.
    last : ndarray
        ``CoxData.last`` in this order.
    """

    order: np.ndarray
    counts: np.ndarray
    weight: np.ndarray
    products: np.ndarray
    entries: tuple[np.ndarray, np.ndarray] | None
    tied: np.ndarray
    last: np.ndarray


@dataclass(frozen=True)
class SubSteps:
    """What Efron's sub-steps k = 0, 1, … take from the data (they do not depend on beta).

    Sub-step 0 involves every event time: ``wbar`` is the deaths' mean weight there (Breslow,
    the only sub-step: their total), ``mask`` all True. The later ones, at tied times with
    more than k deaths, are laid end to end (k = 1 first) so that ``evaluate`` does their
    arithmetic at once: ``rows`` their event times, ``among`` the positions of those among
    ``CoxData.tied_deaths``, ``fraction`` the share k / m of the deaths' risk each removes,
    ``later_wbar`` the deaths' mean weight, ``parts`` each sub-step's slice and mask of event
    times with more than k deaths.
    """

    wbar: np.ndarray
    mask: np.ndarray
    rows: np.ndarray
    among: np.ndarray
    fraction: np.ndarray
    later_wbar: np.ndarray
    parts: list[tuple[slice, np.ndarray]]


def _sub_steps(data: CoxData, efron: bool) -> SubSteps:
    m, w_d = data.n_deaths, data.weighted_deaths[0]
    tied = data.tied_deaths[0]
    among, k_of, parts = [np.zeros(0, dtype=np.intp)], [np.zeros(0)], []
    for k in range(1, int(m.max()) if efron and len(m) else 1):
        here = np.flatnonzero(m[tied] > k)
        start = sum(map(len, among))
        parts.append((slice(start, start + len(here)), m > k))
        among.append(here)
        k_of.append(np.full(len(here), float(k)))
    among = np.concatenate(among)
    rows = tied[among]
    return SubSteps(w_d / m if efron else w_d, m > 0, rows, among, np.concatenate(k_of) / m[rows],
                    w_d[rows] / m[rows], parts)


def _by_decreasing(index: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-index, kind="stable")
    counts = len(index) - np.searchsorted(index[order][::-1], np.arange(m), side="right")
    return order, counts


def cox_data(x, weight, stop, event, stratum=None, start=None) -> CoxData:
    """Build the event-time structure (risk-set index ranges) once per data set."""
    n = len(stop)
    if stratum is None:
        stratum, strata = np.zeros(n, dtype=int), [(0, np.arange(n))]
    else:
        stratum = np.asarray(stratum)
        strata = [(s, np.flatnonzero(stratum == s)) for s in np.unique(stratum)]
    start = np.full(n, -np.inf) if start is None else np.asarray(start, dtype=float)
    times, time_stratum = [], []
    first, last, death_index = np.zeros(n, int), np.zeros(n, int), np.full(n, -1)
    offset = 0
    for s, rows in strata:
        t = np.unique(stop[rows][event[rows]])
        first[rows] = offset + np.searchsorted(t, start[rows], side="right")
        last[rows] = offset + np.searchsorted(t, stop[rows], side="right")
        dying = rows[event[rows]]
        death_index[dying] = offset + np.searchsorted(t, stop[dying])
        times.append(t)
        time_stratum.append(np.full(len(t), s))
        offset += len(t)
    x = np.asarray(x, float)
    weight = np.asarray(weight, float)
    # centre as R does: the partial likelihood and every statistic here are shift-invariant,
    # and centring keeps exp(x·beta) finite far from beta = 0
    x = x - (weight @ x) / weight.sum()
    return CoxData(x, weight, start, np.asarray(stop, float),
                   np.asarray(event, bool), stratum, np.concatenate(times),
                   np.concatenate(time_stratum), death_index, first, last)


def _cumulative(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """For each event time j, Σ ``values`` over its first ``counts[j]`` rows."""
    cumulative = np.empty((len(values) + 1, values.shape[1]))
    cumulative[0] = 0.0
    np.cumsum(values, axis=0, out=cumulative[1:])
    return cumulative[counts]


def _sums_over_first(order: np.ndarray, counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each event time j, Σ ``values`` over the first ``counts[j]`` rows of ``order``."""
    return _cumulative(values[order], counts)


def risk_sums(data: CoxData, values: np.ndarray) -> np.ndarray:
    """Sum ``values`` (n, k) over each event time's risk set: rows with first <= j < last.

    A cumulative sum over the rows by decreasing exit time: the latest risk set first (as R
    accumulates from the last event time backwards), so a late risk set of small exp(x·beta)
    keeps its precision; rows not yet entered (delayed entry) are subtracted the same way.
    """
    total = _sums_over_first(*data.exits, values)
    if data.entries is not None:
        total = total - _sums_over_first(*data.entries, values)
    return total


def death_sums(data: CoxData, values: np.ndarray) -> np.ndarray:
    """Sum ``values`` (n, k) over the deaths at each event time."""
    order, starts = data.deaths
    if not len(starts):
        return np.zeros((0, values.shape[1]))
    return np.add.reduceat(values[order], starts, axis=0)


@lru_cache(maxsize=64)
def packing(p: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Upper-triangle indices of a p × p matrix, and where each (i, j) sits among them."""
    upper = np.triu_indices(p)
    where = np.empty((p, p), dtype=np.intp)
    where[upper] = where[upper[::-1]] = np.arange(len(upper[0]))
    for array in (*upper, where):
        array.flags.writeable = False  # shared by every call
    return upper, where.ravel()


def risk_values(data: CoxData, eta: np.ndarray, columns: int | None = None) -> np.ndarray:
    """Risk w·exp(eta), risk·x and risk·(upper triangle of x·xᵀ) of each row, by exit order.

    ``columns``: only the first ``columns`` products (e.g. p: risk and risk·x).
    """
    exits = data.by_exit
    products = exits.products if columns is None else exits.products[:, :columns]
    values = np.empty((len(eta), 1 + products.shape[1]))
    with np.errstate(over="ignore", invalid="ignore"):  # an overshooting step gives inf: the
        np.exp(eta[exits.order], out=values[:, 0])      # caller halves it
        values[:, 0] *= exits.weight
        np.multiply(values[:, :1], products, out=values[:, 1:])
    return values


def risk_gram(data: CoxData, risk: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Σ_j h_j Σ_{i at risk at j} risk_i x_i x_iᵀ as Σ_i risk_i H_i x_i x_iᵀ, H_i = Σ_{j < last_i} h_j.

    Without delayed entry or strata (every ``first`` is 0) only: ``risk`` in exit order.
    """
    exits = data.by_exit
    p = data.x.shape[1]
    cumulative_h = np.concatenate([[0.0], np.cumsum(h)])
    x = exits.products[:, :p]
    return (x * (risk * cumulative_h[exits.last])[:, None]).T @ x


def tied_death_values(data: CoxData, risk: np.ndarray) -> np.ndarray:
    """Return :func:`risk_values` (all columns) of the rows dying at tied times."""
    exits = data.by_exit
    values = np.empty((len(exits.tied), 1 + exits.products.shape[1]))
    values[:, 0] = risk[exits.tied]
    np.multiply(values[:, :1], exits.products[exits.tied], out=values[:, 1:])
    return values


def exit_sums(data: CoxData, values: np.ndarray) -> np.ndarray:
    """:func:`risk_sums` of values already in exit order (``data.by_exit``)."""
    exits = data.by_exit
    total = _cumulative(values, exits.counts)
    if exits.entries is not None:
        total = total - _sums_over_first(*exits.entries, values)
    return total


def tied_death_sums(data: CoxData, values: np.ndarray) -> np.ndarray:
    """Sum ``values`` (exit order) over the deaths of each time with several (``tied_deaths``)."""
    return reduce_tied(data, values[data.by_exit.tied])


def reduce_tied(data: CoxData, tied_values: np.ndarray) -> np.ndarray:
    """Sum the rows dying at tied times (``ExitOrder.tied`` order) within each such time."""
    starts = data.tied_deaths[2]
    if not len(starts):
        return np.zeros((0, tied_values.shape[1]))
    return np.add.reduceat(tied_values, starts, axis=0)
