"""Registry-study figures: power, bias, coverage and failed fits with Monte Carlo error bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from sclero_analysis.figures.style import OKABE_ITO

PANELS = (("power", "Power (rejection rate)"), ("bias", "Bias (successful fits)"),
          ("coverage", "Coverage (successful fits)"), ("failure_rate", "Failed fits"))


def plot_study(summary: pd.DataFrame, x: str = "scenario", axes=None, alpha: float = 0.05):
    """Draw power, bias, coverage and the failure rate of each analysis against ``x``, ±1.96 MC SE bars.

    Bias and coverage are over the successful replicates (their panels say so); the fourth
    panel shows the share of replicates whose fit failed, so that a rate conditional on
    success is read beside how often success happened.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``StudyResult.summary`` (``power, bias, coverage, failure_rate`` with ``*_mcse``).
    x : str
        A column of the summary (a varied design field, or ``scenario``).
    axes : sequence of four Axes, optional
        Draw on them; default: a new figure with four panels (2 x 2).
    alpha : float
        Nominal level: coverage reference at 1 − alpha, power reference at alpha.

    Returns
    -------
    numpy.ndarray of Axes
    """
    if x not in summary.columns:
        raise KeyError(f"{x!r} is not a column of the summary; its columns are {list(summary.columns)}")
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(2, 2, figsize=(180 / 25.4, 4.2), layout="constrained")
    axes = np.asarray(axes, dtype=object).ravel()
    for j, (name, rows) in enumerate(summary.groupby("analysis", sort=False)):
        rows = rows.sort_values(x)
        colour = OKABE_ITO[j % len(OKABE_ITO)]
        for ax, (measure, _) in zip(axes, PANELS, strict=True):
            y = rows[measure].to_numpy(float)
            err = 1.96 * rows[f"{measure}_mcse"].to_numpy(float)
            ax.errorbar(rows[x], y, yerr=err, marker="o", ms=3, lw=0.9, capsize=2, color=colour,
                        label=str(name))
    for ax, (_, label) in zip(axes, PANELS, strict=True):
        ax.set_xlabel(x)
        ax.set_ylabel(label)
    axes[0].axhline(alpha, color="grey", ls=":", lw=0.6)
    axes[0].set_ylim(0, 1.02)
    axes[1].axhline(0, color="grey", ls="--", lw=0.6)
    axes[2].axhline(1 - alpha, color="grey", ls="--", lw=0.6)
    axes[3].set_ylim(0, 1.02)
    axes[3].yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes[0].legend(loc="best", fontsize="small")
    return axes
