"""Step curves per group with confidence bands, censor marks and tables under them.

The figure receives everything it shows: the result's curve table and its own lookups (number
at risk, and optionally cumulative events and censorings), called at the axis ticks, so the
numbers under the plot are the result's, never recounted here. The tables sit inside the
figure in Axes of their own that share the curve's x axis (see :mod:`.risktable`); the legend
is above the curves and a p-value goes to a free corner (or into the legend when no corner
is free), so neither ever covers the other or a curve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, MultipleLocator

from sclero_analysis.figures.freespace import CORNERS, Drawn, free_corner
from sclero_analysis.figures.legends import legend_above, room_above
from sclero_analysis.figures.panels import new_figure_with_tables, split_below
from sclero_analysis.figures.risktable import (
    RISK_TABLE_LABEL,
    Table,
    cumulative_lookup,
    draw_table,
    table_height_points,
)
from sclero_analysis.figures.style import colours_for, new_axes
from sclero_analysis.figures.text import POINTS_PER_INCH, wrap_to
from sclero_analysis.formatting import format_p
from sclero_analysis.labels import Labels, level_labels

__all__ = ["RISK_TABLE_LABEL", "Table", "curve_tables", "plot_curves", "risk_table", "table_axes"]

Lookup = Callable[[Sequence[float]], pd.DataFrame]
XLim = float | tuple[float, float] | None


def _curve_xy(curve: pd.DataFrame, column: str, start: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.r_[0.0, curve["time"].to_numpy(float)]
    y = np.r_[start, curve[column].to_numpy(float)]
    return x, y


def _band(ax: Axes, curve: pd.DataFrame, start: float, colour: str, drawn: Drawn) -> None:
    x = np.r_[0.0, curve["time"].to_numpy(float)]
    lower = np.r_[start, curve["lower"].to_numpy(float)]
    upper = np.r_[start, curve["upper"].to_numpy(float)]
    ok = np.isfinite(lower) & np.isfinite(upper)
    ax.fill_between(x[ok], lower[ok], upper[ok], step="post", color=colour, alpha=0.15, lw=0)
    drawn.band(x, lower, upper)


def _censor_marks(ax: Axes, curve: pd.DataFrame, column: str, colour: str) -> bool:
    if "n_censor" not in curve.columns:  # cumulative incidence tables carry no censoring counts
        return False
    censored = curve[curve["n_censor"] > 0]
    ax.plot(censored["time"], censored[column], ls="none", marker="|", ms=4, mew=0.6, color=colour)
    return bool(len(censored))


def _xlim(summary: pd.DataFrame, xlim: XLim) -> tuple[float, float]:
    if xlim is None:
        return 0.0, float(summary["time"].max()) if len(summary) else 1.0
    if np.isscalar(xlim):
        return 0.0, float(xlim)
    lo, hi = xlim
    return float(lo), float(hi)


def table_axes(ax: Axes) -> list[Axes]:
    """Return the table Axes drawn under a curve plot, top to bottom (empty without tables)."""
    tables = [a for a in ax.figure.axes if a.get_label() == RISK_TABLE_LABEL and a is not ax
              and ax in a.get_shared_x_axes().get_siblings(a)]
    return sorted(tables, key=lambda a: -a.get_position().y0)


def curve_tables(summary: pd.DataFrame, at_risk: Lookup | None, cumulative_events: bool = False,
                 censored: bool | Lookup = False, weighted: bool = False) -> list[Table]:
    """Build the tables under a curve plot, in survminer's order: at risk, events, censored.

    Parameters
    ----------
    summary : pandas.DataFrame
        The result's curve table (``group, time, n_event`` and ``n_censor`` when those tables
        are asked for).
    at_risk : callable or None
        The result's at-risk lookup (None: no number-at-risk table).
    cumulative_events : bool
        Cumulative number of events of the cause up to each tick (from ``n_event``).
    censored : bool or callable
        Cumulative number censored up to each tick (from ``n_censor``, or the given lookup).
    weighted : bool
        The numbers at risk are sums of weights (the title says so).

    Returns
    -------
    list of Table
    """
    tables = []
    if at_risk is not None:
        tables.append(Table("Weighted number at risk" if weighted else "Number at risk", at_risk))
    if cumulative_events:
        tables.append(Table("Cumulative number of events", cumulative_lookup(summary, "n_event")))
    if censored is not False:
        lookup = censored if callable(censored) else cumulative_lookup(summary, "n_censor")
        tables.append(Table("Cumulative number censored", lookup))
    return tables


def risk_table(ax: Axes, at_risk: Lookup, colours: dict[str, str] | None = None,
               title: str = "Number at risk", labels: Labels = None) -> Axes:
    """Add a number-at-risk table under a curve plot, inside its figure.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The curve axes; its visible x ticks are the table's columns (they follow later changes
        of the limits or ticks). Its area is divided: the table takes the bottom.
    at_risk : callable
        The result's own lookup (e.g. ``KaplanMeier.at_risk``): times → groups × times.
    colours : dict, optional
        Group → colour of its row label (default: the tier colours).
    title : str
    labels : mapping, optional
        Display labels of the groups (see :func:`sclero_analysis.labels.label`).

    Returns
    -------
    matplotlib.axes.Axes
        The table's axes (label ``risk_table``), sharing the x axis with ``ax``.
    """
    groups = [str(g) for g in at_risk([0.0]).index]
    (table,) = split_below(ax, [table_height_points(len(groups))])
    draw_table(ax, table, Table(title, at_risk), colours or colours_for(groups),
               level_labels(groups, labels))
    return table


def _axes(ax: Axes | None, tables: Sequence[Table]) -> tuple[Axes, list[Axes]]:
    heights = [table_height_points(len(t.lookup([0.0]))) for t in tables]
    if ax is None:
        return new_figure_with_tables(heights) if tables else (new_axes(), [])
    return ax, split_below(ax, heights)


def _draw_curves(ax, summary, column, start, colours, names, ci, censor_marks, drawn) -> bool:
    censored = False
    for group, curve in summary.groupby(summary["group"].astype(str), sort=False):
        x, y = _curve_xy(curve, column, start)
        ax.step(x, y, where="post", color=colours[group], label=names[group])
        drawn.step(x, y)
        if ci and {"lower", "upper"} <= set(curve.columns):
            _band(ax, curve, start, colours[group], drawn)
        if censor_marks:
            censored |= _censor_marks(ax, curve, column, colours[group])
    return censored


def _draw_dashed(ax, dashed, column, start, colours, drawn) -> None:
    for group, curve in dashed.groupby(dashed["group"].astype(str), sort=False):
        x, y = _curve_xy(curve, column, start)
        ax.step(x, y, where="post", color=colours.get(group, "grey"), ls="--", lw=0.8)
        drawn.step(x, y)


def _median_guides(ax: Axes, medians: pd.DataFrame, colours: dict[str, str], drawn: Drawn) -> None:
    for group, value in medians["median"].items():
        if np.isfinite(value):
            ax.plot([0, value, value], [0.5, 0.5, 0], ls="--", lw=0.6, color=colours.get(str(group), "grey"))
            drawn.line([0, value, value], [0.5, 0.5, 0])


def _axis_titles(ax: Axes, xlabel: str, ylabel: str) -> None:
    fig = ax.figure
    box = ax.get_position()
    ax.set_xlabel(wrap_to(xlabel, box.width * fig.get_figwidth() * POINTS_PER_INCH))
    # constrained layout will give the tick labels room: wrap to a little less than the height
    ax.set_ylabel(wrap_to(ylabel, 0.9 * box.height * fig.get_figheight() * POINTS_PER_INCH))


def _legend(ax: Axes, censored: bool, dashed_label: str | None, note: str | None, names) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if censored:
        handles.append(Line2D([], [], ls="none", marker="|", ms=4, mew=0.6, color="0.3"))
        labels.append("Censored")
    if dashed_label:
        handles.append(Line2D([], [], color="grey", ls="--", lw=0.8))
        labels.append(dashed_label)
    if note:
        handles.append(Line2D([], [], ls="none"))
        labels.append(note)
    legend_above(ax, handles, labels, room_points=room_above(ax, names))


def _pvalue(ax: Axes, pvalue: float | None, start: float, drawn: Drawn) -> str | None:
    """Write the p-value in a free corner; return it for the legend when no corner is free."""
    if pvalue is None or not np.isfinite(pvalue):
        return None
    text = format_p(pvalue, prefix=True)
    order = (("lower left", "upper right", "lower right", "upper left") if start == 1
             else ("upper left", "lower right", "upper right", "lower left"))
    corner = free_corner(ax, drawn, text, order)
    if corner is None:
        return text
    x, y, ha, va = CORNERS[corner]
    ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va)
    return None


def plot_curves(
    summary: pd.DataFrame,
    column: str,
    at_risk: Lookup | None = None,
    ax: Axes | None = None,
    ci: bool = True,
    censor_marks: bool = True,
    medians: pd.DataFrame | None = None,
    pvalue: float | None = None,
    xlabel: str = "Months",
    ylabel: str = "Probability",
    start: float | None = None,
    dashed: pd.DataFrame | None = None,
    dashed_label: str = "Competing event",
    xlim: XLim = None,
    break_time: float | None = None,
    tables: Sequence[Table] = (),
    labels: Labels = None,
) -> Axes:
    """Draw one step curve per group of a survival or incidence table, with tables under it.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``group, time, <column>, lower, upper`` (and ``n_censor`` for censor marks).
    column : str
        ``survival`` (curves start at 1) or ``cif``/``estimate`` of incidence (start at 0).
    at_risk : callable, optional
        The result's at-risk lookup: a "Number at risk" table under the curves.
    ax : matplotlib.axes.Axes, optional
        Draw on it (its area is divided when there are tables); default: a new figure sized to
        hold the tables (never the current one).
    ci, censor_marks : bool
        Confidence bands; censoring ticks (in the legend as "Censored").
    medians : pandas.DataFrame, optional
        Indexed by group with ``median``: dashed guides at 0.5 to each median.
    pvalue : float, optional
        A test's p-value, written in a corner no curve or band crosses (or in the legend).
    xlabel, ylabel : str
        Axis titles (wrapped to the room they have).
    start : float, optional
        Value of every curve at time 0 (default: 1 for ``survival``, 0 otherwise).
    dashed : pandas.DataFrame, optional
        Second curves per group (``group, time`` and ``column``), drawn dashed in the group's
        colour, e.g. the competing event's cumulative incidence.
    dashed_label : str
        Legend entry of the dashed curves.
    xlim : float or (float, float), optional
        Time axis limits (a number: from 0); default: 0 to the last time.
    break_time : float, optional
        Distance between time ticks (and so between the tables' columns), as survminer's
        ``break.time.by``; default: about six round ticks.
    tables : sequence of Table
        Further tables (after the number at risk), e.g. cumulative events.
    labels : mapping, optional
        Display labels of the groups for this figure (see :func:`sclero_analysis.labels.label`).

    Returns
    -------
    matplotlib.axes.Axes
        The curve axes; the tables are :func:`table_axes` of it.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> km = sa.kaplan_meier(sa.relapse_frame(sa.load_example()), cluster="patient_id")
    >>> ax = plot_curves(km.summary, "survival", km.at_risk, xlim=36, break_time=12)
    >>> from sclero_analysis.figures import legend_of
    >>> [t.get_text() for t in legend_of(ax).get_texts()][:2]
    ['IVIG', 'Immunosuppression']
    >>> [float(t) for t in ax.get_xticks() if 0 <= t <= 36]
    [0.0, 12.0, 24.0, 36.0]
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    if start is None:
        start = 1.0 if column == "survival" else 0.0
    all_tables = ([Table("Number at risk", at_risk)] if at_risk is not None else []) + list(tables)
    ax, table_list = _axes(ax, all_tables)
    groups = [str(g) for g in pd.unique(summary["group"].astype(str))]
    colours, names = colours_for(groups), level_labels(groups, labels)
    drawn = Drawn()
    censored = _draw_curves(ax, summary, column, start, colours, names, ci, censor_marks, drawn)
    if dashed is not None:
        _draw_dashed(ax, dashed, column, start, colours, drawn)
    if medians is not None:
        _median_guides(ax, medians, colours, drawn)
    ax.set_xlim(*_xlim(summary, xlim))
    ax.set_ylim(0, 1.02)
    ax.xaxis.set_major_locator(MultipleLocator(break_time) if break_time else
                               MaxNLocator(nbins=6, steps=[1, 2, 3, 6, 10], integer=True))
    _axis_titles(ax, xlabel, ylabel)
    for table_ax, table in zip(table_list, all_tables, strict=True):
        draw_table(ax, table_ax, table, colours, names)
    note = _pvalue(ax, pvalue, start, drawn)
    _legend(ax, censored, dashed_label if dashed is not None else None, note,
            names.values() if table_list else ())
    return ax
