"""Forest plot of pooled proportions: one row per source, the pooled diamond and its prediction interval.

Draws what :func:`sclero_analysis.pool_proportions` computed (it computes nothing itself): each
source's proportion with its Clopper-Pearson interval (square area proportional to its weight),
then per group the pooled estimate as a diamond spanning its confidence interval and the
prediction interval as a thin line through it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedLocator, PercentFormatter

from sclero_analysis.figures.legends import legend_above
from sclero_analysis.figures.style import OKABE_ITO
from sclero_analysis.labels import label, value_label

ROW_INCHES = 0.19
POOLED_COLOUR = OKABE_ITO[0]


def _percent(p: float, lower: float, upper: float) -> str:
    return f"{100 * p:.0f}% ({100 * lower:.0f}\u2013{100 * upper:.0f})"


def _new_axes(rows: int) -> Axes:
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.0, max(2.0, 0.9 + ROW_INCHES * rows)), layout="constrained")[1]


def _draw_sources(ax: Axes, studies: pd.DataFrame, start: int, biggest: float) -> list[str]:
    text = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    labels = []
    for offset, row in enumerate(studies.itertuples(index=False)):
        y = start + offset
        ax.plot([row.lower, row.upper], [y, y], color="black", lw=0.7)
        size = 2.5 + 5.5 * np.sqrt(max(row.weight, 0.0) / biggest) if biggest > 0 else 3
        ax.plot([row.proportion], [y], marker="s", ms=size, color="black", ls="none")
        ax.text(1.02, y, f"{row.events}/{row.n}", transform=text, va="center", fontsize="small")
        labels.append(value_label(row.study))
    return labels


def _draw_pooled(ax: Axes, pooled: pd.Series, y: float) -> None:
    text = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    ax.plot([pooled["pi_lower"], pooled["pi_upper"]], [y, y], color=POOLED_COLOUR, lw=0.8)
    for end in (pooled["pi_lower"], pooled["pi_upper"]):
        ax.plot([end, end], [y - 0.15, y + 0.15], color=POOLED_COLOUR, lw=0.8)
    corners = [(pooled["lower"], y), (pooled["proportion"], y - 0.35), (pooled["upper"], y),
               (pooled["proportion"], y + 0.35)]
    ax.add_patch(Polygon(corners, closed=True, facecolor=POOLED_COLOUR, edgecolor=POOLED_COLOUR, zorder=3))
    ax.text(1.02, y, _percent(pooled["proportion"], pooled["lower"], pooled["upper"]), transform=text,
            va="center", fontsize="small", color=POOLED_COLOUR)


def _legend(ax: Axes, conf_level: float) -> None:
    level = f"{100 * conf_level:g}%"
    handles = [Line2D([], [], color="black", marker="s", lw=0.7, ms=4, label=f"source ({level} exact CI)"),
               Line2D([], [], color=POOLED_COLOUR, marker="D", lw=0, ms=5, label=f"pooled ({level} CI)"),
               Line2D([], [], color=POOLED_COLOUR, lw=0.8, label=f"{level} prediction interval")]
    legend_above(ax, handles, [h.get_label() for h in handles])  # as many per row as fit


def forest_proportions(summary: pd.DataFrame, studies: pd.DataFrame, by: tuple[str, ...], method: str,
                       conf_level: float, ax: Axes | None = None) -> Axes:
    """Draw the forest plot of a pooling result (one block per group).

    Parameters
    ----------
    summary, studies : pandas.DataFrame
        ``PooledProportions.summary`` and ``.studies``.
    by : tuple of str
        Grouping columns (a header row per group when given).
    method : str
        Named in the pooled row's label.
    conf_level : float
    ax : matplotlib.axes.Axes, optional
        Drawn on a new figure (sized to the number of rows) when not given.

    Returns
    -------
    matplotlib.axes.Axes
    """
    blocks = []
    for _, pooled in summary.iterrows():
        mask = np.ones(len(studies), bool)
        for column in by:
            mask &= (studies[column] == pooled[column]).to_numpy()
        blocks.append((pooled, studies[mask]))
    rows = sum(len(part) + 1 + (2 if by else 0) for _, part in blocks)
    ax = ax if ax is not None else _new_axes(rows)
    biggest = float(studies["weight"].max()) if len(studies) else 0.0
    labels, headers = [], []
    for index, (pooled, part) in enumerate(blocks):
        if by:
            labels += [""] if index else []
            headers.append(len(labels))
            labels.append(", ".join(f"{label(column)}: {value_label(pooled[column])}" for column in by))
        labels += _draw_sources(ax, part, len(labels), biggest)
        _draw_pooled(ax, pooled, len(labels))
        labels.append(f"Pooled ({method}{', penalised' if pooled['penalised'] else ''})")
    ax.set_yticks(range(len(labels)), labels, fontsize="small")
    for row in headers:
        ax.get_yticklabels()[row].set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(-0.02, 1.02)
    ax.xaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1]))
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_xlabel("Proportion")
    _legend(ax, conf_level)
    return ax
