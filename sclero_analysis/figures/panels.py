"""Panels under a plot: room for tables inside the figure, taken from the plot's own area.

A figure made here is sized to hold its tables; an Axes given by the user is split (its
subplot cell is divided), so the tables never fall outside the figure and a plain ``savefig``
keeps them. Figures get constrained layout unless they already have a layout engine, so that
labels, legends and tables are spaced by measurement rather than by guesswork.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
from matplotlib.axes import Axes

from sclero_analysis.figures.text import POINTS_PER_INCH, font_points

#: Room a table's title and the curve's tick labels and x label take, in font sizes.
TITLE_LINES = 1.8
AXIS_LINES = 4.0
#: Room around a curve Axes of a new figure (legend rows above, ticks and x label below).
CURVE_LINES = 8.0


def new_figure_with_tables(table_heights: Sequence[float], figsize: tuple[float, float] | None = None):
    """Make a new figure whose curve Axes keeps the style's size and whose height grows with the tables.

    Returns the curve Axes and one Axes per table (sharing x with the curve), top to bottom.
    """
    import matplotlib.pyplot as plt

    width, height = figsize or mpl.rcParams["figure.figsize"]
    fs = font_points(None)
    extra = sum(h + TITLE_LINES * fs for h in table_heights) / POINTS_PER_INCH
    fig = plt.figure(figsize=(width, height + extra), layout="constrained")
    ax = fig.add_subplot()
    return ax, split_below(ax, table_heights, curve_points=height * POINTS_PER_INCH - CURVE_LINES * fs)


def keep_inside(fig) -> None:
    """Give a figure without a layout engine constrained layout, so labels beside a plot stay in it.

    A figure whose user chose a layout engine (``layout="tight"``, ``"constrained"``) keeps it.
    """
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")


def _inner_height_points(ax: Axes) -> float:
    return ax.get_position().height * ax.figure.get_figheight() * POINTS_PER_INCH


def split_below(ax: Axes, table_heights: Sequence[float], curve_points: float | None = None) -> list[Axes]:
    """Divide ``ax``'s area: ``ax`` keeps the top, one Axes per table below, sharing its x axis.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    table_heights : sequence of float
        Height of each table in points (its rows; its title comes on top).
    curve_points : float, optional
        Height ``ax`` should keep, in points (default: what is left of its area).

    Returns
    -------
    list of matplotlib.axes.Axes
    """
    if not table_heights:
        return []
    fig = ax.figure
    spec = ax.get_subplotspec()
    if spec is None:
        return _split_position(ax, table_heights)
    keep_inside(fig)
    fs = font_points(None)
    room = _inner_height_points(ax)
    curve = curve_points or max(
        room - sum(table_heights) - len(table_heights) * (TITLE_LINES + AXIS_LINES) * fs, 0.35 * room)
    ratios = [curve, *table_heights]
    whole = spec.get_gridspec()
    if (whole.nrows, whole.ncols) == (1, 1) and whole.figure is fig:  # the figure's only cell:
        grid = fig.add_gridspec(1 + len(table_heights), 1, height_ratios=ratios)  # no nesting
    else:
        grid = spec.subgridspec(1 + len(table_heights), 1, height_ratios=ratios)
    ax.set_subplotspec(grid[0])
    return [fig.add_subplot(grid[i + 1], sharex=ax) for i in range(len(table_heights))]


def _split_position(ax: Axes, table_heights: Sequence[float]) -> list[Axes]:
    """Split by hand the box of an Axes placed by position (no subplot cell)."""
    fig = ax.figure
    box = ax.get_position()
    per_point = 1 / (fig.get_figheight() * POINTS_PER_INCH)
    fs = font_points(None)
    bottom = box.y0
    tables = []
    for height in reversed(list(table_heights)):
        tables.append(fig.add_axes((box.x0, bottom, box.width, height * per_point), sharex=ax))
        bottom += (height + TITLE_LINES * fs) * per_point
    bottom += (AXIS_LINES - TITLE_LINES) * fs * per_point
    ax.set_position((box.x0, bottom, box.width, max(box.y1 - bottom, 0.1 * box.height)))
    return list(reversed(tables))
