"""IPTW-adjusted survival and cumulative incidence curves per tier, with bootstrap intervals.

Each tier's curve is the weighted Kaplan–Meier (or weighted Aalen–Johansen) estimate with
propensity weights, i.e. the curve the whole population would have had on that tier (ATE), in
the focal tier's population (ATT) or in the overlap population (ATO). Pointwise intervals are
percentile bootstrap intervals: patients (clusters) are resampled with replacement, **the
propensity model is refitted in every resample** and the weighted curves recomputed, so the
intervals carry the uncertainty of the weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from scipy import stats
from tqdm.auto import tqdm

from sclero_analysis.causal.propensity import Missing, Propensity, propensity
from sclero_analysis.causal.weights import Estimand, Trim
from sclero_analysis.exceptions import PropensityError, ScleroWarning, SmallSampleWarning
from sclero_analysis.figures.curves import curve_tables, plot_curves
from sclero_analysis.labels import Endpoint, Labels
from sclero_analysis.survival.competing import cif_steps
from sclero_analysis.survival.inputs import CAUSE, EVENT, TIME, SurvivalInputError, survival_data
from sclero_analysis.survival.rmst import rmst_one
from sclero_analysis.survival.steps import km_steps, step_lookup

Kind = Literal["survival", "cif"]
FAILED_SHARE_WARNING = 0.05  # warn when more than 5% of resamples cannot be analysed


@dataclass(frozen=True, eq=False)
class AdjustedCurves:
    """Weighted (IPTW) curves per tier with percentile bootstrap intervals.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per tier and distinct time of that tier: ``group, time, estimate`` (survival
        probability or cumulative incidence), ``lower, upper`` (percentile bootstrap),
        ``n_risk`` (weighted number at risk: the sum of the weights of the lines at risk).
    rmst : pandas.DataFrame or None
        With ``tau`` (survival curves only), indexed by tier: ``rmst, se, lower, upper``
        (months; se is the bootstrap SD).
    rmst_differences : pandas.DataFrame or None
        Each tier vs the reference (first) tier: ``group, reference, difference, se, lower,
        upper, p`` (percentile interval; p from the bootstrap SE, normal approximation).
    kind : {"survival", "cif"}
    propensity : Propensity
        The model fitted on the full data (its weights give ``estimate``).
    weights : pandas.Series
        The weights used for ``estimate``.
    n_boot, n_failed : int
        Resamples drawn, and those that could not be analysed (a tier too small to model).
    seed : int or None
    conf_level : float
    tau : float or None
    endpoint : Endpoint
        Time origin and events of the frame (from its ``attrs``), for the axis titles.
    """

    summary: pd.DataFrame
    rmst: pd.DataFrame | None
    rmst_differences: pd.DataFrame | None
    kind: Kind
    propensity: Propensity
    weights: pd.Series
    n_boot: int
    n_failed: int
    seed: int | None
    conf_level: float
    tau: float | None
    endpoint: Endpoint = Endpoint()

    def at(self, times: Sequence[float]) -> pd.DataFrame:
        """Return the estimate per tier (rows) at each of ``times`` (columns)."""
        return step_lookup(self.summary, times, "estimate", "left",
                           1.0 if self.kind == "survival" else 0.0)

    def at_risk(self, times: Sequence[float]) -> pd.DataFrame:
        """Return the weighted number at risk per tier (rows) at each of ``times`` (columns).

        The sum of the weights of the lines still at risk (first step at or after each time,
        0 beyond the last), i.e. the size of the weighted pseudo-population the curve rests on.
        """
        return step_lookup(self.summary, times, "n_risk", "right", 0.0)

    def plot(self, ax: Axes | None = None, ci: bool = True, xlabel: str | None = None,
             ylabel: str | None = None, risk_table: bool = True, xlim=None,
             break_time: float | None = None, labels: Labels = None) -> Axes:
        """Draw the weighted curve per tier with its bootstrap band and the weighted numbers at risk.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Draw on it (its area is divided to hold the table); default: a new figure (never
            the current one).
        ci : bool
            Percentile bootstrap bands.
        xlabel, ylabel : str, optional
            Default: from the analysis frame, the y title naming the weighting (IPTW).
        risk_table : bool
            The weighted number at risk (:meth:`at_risk`: sums of weights, not patients) under
            the curves, one column per time tick.
        xlim, break_time
            Time limits and months between ticks, as :meth:`KaplanMeier.plot`.
        labels : mapping, optional
            Display labels of the tiers.

        Returns
        -------
        matplotlib.axes.Axes
        """
        text = (self.endpoint.survival_label() if self.kind == "survival"
                else self.endpoint.incidence_label())
        return plot_curves(self.summary, "estimate", ax=ax, ci=ci, censor_marks=False,
                           xlabel=xlabel or self.endpoint.time_label(),
                           ylabel=ylabel or f"IPTW-weighted {text[:1].lower()}{text[1:]}", xlim=xlim,
                           break_time=break_time,
                           start=1.0 if self.kind == "survival" else 0.0, labels=labels,
                           tables=curve_tables(self.summary, self.at_risk if risk_table else None,
                                               weighted=True))

    def __repr__(self) -> str:
        return (f"AdjustedCurves({self.kind}, {self.propensity.estimand}, tiers "
                f"{self.propensity.levels}, {self.n_boot} bootstrap resamples)")


@dataclass(frozen=True)
class _Arrays:
    time: np.ndarray
    status: np.ndarray
    cause: int


def _curve(a: _Arrays, rows: np.ndarray, w: np.ndarray, kind: Kind) -> tuple[np.ndarray, np.ndarray]:
    if kind == "survival":
        steps = km_steps(a.time[rows], a.status[rows] == a.cause, w)
        return steps.time, steps.survival
    steps = cif_steps(a.time[rows], a.status[rows], w, a.cause)
    return steps.time, steps.cif


def _evaluate(times: np.ndarray, values: np.ndarray, grid: np.ndarray, start: float) -> np.ndarray:
    position = np.searchsorted(times, grid, side="right") - 1
    return np.where(position >= 0, values[np.maximum(position, 0)], start)


def _estimates(a, codes, w, levels, grids, kind, tau):
    """Curves at each tier's grid, and RMST per tier (NaN without tau)."""
    curves, areas = [], []
    start = 1.0 if kind == "survival" else 0.0
    for g in range(len(levels)):
        rows = np.flatnonzero(codes == g)
        t, v = _curve(a, rows, w[rows], kind)
        curves.append(_evaluate(t, v, grids[g], start))
        areas.append(rmst_one(a.time[rows], a.status[rows] == a.cause, w[rows], tau)[0]
                     if tau is not None else np.nan)
    return np.concatenate(curves), np.array(areas)


def _resample(clusters: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row positions of a cluster bootstrap resample (each drawn cluster brings all its rows)."""
    order = np.argsort(clusters, kind="stable")
    starts = np.flatnonzero(np.r_[True, clusters[order][1:] != clusters[order][:-1]])
    ends = np.r_[starts[1:], len(order)]
    chosen = rng.integers(0, len(starts), len(starts))
    return np.concatenate([order[starts[c]:ends[c]] for c in chosen])


def _cluster_codes(df: pd.DataFrame, cluster: str | None) -> np.ndarray:
    if cluster is None:
        return np.arange(len(df))
    if cluster not in df.columns:
        raise SurvivalInputError(f"cluster column '{cluster}' is not in the data (pass cluster=None "
                                 "to resample rows)")
    return pd.factorize(df[cluster])[0]


def _summaries(levels, grids, estimate, draws, areas, area_draws, level, tau):
    q = [(1 - level) / 2, (1 + level) / 2]
    if len(draws) < 2:  # no bootstrap: intervals undefined
        draws = np.full((2, draws.shape[1]), np.nan)
        area_draws = np.full((2, len(levels)), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN limits
        return _tables(levels, grids, estimate, draws, areas, area_draws, q, tau)


def _tables(levels, grids, estimate, draws, areas, area_draws, q, tau):
    lower, upper = np.nanquantile(draws, q, axis=0)
    summary = pd.DataFrame({
        "group": pd.Categorical(np.repeat(levels, [len(g) for g in grids]), categories=levels),
        "time": np.concatenate(grids), "estimate": estimate, "lower": lower, "upper": upper})
    if tau is None:
        return summary, None, None
    a_lo, a_hi = np.nanquantile(area_draws, q, axis=0)
    rmst = pd.DataFrame({"rmst": areas, "se": np.nanstd(area_draws, axis=0, ddof=1),
                         "lower": a_lo, "upper": a_hi}, index=pd.Index(levels, name="group"))
    diff_draws = area_draws[:, 1:] - area_draws[:, :1]
    diff = areas[1:] - areas[0]
    se = np.nanstd(diff_draws, axis=0, ddof=1)
    d_lo, d_hi = np.nanquantile(diff_draws, q, axis=0)
    differences = pd.DataFrame({"group": levels[1:], "reference": levels[0], "difference": diff,
                                "se": se, "lower": d_lo, "upper": d_hi,
                                "p": 2 * stats.norm.sf(np.abs(diff / se))})
    return summary, rmst, differences


def adjusted_curves(
    df: pd.DataFrame,
    covariates: Sequence[str] | str,
    kind: Kind = "survival",
    treatment: str = "tier",
    estimand: Estimand = "ATE",
    focal: str | None = None,
    tau: float | None = None,
    n_boot: int = 200,
    seed: int | None = None,
    cluster: str | None = "patient_id",
    stabilized: bool = True,
    trim: Trim = None,
    missing: Missing = "error",
    time: str = TIME,
    event: str = EVENT,
    cause: int = CAUSE,
    conf_level: float = 0.95,
    progress: bool = True,
) -> AdjustedCurves:
    """IPTW-adjusted survival (weighted Kaplan–Meier) or cumulative incidence curves per tier.

    Parameters
    ----------
    df : pandas.DataFrame
        Analysis frame, e.g. :func:`sclero_analysis.relapse_frame` (one row per line).
    covariates : list of str or str
        Propensity model covariates (columns or formula), see :func:`propensity`.
    kind : {"survival", "cif"}
        ``survival``: weighted Kaplan–Meier of ``cause`` (other events censored); ``cif``:
        weighted Aalen–Johansen cumulative incidence of ``cause`` (other events competing).
    treatment, estimand, focal, stabilized, trim, missing
        As in :func:`propensity` and :meth:`Propensity.weights`.
    tau : float, optional
        Also give the RMST up to ``tau`` months per tier and its difference from the reference
        tier (survival curves only).
    n_boot : int
        Bootstrap resamples (0: point estimates only, intervals NaN).
    seed : int, optional
        Seed of the resampling (recorded in the result).
    cluster : str or None
        Resampling unit (default ``patient_id``: a patient's lines stay together); None
        resamples rows.
    time, event, cause : str, str, int
        Analysis columns and event code of interest.
    conf_level : float
        Level of the percentile intervals.
    progress : bool
        Show a progress bar over the resamples.

    Returns
    -------
    AdjustedCurves

    Warns
    -----
    SmallSampleWarning
        More than 5% of resamples could not be analysed (a tier too small in the resample).

    Notes
    -----
    Warnings of the propensity model inside resamples (separation, positivity) are not
    repeated for every resample; the full-data fit warns as usual. Resamples whose model
    cannot be fitted at all (a tier too small, a covariate constant in the resample) are counted
    in ``n_failed``.

    References
    ----------
    Cole SR, Hernán MA (2004). Adjusted survival curves with inverse probability weights.
    Comput Methods Programs Biomed 75:45–49.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"])
    >>> curves = sa.causal.adjusted_curves(df, ["age_at_diagnosis_years", "mrss", "neuro"],
    ...                                    n_boot=20, seed=1, progress=False)  # doctest: +SKIP
    >>> curves.at([12, 24])  # doctest: +SKIP
    """
    if tau is not None and kind != "survival":
        raise SurvivalInputError("tau (RMST) applies to survival curves; use kind='survival'")
    ps = propensity(df, covariates, treatment, estimand, focal, missing)
    rows = df.loc[ps.scores.index]
    data = survival_data(rows, time=time, event=event, group=None, cause=cause)
    arrays = _Arrays(data.time, data.status, cause)
    codes, levels = ps.treatment.cat.codes.to_numpy(), ps.levels
    weights = ps.weights(stabilized, trim)
    grids = [np.unique(arrays.time[codes == g]) for g in range(len(levels))]
    estimate, areas = _estimates(arrays, codes, weights.to_numpy(), levels, grids, kind, tau)
    draws, area_draws, failed = _bootstrap(rows, arrays, covariates, ps, levels, grids, kind, tau,
                                           n_boot, seed, _cluster_codes(rows, cluster),
                                           dict(treatment=treatment, stabilized=stabilized, trim=trim),
                                           progress)
    summary, rmst, differences = _summaries(levels, grids, estimate, draws, areas, area_draws,
                                            conf_level, tau)
    summary["n_risk"] = _weighted_at_risk(arrays.time, codes, weights.to_numpy(), grids)
    return AdjustedCurves(summary, rmst, differences, kind, ps, weights, n_boot, failed, seed,
                          conf_level, tau, Endpoint.of(df, cause))


def _weighted_at_risk(time: np.ndarray, codes: np.ndarray, w: np.ndarray, grids) -> np.ndarray:
    """Sum of the weights with time >= t, at each tier's grid times (tiers in order)."""
    out = []
    for g, grid in enumerate(grids):
        order = np.argsort(time[codes == g], kind="stable")
        t, weight = time[codes == g][order], w[codes == g][order]
        tail = np.r_[np.cumsum(weight[::-1])[::-1], 0.0]
        out.append(tail[np.searchsorted(t, grid, side="left")])
    return np.concatenate(out)


def _bootstrap(rows, arrays, covariates, ps, levels, grids, kind, tau, n_boot, seed, clusters,
               options, progress):
    rng = np.random.default_rng(seed)
    draws, area_draws, failed = [], [], 0
    for _ in tqdm(range(n_boot), disable=not progress, desc="bootstrap", leave=False):
        positions = _resample(clusters, rng)
        sample = rows.iloc[positions].reset_index(drop=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ScleroWarning)  # the full-data fit warned already
                refit = propensity(sample, covariates, options["treatment"], ps.estimand, ps.focal)
        except (PropensityError, SurvivalInputError):  # a tier too small, a covariate constant
            failed += 1
            continue
        codes = refit.treatment.cat.codes.to_numpy()
        if len(refit.levels) != len(levels):
            failed += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ScleroWarning)
            w = refit.weights(options["stabilized"], options["trim"]).to_numpy()
        sub = _Arrays(arrays.time[positions], arrays.status[positions], arrays.cause)
        curve, area = _estimates(sub, codes, w, levels, grids, kind, tau)
        draws.append(curve)
        area_draws.append(area)
    if n_boot and failed / n_boot > FAILED_SHARE_WARNING:
        warnings.warn(f"{failed} of {n_boot} bootstrap resamples could not be analysed (a tier too "
                      "small to model); the intervals rest on the others", SmallSampleWarning,
                      stacklevel=3)
    width = sum(len(g) for g in grids)
    return (np.array(draws).reshape(-1, width), np.array(area_draws).reshape(-1, len(levels)), failed)
