"""Median follow-up by the reverse Kaplan–Meier method: censoring is the event.

The "reverse" curve estimates the distribution of the potential follow-up time (how long a
line would have been observed had no relapse or death ended it): every censored row is an
event of that curve and every relapse or death (any non-zero event code) censors it. Its
median is the median follow-up a reader expects in a results section, with the confidence
interval of R's ``print(survfit(Surv(time, event == 0) ~ 1))``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from matplotlib.axes import Axes

from sclero_analysis.survival.clusters import Cluster, cluster_codes
from sclero_analysis.survival.inputs import EVENT, TIME, SurvivalInputError, survival_data
from sclero_analysis.survival.nonparametric import KaplanMeier, kaplan_meier

#: The reverse curve's event column (a name no analysis frame uses).
_REVERSED = "_censored_"


@dataclass(frozen=True)
class FollowUp:
    """Median follow-up per group from the reverse Kaplan–Meier curve.

    Attributes
    ----------
    summary : pandas.DataFrame
        Indexed by group: ``n`` (rows), ``n_censored`` (the reverse curve's events),
        ``median, lower, upper`` (median follow-up and its confidence interval, in the unit of
        ``time``; NaN when not reached, as R's NA).
    reverse : KaplanMeier
        The reverse curve itself (``.summary``, ``.at(times)``, ``.plot()``): the probability
        of still being under observation.
    """

    summary: pd.DataFrame
    reverse: KaplanMeier

    def plot(self, ax: Axes | None = None, **kwargs) -> Axes:
        """Draw the reverse Kaplan–Meier curves (keywords as :meth:`KaplanMeier.plot`).

        Returns
        -------
        matplotlib.axes.Axes
        """
        kwargs.setdefault("ylabel", "Probability of remaining under follow-up")
        return self.reverse.plot(ax=ax, **kwargs)


def follow_up(
    df: pd.DataFrame,
    time: str = TIME,
    event: str = EVENT,
    group: str | None = None,
    conf_type: Literal["log", "log-log", "plain"] = "log",
    conf_level: float = 0.95,
    cluster: Cluster = None,
) -> FollowUp:
    """Median follow-up by the reverse Kaplan–Meier method, equal to R's ``survfit``.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject, e.g. :func:`sclero_analysis.relapse_frame`.
    time : str
        Follow-up time column (``time_months`` in the analysis frames).
    event : str
        Event code column: 0 censored; every other code (relapse, death …) is an event of
        the outcome and therefore *censors* the reverse curve.
    group : str, optional
        Grouping column; None (default) for one overall row labelled ``all``.
    conf_type : {"log", "log-log", "plain"}
        Transform of the limits the median's interval is read from (R's default ``log``).
    conf_level : float
        Confidence level.
    cluster : str, False or None
        Column whose rows belong together (``patient_id``): the clustered infinitesimal
        jackknife variance, as R's ``survfit(..., cluster = patient_id)``. ``False``: rows
        independent. ``None`` (default): independent, with a warning when the frame's
        identifier column (``df.attrs["cluster"]``) repeats.

    Returns
    -------
    FollowUp
        ``.summary`` indexed by group: ``n, n_censored, median, lower, upper``; ``.reverse``
        the reverse Kaplan–Meier curve.

    Raises
    ------
    SurvivalInputError
        As :func:`kaplan_meier` (missing columns, invalid times or codes).

    Warns
    -----
    SmallSampleWarning
        A group has no censored row: its reverse curve stays at 1 and the median follow-up
        is not reached.
    RepeatedIdsWarning
        ``cluster`` not given while the frame's identifier column repeats.

    Notes
    -----
    The reverse curve is R's ``survfit(Surv(time, event == 0) ~ group)``: a censored row is
    its event, a relapse or a death censors it. At a time with both, the censoring (now an
    event) comes first and the relapse (now censored) is still at risk, R's order of events
    before censorings applied to the reversed indicator. ``prodlim``'s reverse Kaplan–Meier
    (``prodlim(Hist(time, status) ~ 1, reverse = TRUE)``), which many R users quote, takes
    the relapse out of the risk set first at such ties and gives linear limits, so it can
    differ (R's ``lung``: median 588 days both ways, upper limit 821 there, 1010 here); this
    function matches ``survfit``.
    The median and its limits follow R's rule (:func:`kaplan_meier`). The median follow-up
    is not the median of the observed times, which mixes follow-up with time to event.

    References
    ----------
    Schemper M, Smith TL (1996). A note on quantifying follow-up in studies of failure time.
    Control Clin Trials 17:343-346.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"time_months": [2, 3, 3, 5, 7, 8, 10], "event": [1, 0, 1, 2, 1, 0, 2]})
    >>> fu = follow_up(df)
    >>> fu.summary[["n", "n_censored", "median", "lower"]].values.tolist()  # R: 7, 2, 8, 8
    [[7.0, 2.0, 8.0, 8.0]]
    """
    if _REVERSED in df.columns:
        raise SurvivalInputError(f"a column is named '{_REVERSED}', which follow_up needs")
    data = survival_data(df, time=time, event=event, group=group)  # names bad columns and rows
    frame = df.assign(**{_REVERSED: (data.status == 0).astype(int)})
    if cluster is None:  # the warning names this function, not kaplan_meier
        cluster_codes(df, None, "follow_up")
        cluster = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reverse = kaplan_meier(frame, time=time, event=_REVERSED, group=group, cause=1,
                               conf_type=conf_type, conf_level=conf_level, cluster=cluster)
    for w in caught:  # kaplan_meier's "no events" means "no censored rows" here
        message = str(w.message).replace("has no events: its curve stays at 1 and its median",
                                         "has no censored rows: its median follow-up")
        warnings.warn(message, w.category, stacklevel=2)
    return FollowUp(_summary(reverse, frame, group), reverse)


def _summary(reverse: KaplanMeier, frame: pd.DataFrame, group: str | None) -> pd.DataFrame:
    keys = frame[group] if group is not None else pd.Series("all", index=frame.index)
    n = keys.value_counts()
    censored = keys[frame[_REVERSED] == 1].value_counts()
    out = reverse.medians.copy()
    out.insert(0, "n_censored", [int(censored.get(g, 0)) for g in out.index])
    out.insert(0, "n", [int(n.get(g, 0)) for g in out.index])
    return out
