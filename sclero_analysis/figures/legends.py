"""Legends outside the data: in rows above the axes, as many entries per row as fit.

A legend inside the plotting area covers curves, p-values or panel labels sooner or later; a
legend above the axes (as survminer draws it) never does.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.legend import Legend

from sclero_analysis.figures.risktable import RISK_TABLE_LABEL as TABLE_LABEL
from sclero_analysis.figures.text import POINTS_PER_INCH, font_points, text_width

#: Spacing of legends drawn here, in font sizes (matplotlib's defaults are 2.0 and 0.8).
COLUMN_SPACING = 1.2
HANDLE_LENGTH = 1.6
HANDLE_PAD = 0.5


def axes_width_points(ax: Axes) -> float:
    """Width of the Axes in points as now placed (a layout engine may narrow it later)."""
    figure_width = ax.figure.get_figwidth() * POINTS_PER_INCH
    return ax.get_position().width * figure_width


def left_decoration_points(ax: Axes, extra_labels=()) -> float:
    """Room the y tick labels and the y label take left of the Axes, in points (an estimate).

    ``extra_labels`` are texts that will stand left of the axis too (a risk table's rows).
    """
    size = mpl.rcParams["ytick.labelsize"]
    ticks = max([text_width(t.get_text(), size) for t in ax.get_yticklabels() if t.get_text()] or [0.0])
    extra = max([text_width(str(t), size) for t in extra_labels] or [0.0])
    ylabel = ax.get_ylabel()
    lines = ylabel.count("\n") + 1 if ylabel else 0
    return max(ticks + lines * 1.3 * font_points(None) + 12.0, extra + 16.0)


def room_above(ax: Axes, extra_labels=()) -> float:
    """Width a legend above the Axes can take: the axes' width once the layout made room left."""
    if ax.figure.get_layout_engine() is None:
        return axes_width_points(ax)
    figure_width = ax.figure.get_figwidth() * POINTS_PER_INCH
    # one panel of several: its share of the figure as placed now
    return min(figure_width - left_decoration_points(ax, extra_labels) - 8.0, axes_width_points(ax))


def columns_that_fit(labels: Sequence[str], room_points: float, size: str | float = "small") -> int:
    """How many legend entries fit side by side in ``room_points`` (at least one).

    Examples
    --------
    >>> columns_that_fit(["IVIG", "Other"], 1000)
    2
    >>> columns_that_fit(["Immunosuppression"] * 4, 100)
    1
    """
    em = font_points(size)
    widths = [text_width(t, size) + (HANDLE_LENGTH + HANDLE_PAD + COLUMN_SPACING) * em for t in labels]
    for ncol in range(len(widths), 1, -1):
        columns = np.array_split(np.asarray(widths), ncol)  # as matplotlib fills a legend's columns
        if sum(float(col.max()) for col in columns if len(col)) <= room_points:
            return ncol
    return 1


def alone_in_figure(ax: Axes) -> bool:
    """Whether ``ax`` (with the tables drawn under it) is all its figure holds."""
    return all(a is ax or a.get_label() == TABLE_LABEL for a in ax.figure.axes)


def legend_above(ax: Axes, handles: Sequence | None = None, labels: Sequence[str] | None = None,
                 size: str | float = "small", room_points: float | None = None) -> Legend | None:
    """Put the legend in rows above the plot.

    When the Axes (and its tables) is the whole figure and the figure has constrained layout,
    the legend is the figure's, at its top: a title the user sets later stands between it and
    the plot, and the layout settles in one pass. In a figure of several panels it is the
    Axes' own, left-aligned just above it.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    handles, labels : sequence, optional
        Default: the axes' labelled artists.
    size : str or float
        Font size of the entries.
    room_points : float, optional
        Width available to an Axes' legend (default: the axes' width once laid out).

    Returns
    -------
    matplotlib.legend.Legend or None
        None when there is nothing to show.
    """
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    if alone_in_figure(ax) and isinstance(ax.figure.get_layout_engine(), ConstrainedLayoutEngine):
        return figure_legend_above(ax.figure, handles, labels, size)
    room = room_points if room_points is not None else room_above(ax)
    ncol = columns_that_fit([str(t) for t in labels], room, size)
    return ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=ncol,
                     fontsize=size, frameon=False, borderaxespad=0.2, borderpad=0.2,
                     handlelength=HANDLE_LENGTH, handletextpad=HANDLE_PAD,
                     columnspacing=COLUMN_SPACING, labelspacing=0.3)


def legend_of(ax: Axes) -> Legend | None:
    """Return the legend of ``ax``: its own, or its figure's when the Axes stands alone."""
    if ax.get_legend() is not None:
        return ax.get_legend()
    return ax.figure.legends[0] if ax.figure.legends and alone_in_figure(ax) else None


def figure_legend_above(fig, handles: Sequence, labels: Sequence[str], size: str | float = "small"):
    """Put a figure-wide legend above every panel (constrained layout keeps room for it)."""
    room = fig.get_figwidth() * POINTS_PER_INCH - 12
    ncol = columns_that_fit([str(t) for t in labels], room, size)
    loc = "outside upper center" if fig.get_layout_engine() is not None else "upper center"
    return fig.legend(handles, labels, loc=loc, ncol=ncol, fontsize=size, frameon=False,
                      handlelength=HANDLE_LENGTH, handletextpad=HANDLE_PAD,
                      columnspacing=COLUMN_SPACING, labelspacing=0.3)
