"""Registry-study figures: power, bias, coverage and failed fits with Monte Carlo error bars.

Proportions (power, coverage, failed fits) stay within [0, 1], their error bars cut at the
bounds; reference lines (the nominal level, no bias, nominal coverage) are named in the legend,
which sits above the panels so that it covers none of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from sclero_analysis.figures.legends import figure_legend_above
from sclero_analysis.figures.panels import keep_inside
from sclero_analysis.figures.scales import clipped_errors, proportion_axis
from sclero_analysis.figures.style import OKABE_ITO
from sclero_analysis.figures.text import POINTS_PER_INCH, wrap_to
from sclero_analysis.labels import Labels, label

PANELS = (("power", "Power (rejection rate)"), ("bias", "Bias (successful fits)"),
          ("coverage", "Coverage (successful fits)"), ("failure_rate", "Failed fits"))
PROPORTIONS = {"power", "coverage", "failure_rate"}
REFERENCE = {"color": "grey", "lw": 0.7}
DODGE = 0.012  # of the x range between analyses drawn at the same x


def _axes(axes):
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(2, 2, figsize=(180 / 25.4, 4.6), layout="constrained")
    axes = np.asarray(axes, dtype=object).ravel()
    keep_inside(axes[0].figure)
    return axes


def _dodge(values: pd.Series, j: int, k: int) -> float:
    """Shift of analysis j of k along a numeric x, so that equal values' error bars stand apart."""
    if k < 2 or not pd.api.types.is_numeric_dtype(values):
        return 0.0
    span = float(values.max() - values.min()) or 1.0
    return (j - (k - 1) / 2) * DODGE * span


def _coverage_floor(summary: pd.DataFrame, alpha: float) -> float:
    low = (summary["coverage"] - 1.96 * summary["coverage_mcse"]).to_numpy(float)
    low = low[np.isfinite(low)]
    lowest = min(float(low.min()) if len(low) else 1 - alpha, 1 - alpha)
    return max(0.0, np.floor((lowest - 0.02) * 20) / 20)


def _references(axes, alpha: float) -> list[tuple[Line2D, str]]:
    power = axes[0].axhline(alpha, ls=":", **REFERENCE)
    axes[1].axhline(0, ls="-", **REFERENCE)
    nominal = axes[2].axhline(1 - alpha, ls="--", **REFERENCE)
    return [(power, f"Nominal level (α = {alpha:g})"), (nominal, f"Nominal coverage ({1 - alpha:.0%})")]


def plot_study(summary: pd.DataFrame, x: str = "scenario", axes=None, alpha: float = 0.05,
               labels: Labels = None):
    """Draw power, bias, coverage and the failure rate of each analysis against ``x``, ±1.96 MC SE bars.

    Bias and coverage are over the successful replicates (their panels say so); the fourth
    panel shows the share of replicates whose fit failed, so that a rate conditional on
    success is read beside how often success happened. On a numeric ``x`` the analyses are
    drawn slightly apart (1.2% of the range each) so that their error bars do not hide each other.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``StudyResult.summary`` (``power, bias, coverage, failure_rate`` with ``*_mcse``).
    x : str
        A column of the summary (a varied design field, or ``scenario``).
    axes : sequence of four Axes, optional
        Draw on them; default: a new figure with four panels (2 x 2), constrained layout.
    alpha : float
        Nominal level: coverage reference at 1 − alpha, power reference at alpha.
    labels : mapping, optional
        Display labels of the analyses and of ``x`` (e.g. ``{"n_patients": "Registry size"}``).

    Returns
    -------
    numpy.ndarray of Axes

    Examples
    --------
    >>> import pandas as pd
    >>> row = dict(power=0.8, power_mcse=0.02, bias=0.01, bias_mcse=0.01, coverage=0.99,
    ...            coverage_mcse=0.02, failure_rate=0.0, failure_rate_mcse=0.0)
    >>> table = pd.DataFrame([{**row, "analysis": "iptw_cox", "n_patients": n} for n in (50, 100)])
    >>> axes = plot_study(table, x="n_patients")
    >>> float(axes[2].get_ylim()[1]), axes[0].get_xlabel()
    (1.0, 'Patients per registry')
    >>> import matplotlib.pyplot as plt
    >>> plt.close(axes[0].figure)
    """
    if x not in summary.columns:
        raise KeyError(f"{x!r} is not a column of the summary; its columns are {list(summary.columns)}")
    axes = _axes(axes)
    handles = []
    groups = list(summary.groupby("analysis", sort=False))
    for j, (name, rows) in enumerate(groups):
        rows = rows.sort_values(x)
        colour = OKABE_ITO[j % len(OKABE_ITO)]
        at = rows[x] + _dodge(summary[x], j, len(groups))
        for ax, (measure, _) in zip(axes, PANELS, strict=True):
            y = rows[measure].to_numpy(float)
            half = 1.96 * rows[f"{measure}_mcse"].to_numpy(float)
            err = clipped_errors(y, half) if measure in PROPORTIONS else half
            ax.errorbar(at, y, yerr=err, marker="o", ms=3, lw=0.9, capsize=2, color=colour,
                        clip_on=measure not in PROPORTIONS)  # a marker at 0% or 100% shows whole
        handles.append((Line2D([], [], color=colour, marker="o", ms=3, lw=0.9), label(name, labels)))
    handles += _references(axes, alpha)
    fig = axes[0].figure
    for ax, (measure, text) in zip(axes, PANELS, strict=True):
        ax.set_xlabel(label(x, labels))
        height = ax.get_position().height * fig.get_figheight() * POINTS_PER_INCH
        ax.set_ylabel(wrap_to(text, 0.85 * height))
        if measure in PROPORTIONS:
            proportion_axis(ax, lower=_coverage_floor(summary, alpha) if measure == "coverage" else 0.0)
    figure_legend_above(fig, [h for h, _ in handles], [t for _, t in handles])
    return axes
