"""Step curves per group with confidence bands, censor marks and a number-at-risk table.

The figure receives everything it shows: the result's curve table and its own at-risk lookup,
called at the axis ticks, so the numbers under the plot are the result's, never recounted here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from sclero_analysis.figures.style import colours_for, new_axes
from sclero_analysis.formatting import format_p

RISK_TABLE_LABEL = "risk_table"


def _curve_xy(curve: pd.DataFrame, column: str, start: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.r_[0.0, curve["time"].to_numpy(float)]
    y = np.r_[start, curve[column].to_numpy(float)]
    return x, y


def _band(ax: Axes, curve: pd.DataFrame, start: float, colour: str) -> None:
    x = np.r_[0.0, curve["time"].to_numpy(float)]
    lower = np.r_[start, curve["lower"].to_numpy(float)]
    upper = np.r_[start, curve["upper"].to_numpy(float)]
    ok = np.isfinite(lower) & np.isfinite(upper)
    ax.fill_between(x[ok], lower[ok], upper[ok], step="post", color=colour, alpha=0.15, lw=0)


def _censor_marks(ax: Axes, curve: pd.DataFrame, column: str, colour: str) -> None:
    if "n_censor" in curve.columns:
        censored = curve[curve["n_censor"] > 0]
    else:  # cumulative incidence tables: censoring where nobody had any event at that time
        censored = curve.iloc[0:0]
    ax.plot(censored["time"], censored[column], ls="none", marker="|", ms=4, mew=0.6, color=colour)


def risk_table(ax: Axes, at_risk: Callable[[Sequence[float]], pd.DataFrame], colours: dict[str, str],
               title: str = "Number at risk") -> Axes:
    """Write the number at risk per group under ``ax``, one column per x tick.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The curve axes; its x ticks (within the limits) are the table's columns.
    at_risk : callable
        The result's own lookup (e.g. ``KaplanMeier.at_risk``): times → groups × times.
    colours : dict
        Group → colour of its row label.
    title : str
        Title of the table.

    Returns
    -------
    matplotlib.axes.Axes
        The table's axes (label ``risk_table``), sharing the x axis with ``ax``.
    """
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo - 1e-9 <= t <= hi + 1e-9]
    counts = at_risk(ticks)
    rows = len(counts)
    height = 0.06 + 0.06 * rows
    table = ax.inset_axes([0.0, -0.2 - height, 1.0, height], sharex=ax)
    table.set_label(RISK_TABLE_LABEL)
    table.set_ylim(rows - 0.5, -0.5)
    for i, (_, values) in enumerate(counts.iterrows()):
        for t, n in zip(ticks, values, strict=True):
            table.text(t, i, f"{n:.0f}", ha="center", va="center", fontsize="small")
    table.set_yticks(range(rows), [str(g) for g in counts.index], fontsize="small")
    for label, group in zip(table.get_yticklabels(), counts.index, strict=True):
        label.set_color(colours.get(str(group), "black"))
    table.tick_params(left=False, bottom=False, labelbottom=False)
    for spine in table.spines.values():
        spine.set_visible(False)
    table.set_title(title, loc="left", fontsize="small", pad=2)
    return table


def plot_curves(
    summary: pd.DataFrame,
    column: str,
    at_risk: Callable[[Sequence[float]], pd.DataFrame] | None = None,
    ax: Axes | None = None,
    ci: bool = True,
    censor_marks: bool = True,
    medians: pd.DataFrame | None = None,
    pvalue: float | None = None,
    xlabel: str = "Months",
    ylabel: str = "Probability",
    start: float | None = None,
    dashed: pd.DataFrame | None = None,
    dashed_label: str = "competing event",
) -> Axes:
    """Draw one step curve per group of a survival or incidence table.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``group, time, <column>, lower, upper`` (and ``n_censor`` for censor marks).
    column : str
        ``survival`` (curves start at 1) or ``cif``/``estimate`` of incidence (start at 0).
    at_risk : callable, optional
        The result's at-risk lookup; draws the number-at-risk table under the axes.
    ax : matplotlib.axes.Axes, optional
        Draw on it; default: a new figure (never the current one).
    ci, censor_marks : bool
        Confidence bands; censoring ticks.
    medians : pandas.DataFrame, optional
        Indexed by group with ``median``: dashed guides at 0.5 to each median.
    pvalue : float, optional
        A test's p-value printed in the corner (e.g. log-rank).
    xlabel, ylabel : str
    start : float, optional
        Value of every curve at time 0 (default: 1 for ``survival``, 0 otherwise).
    dashed : pandas.DataFrame, optional
        Second curves per group (``group, time`` and ``column``), drawn dashed in the group's
        colour, e.g. the competing event's cumulative incidence.
    dashed_label : str
        Legend entry of the dashed curves.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = ax if ax is not None else new_axes()
    if start is None:
        start = 1.0 if column == "survival" else 0.0
    groups = [str(g) for g in pd.unique(summary["group"].astype(str))]
    colours = colours_for(groups)
    last = float(summary["time"].max()) if len(summary) else 1.0
    for group, curve in summary.groupby(summary["group"].astype(str), sort=False):
        x, y = _curve_xy(curve, column, start)
        ax.step(x, y, where="post", color=colours[group], label=group)
        if ci and {"lower", "upper"} <= set(curve.columns):
            _band(ax, curve, start, colours[group])
        if censor_marks:
            _censor_marks(ax, curve, column, colours[group])
    if dashed is not None:
        for group, curve in dashed.groupby(dashed["group"].astype(str), sort=False):
            x, y = _curve_xy(curve, column, start)
            ax.step(x, y, where="post", color=colours.get(group, "grey"), ls="--", lw=0.8)
        ax.plot([], [], color="grey", ls="--", lw=0.8, label=dashed_label)
    if medians is not None:
        _median_guides(ax, medians, colours)
    if pvalue is not None:
        ax.text(0.03, 0.04 if start == 1 else 0.95, format_p(pvalue, prefix=True),
                transform=ax.transAxes, ha="left",
                va="bottom" if start == 1 else "top")
    ax.set_xlim(0, last)
    ax.set_ylim(0, 1.02)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 3, 6, 10], integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper right" if start == 1 else "best")
    if at_risk is not None:
        risk_table(ax, at_risk, colours)
    return ax


def _median_guides(ax: Axes, medians: pd.DataFrame, colours: dict[str, str]) -> None:
    for group, value in medians["median"].items():
        if np.isfinite(value):
            ax.plot([0, value, value], [0.5, 0.5, 0], ls="--", lw=0.6, color=colours.get(str(group), "grey"))

