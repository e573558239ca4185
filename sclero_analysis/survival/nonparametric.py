"""Kaplan–Meier curves per group, as R's ``survfit`` computes them.

The log-rank family and restricted mean survival time live in :mod:`.logrank` and :mod:`.rmst`
and are re-exported here.
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

from sclero_analysis.exceptions import SmallSampleWarning
from sclero_analysis.figures.curves import curve_tables, plot_curves
from sclero_analysis.labels import Endpoint, Labels
from sclero_analysis.survival.clusters import Cluster, cluster_codes
from sclero_analysis.survival.influence import km_influence
from sclero_analysis.survival.inputs import CAUSE, EVENT, GROUP, TIME, SurvivalData, survival_data
from sclero_analysis.survival.logrank import logrank
from sclero_analysis.survival.rmst import rmst
from sclero_analysis.survival.steps import estimates_at, km_steps, step_lookup

__all__ = ["KaplanMeier", "kaplan_meier", "km_steps", "logrank", "rmst"]

ConfType = Literal["log", "log-log", "plain"]
SUMMARY_COLUMNS = ("group", "time", "n_risk", "n_event", "n_censor", "survival", "se", "lower",
                   "upper")
_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


def confidence_limits(
    survival: np.ndarray, se_log: np.ndarray, conf_type: ConfType, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise limits from S and the SE of log S, as R's ``survfit_confint``.

    ``log``: S·exp(∓z·s), upper capped at 1, undefined at S = 0. ``log-log``:
    exp(−exp(log(−log S) ∓ z·s/log S)), undefined at S ∈ {0, 1}. ``plain``: S ∓ z·s·S cut to
    [0, 1]. Undefined limits are NaN.
    """
    z = stats.norm.ppf(1 - (1 - level) / 2)
    s = np.asarray(se_log, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            x = np.where(survival == 0, np.nan, survival)
            return x * np.exp(-z * s), np.minimum(x * np.exp(z * s), 1.0)
        if conf_type == "log-log":
            x = np.where((survival == 0) | (survival == 1), np.nan, survival)
            loglog = np.log(-np.log(x))
            return (np.exp(-np.exp(loglog - z * s / np.log(x))),
                    np.exp(-np.exp(loglog + z * s / np.log(x))))
        if conf_type == "plain":
            lower, upper = survival - z * s * survival, survival + z * s * survival
            return np.maximum(lower, 0.0), np.minimum(upper, 1.0)  # NaN stays NaN, as R's pmax
    raise ValueError(f"conf_type must be 'log', 'log-log' or 'plain', not {conf_type!r}")


def first_below_half(curve: np.ndarray, time: np.ndarray) -> float:
    """R's ``minmin``: first time the curve is below 0.5 (midpoint rule on a flat at 0.5)."""
    keep = ~np.isnan(curve) & (curve < 0.5 + _TOLERANCE)
    if not keep.any():
        return np.nan
    x, y = time[keep], curve[keep]
    if abs(y[0] - 0.5) < _TOLERANCE and (y < y[0]).any():
        return float((x[0] + x[np.argmax(y < y[0])]) / 2)
    return float(x[0])


@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan–Meier estimates per group.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per group and distinct time with an event or a censoring (no time-0 row):
        ``group, time, n_risk, n_event, n_censor`` (weighted counts), ``survival``, ``se``
        (standard error of the survival probability), ``lower, upper`` (pointwise CI; NaN where
        undefined).
    medians : pandas.DataFrame
        Indexed by group: ``median, lower, upper`` (R's rule; NaN when not reached).
    conf_type : str
        ``log``, ``log-log`` or ``plain``.
    conf_level : float
        Confidence level of the limits.
    variance : str
        ``greenwood`` or ``ij`` (infinitesimal jackknife: with a cluster or non-integer weights).
    endpoint : Endpoint
        Time origin and events of the frame (from its ``attrs``), for the axis titles.
    """

    summary: pd.DataFrame
    medians: pd.DataFrame
    conf_type: str
    conf_level: float
    variance: str
    endpoint: Endpoint = Endpoint()

    @property
    def groups(self) -> list:
        """Group labels in order."""
        return list(self.medians.index)

    def at_risk(self, times: Sequence[float]) -> pd.DataFrame:
        """Return the number at risk per group (rows) at each of ``times`` (columns).

        As R's ``summary(fit, times=)``: the number at risk at the first step at or after each
        time, 0 beyond the last follow-up.
        """
        return step_lookup(self.summary, times, "n_risk", "right", 0.0)

    def survival_at(self, times: Sequence[float]) -> pd.DataFrame:
        """Return the survival probability per group (rows) at each of ``times`` (columns)."""
        return step_lookup(self.summary, times, "survival", "left", 1.0)

    def at(self, times: Sequence[float], extend: bool = False) -> pd.DataFrame:
        """Survival at fixed times with its confidence interval, as R's ``summary(fit, times=)``.

        Parameters
        ----------
        times : sequence of float
            Times in the unit of the curve (months in the analysis frames), e.g. ``[12, 24]``.
        extend : bool
            False (R's default): beyond a group's last follow-up time the estimate and its
            limits are NaN (R leaves those rows out). True: the last values carried forward.

        Returns
        -------
        pandas.DataFrame
            One row per group and time: ``group, time, n_risk, estimate, se, lower, upper``;
            ``se`` and the limits are those of the fit (Greenwood or the clustered
            infinitesimal jackknife, ``conf_type`` as fitted). Before a group's first time
            the estimate is 1 with SE 0 and limits 1, as R reports them.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"time_months": [1, 2, 2, 3, 4], "event": [1, 1, 1, 0, 1]})
        >>> kaplan_meier(df, group=None).at([0, 2.5])[["time", "n_risk", "estimate"]].values.tolist()
        [[0.0, 5.0, 1.0], [2.5, 2.0, 0.4]]
        """
        return estimates_at(self.summary, times, "survival", 1.0, extend)

    def plot(self, ax: Axes | None = None, ci: bool = True, censor_marks: bool = True,
             risk_table: bool = True, median_lines: bool = False, pvalue: float | None = None,
             xlabel: str | None = None, ylabel: str | None = None, xlim=None,
             break_time: float | None = None, cumulative_events: bool = False,
             censor_table: bool = False, labels: Labels = None) -> Axes:
        """Draw the curves with CI bands, censor marks and tables under them (as survminer).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Draw on it (its area is divided to hold the tables); default: a new figure sized
            to hold them (never the current one).
        ci, censor_marks, median_lines : bool
            Confidence bands, censoring ticks, dashed guides to each median.
        risk_table, cumulative_events, censor_table : bool
            Tables under the curves, one column per time tick: number at risk (from
            :meth:`at_risk`), cumulative number of events, cumulative number censored.
        pvalue : float, optional
            Written where no curve is (e.g. ``sa.logrank(df).p_value``).
        xlabel, ylabel : str, optional
            Default: from the analysis frame ("Months since start of line", "Probability of
            remaining free of relapse (death censored)").
        xlim : float or (float, float), optional
            Time limits (a number: from 0); the tables follow.
        break_time : float, optional
            Months between ticks (and table columns), as survminer's ``break.time.by``.
        labels : mapping, optional
            Display labels of the groups, e.g. ``{"ivig": "IVIG alone"}``.

        Returns
        -------
        matplotlib.axes.Axes
            The curve axes (the tables: ``sa.figures.table_axes(ax)``).
        """
        tables = curve_tables(self.summary, self.at_risk if risk_table else None,
                              cumulative_events, censor_table)
        return plot_curves(self.summary, "survival", ax=ax, ci=ci, censor_marks=censor_marks,
                           medians=self.medians if median_lines else None, pvalue=pvalue,
                           xlabel=xlabel or self.endpoint.time_label(),
                           ylabel=ylabel or self.endpoint.survival_label(), xlim=xlim,
                           break_time=break_time, tables=tables, labels=labels)


def _group_table(
    data: SurvivalData, conf_type: ConfType, level: float, use_ij: bool
) -> tuple[pd.DataFrame, tuple[float, float, float]]:
    steps = km_steps(data.time, data.is_event, data.weight)
    if use_ij:
        se = km_influence(data, steps)[0]
        with np.errstate(divide="ignore", invalid="ignore"):  # R: se of log S is 0 where se is 0
            se_log = np.where(se == 0, 0.0, se / steps.survival)
    else:
        se_log = np.sqrt(steps.var_log)
        with np.errstate(invalid="ignore"):
            se = steps.survival * se_log
    lower, upper = confidence_limits(steps.survival, se_log, conf_type, level)
    table = pd.DataFrame({
        "time": steps.time, "n_risk": steps.n_risk, "n_event": steps.n_event,
        "n_censor": steps.n_censor, "survival": steps.survival, "se": se,
        "lower": lower, "upper": upper,
    })
    medians = tuple(first_below_half(c, steps.time) for c in (steps.survival, lower, upper))
    return table, medians


def _levels(data: SurvivalData) -> list:
    counts = pd.Series(data.group).value_counts()
    levels = []
    for level in data.group.categories:
        if counts.get(level, 0) == 0:
            warnings.warn(f"group '{level}' has no rows; it is left out", SmallSampleWarning,
                          stacklevel=4)
            continue
        if not (data.is_event & (data.group == level)).any():
            warnings.warn(f"group '{level}' has no events: its curve stays at 1 and its median is "
                          "not reached", SmallSampleWarning, stacklevel=4)
        levels.append(level)
    return levels


def kaplan_meier(
    df: pd.DataFrame,
    time: str = TIME,
    event: str = EVENT,
    group: str | None = GROUP,
    cause: int = CAUSE,
    conf_type: ConfType = "log",
    weights: str | None = None,
    conf_level: float = 0.95,
    cluster: Cluster = None,
) -> KaplanMeier:
    """Kaplan–Meier survival curves per group, equal to R's ``survfit``.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject, e.g. :func:`sclero_analysis.relapse_frame`.
    time : str
        Follow-up time column (``time_months`` in the analysis frames).
    event : str
        Event code column: ``cause`` is the event; 0 and other codes are censored (a
        cause-specific curve; use :func:`cumulative_incidence` for competing risks).
    group : str or None
        Grouping column (default ``tier``); None for one curve labelled ``all``.
    cause : int
        Event code of interest (default 1, relapse or progression).
    conf_type : {"log", "log-log", "plain"}
        Transform for the pointwise confidence limits (R's ``conf.type``; default ``log``).
    weights : str, optional
        Column of case weights (e.g. IPTW). Integer weights keep the Greenwood variance;
        non-integer weights use the infinitesimal-jackknife variance, as R does by default.
    conf_level : float
        Confidence level (default 0.95).
    cluster : str, False or None
        Column whose rows belong together (``patient_id``: a patient's lines): the
        infinitesimal-jackknife variance with each cluster's influence summed, as R's
        ``survfit(..., cluster=patient_id)``. ``False``: rows independent. ``None`` (default):
        rows independent, with a warning when the frame's identifier column
        (``df.attrs["cluster"]``, set by the analysis frames) repeats.

    Returns
    -------
    KaplanMeier
        ``.summary`` (group, time, n_risk, n_event, n_censor, survival, se, lower, upper),
        ``.medians`` (median, lower, upper per group), ``.at_risk(times)``; ``.variance`` is
        ``greenwood`` or ``ij``.

    Warns
    -----
    SmallSampleWarning
        A category of ``group`` has no rows (left out) or no events.
    RepeatedIdsWarning
        ``cluster`` not given while the frame's identifier column repeats.

    Notes
    -----
    Ŝ(t) = ∏_{t_j ≤ t} (1 − d_j/n_j) with Greenwood's variance of log Ŝ, or the
    infinitesimal-jackknife variance Σ_c (Σ_{i∈c} w_i ∂Ŝ/∂w_i)² with clusters or non-integer
    weights. Groups are the categories of a categorical in their order, otherwise the sorted
    values. The median is the
    first time the curve falls below 0.5 (a flat exactly at 0.5 gives the midpoint to the next
    drop) and its limits are read the same way off the limit curves (R's ``print.survfit``).
    Times closer than 1.5e-8 are merged as in R.

    References
    ----------
    Kaplan EL, Meier P (1958). JASA 53:457-481. Therneau TM, Grambsch PM (2000). *Modeling
    Survival Data*, Springer.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time_months": [1, 2, 2, 3, 4], "event": [1, 1, 1, 0, 1]})
    >>> km = kaplan_meier(df, group=None)
    >>> km.summary[["time", "n_risk", "survival"]].to_numpy().tolist()
    [[1.0, 5.0, 0.8], [2.0, 4.0, 0.4], [3.0, 2.0, 0.4], [4.0, 1.0, 0.0]]
    >>> float(km.medians.loc["all", "median"])
    2.0
    """
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1, not {conf_level}")
    confidence_limits(np.ones(1), np.zeros(1), conf_type, conf_level)  # validates conf_type
    codes = cluster_codes(df, cluster, "kaplan_meier")
    data = survival_data(df, time=time, event=event, group=group, cause=cause, weights=weights,
                         cluster=codes)
    use_ij = codes is not None or not data.integer_weights
    tables, medians = [], {}
    for level in _levels(data):
        table, medians[level] = _group_table(data.subset(np.asarray(data.group == level)),
                                             conf_type, conf_level, use_ij)
        tables.append(table.assign(group=level))
    summary = pd.concat(tables, ignore_index=True)[list(SUMMARY_COLUMNS)]
    if isinstance(data.group.dtype, pd.CategoricalDtype) and group is not None:
        summary["group"] = pd.Categorical(summary["group"], categories=list(medians))
    median_frame = pd.DataFrame.from_dict(medians, orient="index", columns=["median", "lower", "upper"])
    median_frame.index.name = "group"
    return KaplanMeier(summary, median_frame, conf_type, conf_level, "ij" if use_ij else "greenwood",
                       Endpoint.of(df, cause))
