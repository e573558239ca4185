"""Forest plot of hazard ratios from any regression ``.summary``, several models side by side."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from sclero_analysis.figures.curves import new_axes
from sclero_analysis.figures.style import OKABE_ITO

LEVEL = re.compile(r"^(?P<term>[^\[]+)\[(?P<level>.+)\]$")


def _from_compare_table(table: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, dict]]:
    out = {}
    for method, rows in table.groupby("method", sort=False):
        summary = rows.set_index(rows["tier"].map(lambda t: f"tier[{t}]"))
        out[str(method)] = (summary, {"tier": str(rows["reference"].iloc[0])})
    return out


def _one(obj) -> tuple[pd.DataFrame, dict]:
    if isinstance(obj, pd.DataFrame):
        return obj, {}
    design = getattr(obj, "design", None)
    return obj.summary, dict(getattr(design, "reference", {}) or {})


def _models(results) -> dict[str, tuple[pd.DataFrame, dict]]:
    if isinstance(results, pd.DataFrame) and "method" in results.columns:
        return _from_compare_table(results)
    if isinstance(results, Mapping):
        return {str(k): _one(v) for k, v in results.items()}
    return {"": _one(results)}


def _rows(models: dict[str, tuple[pd.DataFrame, dict]]) -> list[tuple[str, str | None]]:
    """Row labels and the summary index each row reads (None for reference rows)."""
    rows, seen_terms = [], set()
    references = {}
    for _, refs in models.values():
        references.update(refs)
    for summary, _ in models.values():
        for index in summary.index:
            match = LEVEL.match(str(index))
            term = match["term"] if match else str(index)
            binary = bool(match) and match["level"] == "True"  # a yes/no covariate: one row
            if match and not binary and term not in seen_terms and term in references:
                rows.append((f"{references[term]} (reference)", None))
            seen_terms.add(term)
            label = term if binary or not match else match["level"]
            if (label, str(index)) not in rows:
                rows.append((label, str(index)))
    return rows


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
    xlabel : str

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"])
    >>> ax = forest_plot(sa.fit_cox(df, "tier + mrss"))
    >>> [t.get_text() for t in ax.get_yticklabels()][:2]
    ['ivig (reference)', 'immunosuppression']
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    ax = ax if ax is not None else new_axes()
    models = _models(results)
    rows = _rows(models)
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
            ax.text(1.03, y, f"{hr:.2f} ({lo:.2f}–{hi:.2f})", transform=text,
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
