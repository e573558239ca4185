"""Sizing the registry-planning study of notebook 05 from the data: sizes, relapse rates, gaps.

The simulated registries follow the default :class:`~sclero_analysis.RegistryDesign` (effects,
response, relapse and death rates calibrated to the published series); the data analysed set
one of the sizes simulated (the registry's own), and their relapse rate is compared with the
design's so that the reader knows whether the plan's power is optimistic or conservative for
a registry like theirs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.cohort import relapse_frame
from sclero_analysis.exceptions import ScleroWarning

#: Registry sizes simulated in a full report and in a fast one (the data's own size is added).
SIZES = (50, 100, 200, 400, 800)
FAST_SIZES = (50, 100, 200)


def planning_sizes(n_patients: int | None, fast: bool = False) -> list[int]:
    """Return the registry sizes to simulate: the default grid plus the data's own size.

    Parameters
    ----------
    n_patients : int, optional
        Patients in the data analysed (None: the grid alone).
    fast : bool
        The shorter grid of a fast report.

    Returns
    -------
    list of int
        Sorted, without repeats.

    Examples
    --------
    >>> planning_sizes(15, fast=True)
    [15, 50, 100, 200]
    >>> planning_sizes(400)
    [50, 100, 200, 400, 800]
    """
    grid = set(FAST_SIZES if fast else SIZES)
    if n_patients:
        grid.add(int(n_patients))
    return sorted(grid)


@dataclass(frozen=True)
class RelapseRate:
    """First relapses (or progressions) per line-month of follow-up on the lines of a case series.

    Attributes
    ----------
    lines : int
        Analysable lines (relapse frame rows).
    relapses : int
        Lines ending in a relapse or progression (event 1).
    line_months : float
        Follow-up summed over lines (months).
    """

    lines: int
    relapses: int
    line_months: float

    @property
    def per_100(self) -> float:
        """Relapses per 100 line-months (NaN without follow-up)."""
        return 100 * self.relapses / self.line_months if self.line_months > 0 else float("nan")


def relapse_rate(cs: CaseSeries) -> RelapseRate:
    """Count the relapses and the follow-up of every analysable line.

    Parameters
    ----------
    cs : CaseSeries

    Returns
    -------
    RelapseRate

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> rate = relapse_rate(sa.load_example())
    >>> 0 < rate.per_100 < 100
    True
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScleroWarning)  # zero-follow-up lines are left out, as in 01
        df = relapse_frame(cs)
    return RelapseRate(len(df), int((df["event"] == 1).sum()), float(df["time_months"].sum()))


def planning_gaps(summary: pd.DataFrame, n_patients: int) -> list[tuple[str, str]]:
    """List the analyses that no simulated registry of the data's size could fit, in numbers.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``StudyResult.summary`` of a study varying ``n_patients``.
    n_patients : int
        The data's size (one of the simulated sizes).

    Returns
    -------
    list of (section, reason)
        Empty when every analysis was fitted at least once at that size.

    Examples
    --------
    >>> summary = pd.DataFrame({"n_patients": [8, 8], "analysis": ["naive_cox", "iptw_cox"],
    ...                         "n_reps": [20, 20], "n_used": [6, 0]})
    >>> planning_gaps(summary, 8)[0][1][:58]
    'iptw_cox could not be fitted in any of 20 simulated 8-pati'
    """
    own = summary[(summary["n_patients"] == n_patients) & (summary["n_used"] == 0)]
    if own.empty:
        return []
    names = " and ".join(own["analysis"])
    reps = int(own["n_reps"].max())
    return [("Power at the registry's size",
             f"{names} could not be fitted in any of {reps} simulated {n_patients}-patient registries "
             "(too few lines per tier or no relapse), so power, bias and coverage at this size are not "
             "estimable for it; the larger sizes are shown")]
