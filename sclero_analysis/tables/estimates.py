"""Tables of survival estimates: medians with "not reached", and curves at fixed times."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sclero_analysis.formatting import format_median
from sclero_analysis.tables.table import Table

NR_NOTE = "NR: not reached (the curve or its confidence limit never falls to 0.5)."


def _median_rows(result) -> tuple[pd.DataFrame, str, str]:
    """(frame indexed by group with count columns and median, lower, upper), count label, what."""
    summary = result.summary
    if "n_censored" in summary.columns:  # a FollowUp
        frame = summary.rename(columns={"n": "N", "n_censored": "Censored"})
        return frame, "Censored", "Median follow-up"
    curves = summary.groupby("group", observed=True, sort=False)
    counts = pd.DataFrame({"N": curves["n_risk"].first(), "Events": curves["n_event"].sum()})
    return counts.join(result.medians), "Events", "Median"


def _count(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def median_table(result, decimals: int = 1, unit: str = "months", title: str = "") -> Table:
    """Median time per group with its 95% CI, "not reached" where the curve stays above 0.5.

    Parameters
    ----------
    result : KaplanMeier or FollowUp
        :func:`sclero_analysis.kaplan_meier` (median time to the event) or
        :func:`sclero_analysis.follow_up` (median follow-up by the reverse Kaplan–Meier).
    decimals : int
    unit : str
        Unit of the times, named in the header (months in the analysis frames).
    title : str

    Returns
    -------
    Table
        One row per group: ``N``, ``Events`` (or ``Censored`` for follow-up; weighted counts
        with case weights) and ``Median (95% CI), <unit>``; ``.values`` holds ``median``,
        ``lower`` and ``upper``.

    Examples
    --------
    >>> import pandas as pd
    >>> import sclero_analysis as sa
    >>> df = pd.DataFrame({"time_months": [1, 2, 3, 4, 5, 6], "event": [1, 1, 0, 1, 0, 0],
    ...                    "tier": list("aaabbb")})
    >>> median_table(sa.kaplan_meier(df)).summary.iloc[:, 2].tolist()
    ['2.0 (1.0–NR)', 'not reached (4.0–NR)']
    """
    frame, count, what = _median_rows(result)
    cells = pd.DataFrame({
        "N": [_count(v) for v in frame["N"]],
        count: [_count(v) for v in frame[count]],
        f"{what} (95% CI), {unit}": [format_median(m, lo, up, decimals) for m, lo, up in
                                     frame[["median", "lower", "upper"]].to_numpy(dtype=float)],
    }, index=pd.Index([str(g) for g in frame.index]))
    notes = [NR_NOTE]
    if what == "Median follow-up":
        notes.insert(0, "Median follow-up by the reverse Kaplan–Meier method (censoring as the "
                        "event; relapses and deaths censor it).")
    values = {k: frame[k].astype(float).set_axis(cells.index) for k in ("median", "lower", "upper")}
    return Table(cells, values, title, tuple(notes))


def survival_table(result, times: Sequence[float], decimals: int = 0, unit: str = "months",
                   title: str = "", extend: bool = False) -> Table:
    """Survival (or cumulative incidence) at fixed times, in percent with its 95% CI.

    Parameters
    ----------
    result : KaplanMeier or CumulativeIncidence
        Anything with ``.at(times)`` (:meth:`KaplanMeier.at`, :meth:`CumulativeIncidence.at`).
    times : sequence of float
        Times in the unit of the curve, e.g. ``[12, 24, 36]`` months.
    decimals : int
        Decimals of the percentages.
    unit : str
        Unit of the times, named in the headers.
    title : str
    extend : bool
        As :meth:`KaplanMeier.at`: by default a time beyond a group's last follow-up is left
        blank (not estimable) rather than carried forward.

    Returns
    -------
    Table
        One row per group, one column per time (``12 months``): ``85% (78–92%)``, the
        estimate alone where its interval is undefined (a log-log limit at 0 or 1), blank
        beyond the follow-up. ``.values["estimate"]``, ``["lower"]``, ``["upper"]`` hold the
        numbers (groups × times).

    Examples
    --------
    >>> import pandas as pd
    >>> import sclero_analysis as sa
    >>> df = pd.DataFrame({"time_months": [1, 2, 2, 3, 4], "event": [1, 1, 1, 0, 1]})
    >>> survival_table(sa.kaplan_meier(df, group=None), [1, 2]).summary.loc["all"].tolist()
    ['80% (52–100%)', '40% (14–100%)']
    """
    at = result.at(times, extend=extend)
    at["group"] = at["group"].astype(str)
    wide = {k: at.pivot(index="group", columns="time", values=k).reindex(
        index=list(dict.fromkeys(at["group"]))) for k in ("estimate", "lower", "upper")}
    headers = [f"{t:g} {unit}" for t in wide["estimate"].columns]

    def cell(estimate: float, lower: float, upper: float) -> str:
        if not np.isfinite(estimate):
            return ""
        pct = [f"{100 * v:.{decimals}f}" if np.isfinite(v) else "NA" for v in (estimate, lower, upper)]
        if not (np.isfinite(lower) or np.isfinite(upper)):  # no interval (log-log at 0 or 1)
            return f"{pct[0]}%"
        return f"{pct[0]}% ({pct[1]}–{pct[2]}%)"

    cells = pd.DataFrame(
        [[cell(*(wide[k].iloc[i, j] for k in ("estimate", "lower", "upper")))
          for j in range(len(headers))] for i in range(len(wide["estimate"]))],
        index=pd.Index(wide["estimate"].index, name=None), columns=headers)
    what = "Kaplan–Meier survival" if "survival" in result.summary.columns else "Cumulative incidence"
    notes = (f"{what} in percent (95% confidence interval) at each time; blank: beyond the last "
             "follow-up.",)
    return Table(cells, wide, title, notes)
