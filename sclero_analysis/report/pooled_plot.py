"""Drawing of notebook 07's comparison: each tier's response in the literature, the registry, the truth.

Draws what :func:`~sclero_analysis.report.pooled.pool_response` computed; computes nothing.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, PercentFormatter

from sclero_analysis.figures.legends import legend_above
from sclero_analysis.figures.style import OKABE_ITO, new_axes
from sclero_analysis.labels import value_label
from sclero_analysis.therapy import TIERS

#: Marker, colour and vertical offset of each kind of evidence within a tier's row.
STYLES = {"literature": ("D", OKABE_ITO[0], -0.22, "literature, pooled (GLMM)"),
          "registry": ("o", OKABE_ITO[1], 0.0, "registry"),
          "truth": ("x", "black", 0.22, "truth (generator)")}


def draw_response(rows: pd.DataFrame, definition: str, conf_level: float = 0.95,
                  ax: Axes | None = None) -> Axes:
    """Draw one definition's response per tier: a point and interval per kind of evidence.

    Parameters
    ----------
    rows : pandas.DataFrame
        ``PooledResponse.table`` rows of one definition: ``tier, evidence, proportion, lower,
        upper``.
    definition : str
        Named on the x axis (``CR+PR``).
    conf_level : float
        Level of the intervals, named on the x axis.
    ax : matplotlib.axes.Axes, optional
        Drawn on a new figure when not given.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        ax = new_axes()
    tiers = [t for t in TIERS if t in set(rows["tier"])]
    handles = []
    for evidence, (marker, colour, offset, name) in STYLES.items():
        part = rows[rows["evidence"] == evidence].set_index("tier").reindex(tiers)
        y = [i + offset for i in range(len(tiers))]
        if part["proportion"].notna().any():
            ax.hlines(y, part["lower"], part["upper"], color=colour, lw=1)
            handles.append(ax.plot(part["proportion"], y, marker=marker, color=colour, ls="none",
                                   label=name)[0])
    ax.set_yticks(range(len(tiers)), [value_label(t) for t in tiers])
    ax.set_ylim(len(tiers) - 0.5, -0.5)
    ax.set_xlim(-0.02, 1.02)
    ax.xaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1]))
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_xlabel(f"Response ({definition}) with {100 * conf_level:g}% CI")
    if handles:
        legend_above(ax, handles, [h.get_label() for h in handles])
    return ax
