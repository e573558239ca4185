"""Covariate balance (love plot) and propensity-score overlap, as cobalt draws them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter

from sclero_analysis.figures.legends import figure_legend_above, legend_above, room_above
from sclero_analysis.figures.panels import keep_inside
from sclero_analysis.figures.style import colours_for, new_axes
from sclero_analysis.figures.text import wrap_to
from sclero_analysis.labels import Labels, label


def _smd_table(balance, pair: str | None) -> tuple[pd.DataFrame, str]:
    summary = balance if isinstance(balance, pd.DataFrame) else balance.summary
    needed = {"covariate", "pair", "smd_before", "smd_after"}
    if not needed <= set(summary.columns):
        raise ValueError(f"a balance summary needs the columns {sorted(needed)}")
    if pair is not None:
        pairs = list(pd.unique(summary["pair"]))
        if pair not in pairs:
            raise KeyError(f"pair {pair!r} not in the balance table; its pairs are {pairs}")
        rows = summary[summary["pair"] == pair]
        return rows.set_index("covariate")[["smd_before", "smd_after"]].abs(), pair
    table = summary.assign(smd_before=summary["smd_before"].abs(), smd_after=summary["smd_after"].abs())
    table = table.groupby("covariate", sort=False)[["smd_before", "smd_after"]].max()
    n_pairs = summary["pair"].nunique()
    return table, "" if n_pairs == 1 else f"maximum over {n_pairs} tier pairs"


def _pair_label(pair: str, labels: Labels) -> str:
    """'cytoreduction vs ivig' → 'Cytoreduction vs IVIG'."""
    return " vs ".join(label(part.strip(), labels) for part in str(pair).split(" vs "))


def love_plot(balance, ax: Axes | None = None, threshold: float = 0.1, pair: str | None = None,
              sort: bool = True, labels: Labels = None) -> Axes:
    """Draw absolute standardised mean differences before and after weighting.

    Parameters
    ----------
    balance : Balance or its ``.summary`` DataFrame
        From :meth:`sclero_analysis.causal.Propensity.balance`.
    ax : matplotlib.axes.Axes, optional
        Draw on it; default: a new figure (never the current one).
    threshold : float
        Dashed line of acceptable imbalance (0.1, as cobalt).
    pair : str, optional
        One pair (``"cytoreduction vs ivig"``); default: per covariate the largest absolute
        difference over all pairs (cobalt's ``agg.fun = "max"``).
    sort : bool
        Order covariates by imbalance before weighting (largest on top).
    labels : mapping, optional
        Display labels of the covariates for this figure (``{"mrss": "mRSS at diagnosis"}``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"])
    >>> df = df[df["tier"] != "other"]   # 'other' overlaps poorly (a PositivityWarning)
    >>> ps = sa.propensity(df, ["age_at_diagnosis_years", "mrss", "neuro"])
    >>> ax = love_plot(ps.balance())
    >>> ax.get_xlabel().replace(chr(10), " ")
    'Absolute standardised mean difference (maximum over 3 tier pairs)'
    >>> sorted(t.get_text() for t in ax.get_yticklabels())
    ['Age at diagnosis (years)', 'Neurological involvement', 'mRSS']
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    table, note = _smd_table(balance, pair)
    if sort:
        table = table.sort_values("smd_before", ascending=False, kind="stable")
    ax = ax if ax is not None else new_axes()
    keep_inside(ax.figure)  # long covariate labels stay in the figure
    y = np.arange(len(table))
    for i, (before, after) in enumerate(table.to_numpy()):
        ax.plot([before, after], [i, i], color="0.75", lw=0.6, zorder=1)
    ax.plot(table["smd_before"], y, ls="none", marker="o", mfc="white", mec="black", ms=4, mew=0.7,
            label="Unweighted", zorder=2)
    ax.plot(table["smd_after"], y, ls="none", marker="o", color="black", ms=4, label="Weighted", zorder=3)
    threshold_line = ax.axvline(threshold, color="grey", ls="--", lw=0.6)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_yticks(y, [label(c, labels) for c in table.index])
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.set_xlim(0, max(float(np.nanmax(table.to_numpy())) * 1.08, threshold * 1.5))
    if pair is not None:
        note = _pair_label(pair, labels)
    text = "Absolute standardised mean difference" + (f" ({note})" if note else "")
    ax.set_xlabel(wrap_to(text, room_above(ax)))  # the axes' width once the y labels have room
    handles, texts = ax.get_legend_handles_labels()
    legend_above(ax, [*handles, threshold_line], [*texts, f"Threshold ({threshold:g})"])
    return ax


def overlap_plot(propensity, tier: str | None = None, axes=None, bins: int = 30, labels: Labels = None):
    """Distribution of propensity scores per observed tier: one panel per tier's score.

    In the panel of tier *k*, each observed tier's histogram of P(tier = k | covariates) is
    drawn as a density; overlap is good when the histograms share their support.

    Parameters
    ----------
    propensity : Propensity
        A fitted propensity model (``scores``, ``treatment``).
    tier : str, optional
        Draw only the panel of this tier's score (into ``axes`` if it is one Axes).
    axes : Axes or array of Axes, optional
        Default: a new figure with one panel per tier.
    bins : int
    labels : mapping, optional
        Display labels of the tiers for this figure.

    Returns
    -------
    matplotlib.axes.Axes or numpy.ndarray of Axes
        One Axes when ``tier`` is given, else an array (one per tier).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"])
    >>> df = df[df["tier"] != "other"]
    >>> axes = overlap_plot(sa.propensity(df, ["age_at_diagnosis_years", "mrss"]))
    >>> [ax.get_title() for ax in axes]
    ['P(IVIG)', 'P(Immunosuppression)', 'P(Cytoreduction)']
    >>> import matplotlib.pyplot as plt
    >>> plt.close(axes[0].figure)
    """
    scores, treatment = propensity.scores, propensity.treatment
    levels = list(scores.columns)
    panels = levels if tier is None else [tier]
    unknown = [t for t in panels if t not in levels]
    if unknown:
        raise KeyError(f"tier {unknown[0]!r} not in the propensity model; its tiers are {levels}")
    if axes is None:
        # one panel per tier side by side across the page; one panel in the style's size
        axes = new_axes(figsize=(180 / 25.4, 180 / 25.4 / max(len(panels), 2) * 0.9 + 0.3) if tier is None
                        else None, ncols=len(panels))
    axes_list = list(np.atleast_1d(axes))
    keep_inside(axes_list[0].figure)
    colours = colours_for(levels)
    edges = np.linspace(0, 1, bins + 1)
    for ax, level in zip(axes_list, panels, strict=True):
        for observed in levels:
            values = scores.loc[(treatment == observed).to_numpy(), level]
            ax.hist(values, bins=edges, density=True, histtype="step", color=colours[observed], lw=0.9)
            ax.hist(values, bins=edges, density=True, color=colours[observed], alpha=0.12)
        if tier is None:
            ax.set_title(f"P({label(level, labels)})")
        ax.set_xlim(0, 1)
        # 0, 0.5, 1: neighbouring panels' end labels ("1", "0") never run together
        ax.xaxis.set_major_locator(FixedLocator([0, 0.5, 1]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        # one panel: its legend stands above it, so the score it shows is named below
        ax.set_xlabel("Propensity score" if tier is None else f"Propensity score, P({label(level, labels)})")
    axes_list[0].set_ylabel("Density")
    handles = [Line2D([], [], color=colours[t]) for t in levels]
    names = [f"Received {label(t, labels)}" for t in levels]
    if tier is not None:
        legend_above(axes_list[0], handles, names)
    else:
        figure_legend_above(axes_list[0].figure, handles, names)
    return axes_list[0] if tier is not None else np.asarray(axes_list, dtype=object)
