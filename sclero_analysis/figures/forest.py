"""Forest plot of hazard ratios from any regression ``.summary``, several models side by side."""

from __future__ import annotations

import numpy as np
from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from sclero_analysis.figures.style import OKABE_ITO, new_axes
from sclero_analysis.formatting import format_ratio_ci, regression_models, term_rows


def _log_axis(ax: Axes) -> None:
    """Log x axis labelled with plain ratios (0.25, 0.5, 1, 2, 4 …)."""
    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    candidates = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10, 20]
    ticks = [t for t in candidates if lo <= t <= hi] or [1]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())


def forest_plot(results, ax: Axes | None = None, xlabel: str = "Hazard ratio (95% CI)") -> Axes:
    """Draw hazard ratios with confidence intervals on a log axis, numbers beside the plot.

    Parameters
    ----------
    results : regression result, summary DataFrame, dict of them, or a compare_tiers table
        Anything with ``hr, hr_lower, hr_upper`` indexed by term (``tier[cytoreduction]``); a
        dict puts several models side by side (e.g. naive / adjusted / IPTW); a
        :func:`sclero_analysis.compare_tiers` table does so by its ``method`` column. Reference
        levels (from the result's design, or the table's ``reference``) show as "reference".
    ax : matplotlib.axes.Axes, optional
        Draw on it; default: a new figure (never the current one).
    xlabel : str

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"])
    >>> ax = forest_plot(sa.fit_cox(df, "tier + mrss", cluster="patient_id"))
    >>> [t.get_text() for t in ax.get_yticklabels()][:2]
    ['ivig (reference)', 'immunosuppression']
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    ax = ax if ax is not None else new_axes()
    models = regression_models(results)
    rows = [(label, index) for label, index, _ in term_rows(models)]
    k = len(models)
    offsets = np.linspace(-0.15, 0.15, k) if k > 1 else np.zeros(1)
    colours = dict(zip(models, OKABE_ITO if k > 1 else ["black"], strict=False))
    text = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    for j, (name, (summary, _)) in enumerate(models.items()):
        for i, (_, index) in enumerate(rows):
            y = i + offsets[j]
            if index is None or index not in summary.index:
                if index is None and j == 0:
                    ax.plot([1.0], [i], marker="D", ms=3, color="grey")
                continue
            hr, lo, hi = summary.loc[index, ["hr", "hr_lower", "hr_upper"]].astype(float)
            ax.plot([lo, hi], [y, y], color=colours[name], lw=0.8)
            ax.plot([hr], [y], marker="s", ms=3.5, color=colours[name], label=name if i == 0 or
                    name not in ax.get_legend_handles_labels()[1] else None)
            ax.text(1.03, y, format_ratio_ci(hr, lo, hi), transform=text,
                    va="center", fontsize="small", color=colours[name])
    for i, (_, index) in enumerate(rows):
        if index is None:
            ax.text(1.03, i, "reference", transform=text, va="center", fontsize="small", color="grey")
    ax.axvline(1.0, color="grey", lw=0.6, ls="--")
    _log_axis(ax)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    if k > 1:
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=k, fontsize="small")
    return ax
