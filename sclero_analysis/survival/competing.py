"""Competing risks: cumulative incidence (Aalen–Johansen) and Gray's test.

Relapse (cause 1) competes with death (cause 2): the cumulative incidence of relapse is not
1 − Kaplan–Meier with deaths censored. Point estimates equal ``cmprsk::cuminc`` and R's
``survfit`` (multi-state); the default variance is cmprsk's, ``variance="ij"`` gives survfit's
infinitesimal jackknife. Gray's test equals ``cuminc``'s ``$Tests``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sclero_analysis.exceptions import RepeatedIdsWarning
from sclero_analysis.figures.curves import curve_tables, plot_curves
from sclero_analysis.labels import Endpoint, Labels
from sclero_analysis.survival.cif_steps import (
    cif_steps,  # noqa: F401  (causal.adjusted uses it)
    gray_table,
    group_tables,
    limits,
    steps_of,
)
from sclero_analysis.survival.clusters import Cluster, cluster_codes, marked_cluster, repeated_ids
from sclero_analysis.survival.gray import gray_statistic
from sclero_analysis.survival.inputs import (
    CAUSE,
    EVENT,
    GROUP,
    TIME,
    SurvivalData,
    SurvivalInputError,
    strata_codes,
    survival_data,
)
from sclero_analysis.survival.results import HypothesisTest
from sclero_analysis.survival.steps import estimates_at, step_lookup


@dataclass(frozen=True)
class CumulativeIncidence:
    """Cumulative incidence of one cause per group, with competing events.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per group and distinct time (any event or censoring): ``group, time, n_risk,
        n_event`` (patients at risk and events of the cause, unweighted as in R's multi-state
        survfit), ``cif, se, lower, upper``.
    cause : int
        Event code of interest.
    variance : str
        ``gray`` (cmprsk) or ``ij`` (survfit's infinitesimal jackknife, clustered when a
        ``cluster`` was given).
    conf_type : str
        Transform of the pointwise limits (``log-log`` on the CIF by default).
    endpoint : Endpoint
        Time origin and events of the frame (from its ``attrs``), for the axis titles.
    """

    summary: pd.DataFrame
    cause: int
    variance: str
    conf_type: str
    _data: SurvivalData
    _repeated: str | None = None  # identifier column whose ids repeat in these rows
    endpoint: Endpoint = Endpoint()

    def at(self, times, extend: bool = False) -> pd.DataFrame:
        """Cumulative incidence at fixed times with its CI, as R's ``summary(fit, times=)``.

        Parameters
        ----------
        times : sequence of float
            Times in the unit of the curve (months in the analysis frames).
        extend : bool
            False (R's default): beyond a group's last follow-up time the estimate and its
            limits are NaN (R leaves those rows out). True: the last values carried forward.

        Returns
        -------
        pandas.DataFrame
            One row per group and time: ``group, time, n_risk, estimate, se, lower, upper``,
            with the fit's variance (``gray``: ``cmprsk::timepoints``; ``ij``: R's multi-state
            ``survfit``, clustered when a cluster was given) and ``conf_type``. Before a
            group's first time the estimate is 0 with SE 0 and limits 0.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5], "event": [1, 2, 1, 0, 1]})
        >>> cumulative_incidence(df, group=None).at([0.5, 3])["estimate"].round(4).tolist()
        [0.0, 0.4]
        """
        return estimates_at(self.summary, times, "cif", 0.0, extend)

    def at_risk(self, times) -> pd.DataFrame:
        """Return the number at risk per group (rows) at each of ``times`` (columns)."""
        return step_lookup(self.summary, times, "n_risk", "right", 0.0)

    def competing_summary(self) -> pd.DataFrame:
        """Cumulative incidence of the competing events (all other causes together) per group.

        Returns
        -------
        pandas.DataFrame
            ``group, time, cif`` at the same times as :attr:`summary` (point estimates).
        """
        tables = []
        for level in self.summary["group"].cat.categories:
            s = steps_of(self._data.subset(np.asarray(self._data.group == level)))
            competing = np.cumsum(s.survival_before * s.d2 / s.n_risk)
            tables.append(pd.DataFrame({"group": level, "time": s.time, "cif": competing}))
        out = pd.concat(tables, ignore_index=True)
        out["group"] = pd.Categorical(out["group"], categories=self.summary["group"].cat.categories)
        return out

    def censored(self, times) -> pd.DataFrame:
        """Return the number censored up to each of ``times`` (columns) per group (rows)."""
        data = self._data
        rows = {}
        for level in self.summary["group"].cat.categories:
            censored_times = np.sort(data.time[(np.asarray(data.group == level)) & (data.status == 0)])
            rows[level] = np.searchsorted(censored_times, np.asarray(times, float), side="right")
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(times)).astype(float)
        frame.index.name = "group"
        return frame

    def plot(self, ax: Axes | None = None, ci: bool = True, risk_table: bool = True,
             competing: bool = False, pvalue: float | None = None, xlabel: str | None = None,
             ylabel: str | None = None, xlim=None, break_time: float | None = None,
             cumulative_events: bool = False, censor_table: bool = False,
             labels: Labels = None) -> Axes:
        """Draw the cumulative incidence per group with CI bands and tables under it.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Draw on it (its area is divided to hold the tables); default: a new figure sized
            to hold them (never the current one).
        ci : bool
        risk_table, cumulative_events, censor_table : bool
            Tables under the curves, one column per time tick: number at risk, cumulative
            number of events of the cause, cumulative number censored.
        competing : bool
            Also draw the competing events' cumulative incidence (dashed, same colours).
        pvalue : float, optional
            Written where no curve is (e.g. ``cif.gray_test().p_value``).
        xlabel, ylabel : str, optional
            Default: from the analysis frame ("Months since start of line", "Cumulative
            incidence of relapse (death competing)").
        xlim : float or (float, float), optional
            Time limits (a number: from 0); the tables follow.
        break_time : float, optional
            Months between ticks (and table columns).
        labels : mapping, optional
            Display labels of the groups.

        Returns
        -------
        matplotlib.axes.Axes
        """
        tables = curve_tables(self.summary, self.at_risk if risk_table else None, cumulative_events,
                              self.censored if censor_table else False)
        dashed_label = f"{(self.endpoint.competing or 'competing event').capitalize()} (dashed)"
        return plot_curves(self.summary, "cif", ax=ax, ci=ci, censor_marks=False, pvalue=pvalue,
                           xlabel=xlabel or self.endpoint.time_label(),
                           ylabel=ylabel or self.endpoint.incidence_label(), xlim=xlim,
                           break_time=break_time, tables=tables, labels=labels,
                           dashed=self.competing_summary() if competing else None,
                           dashed_label=dashed_label)

    def gray_test(self, rho: float = 0.0, strata: np.ndarray | None = None) -> HypothesisTest:
        """Gray's K-sample test that the groups' cumulative incidences are equal.

        Warns with :class:`~sclero_analysis.exceptions.RepeatedIdsWarning` when the rows
        repeat an identifier (Gray's test has no standard clustered form).
        """
        _warn_gray(self._repeated)
        return gray_statistic(self._data, rho, strata)


def cumulative_incidence(
    df: pd.DataFrame,
    time: str = TIME,
    event: str = EVENT,
    group: str | None = GROUP,
    cause: int = CAUSE,
    variance: Literal["gray", "ij"] | None = None,
    conf_type: Literal["log-log", "log", "plain"] = "log-log",
    conf_level: float = 0.95,
    weights: str | None = None,
    cluster: Cluster = None,
) -> CumulativeIncidence:
    """Aalen–Johansen cumulative incidence of ``cause``, other non-zero codes competing.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject, e.g. :func:`sclero_analysis.relapse_frame` (1 relapse, 2 death).
    time, event, group, cause
        Columns and the event code of interest; other non-zero codes are competing events.
    variance : {"gray", "ij"}, optional
        ``gray``: the delta-method variance of ``cmprsk::cuminc`` (the default without
        weights or clusters). ``ij``: the infinitesimal jackknife of R's multi-state
        ``survfit`` (the default, and the only choice, with weights or a cluster).
    conf_type : {"log-log", "log", "plain"}
        Transform for pointwise limits; ``log-log`` works on log(−log F).
    conf_level : float
        Confidence level.
    weights : str, optional
        Case weights (e.g. IPTW); the variance is then ``ij``.
    cluster : str, False or None
        Column whose rows belong together (``patient_id``): the IJ variance with each
        cluster's influence summed, as R's ``survfit(..., cluster=patient_id)``. ``False``:
        rows independent. ``None`` (default): independent, with a warning when the frame's
        identifier column (``df.attrs["cluster"]``) repeats.

    Returns
    -------
    CumulativeIncidence
        ``.summary`` (group, time, n_risk, n_event, cif, se, lower, upper), ``.at(times)``,
        ``.gray_test()``.

    Warns
    -----
    RepeatedIdsWarning
        ``cluster`` not given while the frame's identifier column repeats.

    Notes
    -----
    F̂₁(t) = Σ_{t_j ≤ t} Ŝ(t_{j−1}) d₁ⱼ/nⱼ with Ŝ the all-cause Kaplan–Meier.

    References
    ----------
    Aalen OO, Johansen S (1978). Scand J Stat 5:141-150. Gray RJ (1988). Ann Stat
    16:1141-1154.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5], "event": [1, 2, 1, 0, 1]})
    >>> cumulative_incidence(df, group=None).summary["cif"].round(4).tolist()
    [0.2, 0.2, 0.4, 0.4, 0.8]
    """
    codes = cluster_codes(df, cluster, "cumulative_incidence")
    variance = _variance_kind(variance, weights, codes)
    limits(np.array([0.5]), np.array([0.1]), conf_type, conf_level)  # validates conf_type
    data = survival_data(df, time=time, event=event, group=group, cause=cause, weights=weights,
                         cluster=codes)
    summary = (gray_table(data, conf_type, conf_level) if variance == "gray"
               else group_tables(data, weights is not None, conf_type, conf_level))
    return CumulativeIncidence(summary, cause, variance, conf_type, data,
                               _repeating(df, cluster), Endpoint.of(df, cause))


def _variance_kind(variance: str | None, weights: str | None, codes: np.ndarray | None) -> str:
    if variance not in (None, "gray", "ij"):
        raise ValueError(f"variance must be 'gray' or 'ij', not {variance!r}")
    if variance == "gray" and weights is not None:
        raise SurvivalInputError("cmprsk's variance is unweighted: use variance='ij' with weights")
    if variance == "gray" and codes is not None:
        raise SurvivalInputError("cmprsk's variance has no clustered form: use variance='ij' "
                                 "with cluster")
    if variance is None:
        return "gray" if weights is None and codes is None else "ij"
    return variance


def _repeating(df: pd.DataFrame, cluster: Cluster) -> str | None:
    """Return the identifier column whose ids repeat in ``df`` (given, or named by the frame)."""
    name = marked_cluster(df) if cluster is None else cluster or None
    return name if name is not None and repeated_ids(df, name) else None


def _warn_gray(repeated: str | None) -> None:
    if repeated is not None:
        warnings.warn(
            f"Gray's test treats the rows as independent, but '{repeated}' repeats: it has no "
            "standard clustered form, so its p-value is too small when a patient's lines are "
            "correlated (compare the clustered intervals of the curves instead)",
            RepeatedIdsWarning, stacklevel=3)


def gray_test(
    df: pd.DataFrame,
    time: str = TIME,
    event: str = EVENT,
    group: str = GROUP,
    cause: int = CAUSE,
    strata: str | None = None,
    rho: float = 0.0,
    cluster: Cluster = None,
) -> HypothesisTest:
    """Gray's test that cumulative incidence curves of ``cause`` are equal across groups.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject.
    time, event, group, cause
        Columns and event code of interest (other non-zero codes compete).
    strata : str, optional
        Stratify: scores and variances summed over strata.
    rho : float
        Weight (1 − F(t−))^rho.
    cluster : str, False or None
        Gray's test has no standard clustered form: a column whose ids repeat (given, or
        named by the frame's ``attrs["cluster"]`` when None) only brings a warning; ``False``
        silences it.

    Returns
    -------
    HypothesisTest
        Chi-square on (groups − 1) df, as ``cmprsk::cuminc(...)$Tests``.

    Warns
    -----
    RepeatedIdsWarning
        The rows repeat an identifier: the test treats them as independent.

    References
    ----------
    Gray RJ (1988). Ann Stat 16:1141-1154.
    """
    if cluster:
        cluster_codes(df, cluster, "gray_test")  # checks the column
    data = survival_data(df, time=time, event=event, group=group, cause=cause)
    _warn_gray(_repeating(df, cluster))
    return gray_statistic(data, rho, strata_codes(df, strata))
