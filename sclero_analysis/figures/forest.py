"""Forest plot of hazard ratios from any regression ``.summary``, several models side by side.

As survminer's ``ggforest``: one row per level of each term under the term's name, the
reference level marked, and columns of numbers beside the plot (N and events when the summary
carries ``n`` and ``events``, the ratio with its interval, the p-value) under a header. The
ratio axis is logarithmic; true values, when given, are marked and named in the legend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from sclero_analysis.figures.legends import legend_above
from sclero_analysis.figures.panels import keep_inside
from sclero_analysis.figures.scales import log_ratio_axis, ratio_limits
from sclero_analysis.figures.style import OKABE_ITO, new_axes
from sclero_analysis.figures.text import POINTS_PER_INCH, font_points, text_width
from sclero_analysis.formatting import (
    LEVEL,
    conf_level_of,
    format_p,
    format_ratio_ci,
    model_counts,
    regression_models,
)
from sclero_analysis.labels import Labels, label

NUMBER_FONT = "small"
COLUMN_GAP = 8.0  # points between number columns
LINE = 1.45  # a text line, in font sizes


@dataclass(frozen=True)
class Row:
    """One row of the plot: its label, the summary index it shows (None: a header or reference)."""

    text: str
    index: str | None
    term: str
    kind: str  # "header", "reference" or "estimate"


def _term(index: str) -> tuple[str, str | None]:
    match = LEVEL.match(index)
    if match is None or match["level"] == "True":
        return (match["term"] if match else index), None
    return match["term"], match["level"]


def forest_rows(models: dict[str, tuple[pd.DataFrame, dict]], labels: Labels = None) -> list[Row]:
    """Return the rows of a forest plot: a header per categorical term, its reference, its levels.

    A yes/no covariate (``neuro[True]``) and a continuous one are one row each, labelled by
    the covariate; levels are labelled by themselves (``tier[ivig]`` → "IVIG").

    Examples
    --------
    >>> s = pd.DataFrame(index=["tier[b]", "tier[c]", "neuro[True]", "mrss"])
    >>> [(r.text, r.kind) for r in forest_rows({"": (s, {"tier": "a"})})][:3]
    [('Therapy tier', 'header'), ('A (reference)', 'reference'), ('B', 'estimate')]
    >>> [r.text for r in forest_rows({"": (s, {"tier": "a"})})][4:]
    ['Neurological involvement', 'mRSS']
    """
    references = {}
    for _, refs in models.values():
        references.update(refs)
    order: dict[str, list[str]] = {}
    for summary, _ in models.values():
        for index in map(str, summary.index):
            term, _level = _term(index)
            if index not in order.setdefault(term, []):
                order[term].append(index)
    rows = []
    for term, indices in order.items():
        levels = [i for i in indices if _term(i)[1] is not None]
        if levels and (term in references or len(levels) > 1):  # a yes/no term is one row
            rows.append(Row(label(term, labels), None, term, "header"))
            if term in references:
                rows.append(Row(f"{label(references[term], labels)} (reference)", None, term, "reference"))
        reference = f"{term}[{references[term]}]" if term in references else None
        rows += [Row(label(i, labels), i, term, "estimate") for i in indices if i != reference]
    return rows


def _cells(summary: pd.DataFrame, row: Row, reference: str | None) -> dict[str, str]:
    """Texts of one row in one model: n, events, ratio (CI), p."""
    key = row.index if row.kind == "estimate" else (f"{row.term}[{reference}]" if reference else None)
    counts = summary.attrs.get("counts")
    found = key is not None and key in summary.index
    cell = summary.loc[key] if found else pd.Series(dtype=object)
    if not found and counts is not None and key in counts.index:  # the reference level's counts
        cell, found = counts.loc[key], True

    def count(column: str) -> str:
        value = cell.get(column, np.nan) if found else np.nan
        return f"{value:.0f}" if pd.notna(value) else ""

    out = {"n": count("n"), "events": count("events")}
    if row.kind == "reference":
        out |= {"hr": "Reference", "p": ""}
    elif found:
        out |= {"hr": format_ratio_ci(*cell[["hr", "hr_lower", "hr_upper"]].astype(float)),
                "p": format_p(float(cell["p"])) if "p" in cell.index else ""}
    return out


def _with_counts(models, counts) -> dict:
    """Add each model's rows and events per level (the reference level's too) to its summary."""
    out = {}
    for name, (summary, references) in models.items():
        extra = counts.get(name)
        if extra is not None and len(extra):  # read by _cells for the reference rows only
            summary = summary.copy()
            summary.attrs["counts"] = extra
        out[name] = (summary, references)
    return out


def _columns(models, rows, level: float = 0.95) -> list[tuple[str, str]]:
    """(key, header) of the number columns: N and events only for one model that has them."""
    summaries = [s for s, _ in models.values()]
    columns = []
    if len(models) == 1 and {"n", "events"} <= set(summaries[0].columns):
        columns += [("n", "N"), ("events", "Events")]
    columns.append(("hr", f"HR ({level:.0%} CI)"))
    if all("p" in s.columns for s in summaries):
        columns.append(("p", "p"))
    return columns


def _figure(rows: list[Row], k: int, columns_points: float, label_points: float) -> Axes:
    import matplotlib as mpl

    fs = font_points(None)
    style_width = mpl.rcParams["figure.figsize"][0]
    width = max(style_width, (label_points + columns_points) / POINTS_PER_INCH + 2.0)
    height = (len(rows) * (k + 0.6) * LINE * font_points(NUMBER_FONT) + 9 * fs) / POINTS_PER_INCH
    return new_axes(figsize=(width, max(height, 1.5)))


def _draw_numbers(ax: Axes, models, rows, offsets, colours, columns) -> None:
    texts = {}
    for j, (name, (summary, refs)) in enumerate(models.items()):
        for i, row in enumerate(rows):
            if row.kind != "header" and (row.kind == "estimate" or j == 0):
                y = i + (offsets[j] if row.kind == "estimate" else 0.0)
                texts[(i, j)] = (y, _cells(summary, row, refs.get(row.term)), colours[name])
    size = NUMBER_FONT
    x = COLUMN_GAP
    base = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    top = transforms.blended_transform_factory(ax.transAxes, ax.transAxes)
    for key, header in columns:
        width = max([text_width(header, size, "bold")] +
                    [text_width(cells.get(key, ""), size) for _, cells, _ in texts.values()])
        shift = transforms.ScaledTranslation(x / POINTS_PER_INCH, 0, ax.figure.dpi_scale_trans)
        for y, cells, colour in texts.values():
            if cells.get(key):
                ax.text(1.0, y, cells[key], transform=base + shift, va="center", fontsize=size,
                        color="grey" if cells[key] == "Reference" else colour)
        ax.text(1.0, 1.0, header, transform=top + shift + transforms.ScaledTranslation(
            0, 2 / POINTS_PER_INCH, ax.figure.dpi_scale_trans), va="bottom", fontsize=size,
            fontweight="bold")
        x += width + COLUMN_GAP


def _columns_width(models, rows, columns) -> float:
    width = 0.0
    for key, header in columns:
        cells = [_cells(s, r, refs.get(r.term)).get(key, "") for s, refs in models.values() for r in rows
                 if r.kind != "header"]
        width += max([text_width(header, NUMBER_FONT, "bold")] + [text_width(c, NUMBER_FONT) for c in cells])
        width += COLUMN_GAP
    return width


def _truth_values(truth, rows: list[Row]) -> dict[int, float]:
    if truth is None:
        return {}
    values = dict(truth.items()) if isinstance(truth, Mapping | pd.Series) else {}
    out = {}
    for i, row in enumerate(rows):
        if row.kind != "estimate":
            continue
        level = _term(row.index)[1]
        for key in (row.index, level):
            if key is not None and key in values and np.isfinite(values[key]):
                out[i] = float(values[key])
                break
    return out


def forest_plot(results, ax: Axes | None = None, xlabel: str = "Hazard ratio (95% CI)",
                labels: Labels = None, truth=None, truth_label: str = "True value") -> Axes:
    """Draw hazard ratios with confidence intervals on a log axis, numbers beside the plot.

    Parameters
    ----------
    results : regression result, summary DataFrame, dict of them, or a compare_tiers table
        Anything with ``hr, hr_lower, hr_upper`` (and ``p``; ``n, events`` per term for the
        N and Events columns) indexed by term (``tier[cytoreduction]``); a dict puts several
        models side by side (e.g. naive / adjusted / IPTW); a
        :func:`sclero_analysis.compare_tiers` table does so by its ``method`` column. Reference
        levels (from the result's design, or the table's ``reference``) show as "Reference".
    ax : matplotlib.axes.Axes, optional
        Draw on it (a figure without a layout engine gets constrained layout, so that the
        columns stay inside it); default: a new figure sized to the rows and the columns.
    xlabel : str
    labels : mapping, optional
        Display labels of terms, levels and model names for this figure.
    truth : mapping or pandas.Series, optional
        True ratios (not logs) by term (``tier[cytoreduction]``) or level (``cytoreduction``),
        e.g. a simulation's marginal hazard ratios: marked with a cross, named in the legend.
    truth_label : str
        Legend entry of the true values.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"])
    >>> ax = forest_plot(sa.fit_cox(df, "tier + mrss", cluster="patient_id"))
    >>> [t.get_text() for t in ax.get_yticklabels()][:3]
    ['Therapy tier', 'IVIG (reference)', 'Immunosuppression']
    >>> import matplotlib.pyplot as plt
    >>> plt.close(ax.figure)
    """
    models = _with_counts(regression_models(results), model_counts(results))
    rows = forest_rows(models, labels)
    k = len(models)
    columns = _columns(models, rows, conf_level_of(results))
    label_points = max(text_width(r.text, None, "bold") for r in rows)
    columns_points = _columns_width(models, rows, columns)
    if ax is None:
        ax = _figure(rows, k, columns_points, label_points)
    keep_inside(ax.figure)  # the number columns beside the plot stay in the figure
    offsets = (np.arange(k) - (k - 1) / 2) / (k + 0.6)  # one text line apart within a row
    colours = dict(zip(models, OKABE_ITO if k > 1 else ["black"], strict=False))
    values = []
    for j, (name, (summary, _)) in enumerate(models.items()):
        for i, row in enumerate(rows):
            if row.kind != "estimate" or row.index not in summary.index:
                continue
            hr, lo, hi = summary.loc[row.index, ["hr", "hr_lower", "hr_upper"]].astype(float)
            y = i + offsets[j]
            ax.plot([lo, min(hi, 1e12)], [y, y], color=colours[name], lw=0.8)
            ax.plot([hr], [y], marker="s", ms=3.5, color=colours[name], ls="none")
            values += [hr, lo, hi]
    truths = _truth_values(truth, rows)
    if truths:
        ax.plot(list(truths.values()), list(truths), ls="none", marker="x", ms=5, mew=1.0, color="black",
                zorder=4)
    _draw_numbers(ax, models, rows, offsets, colours, columns)
    log_ratio_axis(ax, "x", ratio_limits(values + list(truths.values())))
    ax.set_yticks(range(len(rows)), [r.text for r in rows])
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row.kind == "header":
            tick.set_fontweight("bold")
        elif row.kind == "reference":
            tick.set_color("0.3")
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    room = ax.figure.get_figwidth() * POINTS_PER_INCH - label_points - columns_points - 24
    _legend(ax, models, colours, bool(truths), truth_label, labels, room)
    return ax


def _legend(ax: Axes, models, colours, truth: bool, truth_label: str, labels: Labels, room: float) -> None:
    if len(models) == 1 and not truth:
        return
    handles, texts = [], []
    for name in models:
        handles.append(Line2D([], [], color=colours[name], marker="s", ms=3.5, lw=0.8))
        texts.append(label(name, labels) if name else "Estimate (95% CI)")
    if truth:
        handles.append(Line2D([], [], ls="none", marker="x", ms=5, mew=1.0, color="black"))
        texts.append(truth_label)
    legend_above(ax, handles, texts, room_points=room)
