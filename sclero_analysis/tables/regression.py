"""Regression tables: N, events, ratio (95% CI) and p per term, several models side by side."""

from __future__ import annotations

import pandas as pd

from sclero_analysis.formatting import (
    conf_level_of,
    format_p,
    format_ratio_ci,
    model_counts,
    regression_models,
    term_rows,
)
from sclero_analysis.tables.table import INDENT, Table, rows_to_frame


def _count_cells(counts: pd.DataFrame | None, key: str, n_col: str, e_col: str) -> dict[str, str]:
    if counts is None or key not in counts.index:
        return {}
    n, events = counts.loc[key, ["n", "events"]]
    return {n_col: f"{int(n)}", e_col: f"{int(events)}"}


def _model_cells(summary: pd.DataFrame, counts, names: dict[str, str], rows, decimals: int
                 ) -> tuple[dict, dict]:
    """Display cells ``{(term, label): {column: text}}`` and ratios of one model."""
    cells, values = {}, {}
    for label, index, term in rows:
        if index is None:
            level = label.removesuffix(" (reference)")
            cell = {names["ratio"]: "reference", names["p"]: ""}
            cell |= _count_cells(counts, f"{term}[{level}]", names["n"], names["events"])
        elif index in summary.index:
            r = summary.loc[index]
            cell = {names["ratio"]: format_ratio_ci(*r[["hr", "hr_lower", "hr_upper"]].astype(float),
                                                    decimals),
                    names["p"]: format_p(float(r["p"])) if "p" in r.index else ""}
            cell |= _count_cells(counts, index, names["n"], names["events"])
            values[index] = float(r["hr"])
        else:
            continue
        cells[(term, label)] = cell
    return cells, values


def _display_rows(rows, cells: dict) -> list[tuple[str, dict[str, str]]]:
    """Lay out a header row per categorical term, then its levels indented; others one row."""
    out, headed = [], set()
    for label, index, term in rows:
        level_row = index is None or (index != term and not str(index).endswith("[True]"))
        if level_row and term not in headed:
            out.append((term, {}))
            headed.add(term)
        shown = f"{INDENT}{label.removesuffix(' (reference)')}" if level_row else label
        out.append((shown, cells.get((term, label), {})))
    return out


def regression_table(results, estimate_label: str = "HR", decimals: int = 2, title: str = "",
                     counts: bool = True) -> Table:
    """Tabulate a model: N, events, ratio (95% CI) and p per term, models side by side.

    Parameters
    ----------
    results : regression result, summary DataFrame, dict of them, or a compare_tiers table
        As :func:`sclero_analysis.figures.forest_plot`: anything with ``hr, hr_lower,
        hr_upper, p`` indexed by term. Categorical terms show a header row, the reference
        level ("reference") and one row per level; a yes/no covariate is one row.
    estimate_label : str
        ``HR`` (Cox), ``SHR`` (Fine–Gray) …
    decimals : int
    title : str
    counts : bool
        Show ``N`` and ``Events`` per row (gtsummary's ``add_n`` and ``add_nevent`` at the
        level) for the models that carry them (``fit_cox``, ``fit_fine_gray``): the rows and
        events of a level (the reference level's too), all rows and events for a continuous
        term; blank for a model without counts.

    Returns
    -------
    Table
        Columns ``N``, ``Events``, ``HR (95% CI)`` and ``p`` (each prefixed by the model's
        name when there are several); p as journals print it (``< 0.001``).
        ``.values["hr"]`` holds the ratios by model and term.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"])
    >>> t = regression_table(sa.fit_cox(df, "tier + mrss", cluster="patient_id"))
    >>> t.summary.loc["    ivig"].tolist()
    ['341', '115', 'reference', '']
    >>> t.summary.loc["mrss", ["N", "Events"]].tolist()
    ['801', '315']
    """
    models = regression_models(results)
    counted = model_counts(results) if counts else dict.fromkeys(models)
    rows = term_rows(models)
    level = f"{conf_level_of(results):.0%}"
    columns, cells, values = [], {}, {}
    for name, (summary, _) in models.items():
        names = {key: f"{name} {label}".strip() for key, label in
                 (("n", "N"), ("events", "Events"), ("ratio", f"{estimate_label} ({level} CI)"),
                  ("p", "p"))}
        shown = ["ratio", "p"] if counted.get(name) is None else ["n", "events", "ratio", "p"]
        columns += [names[key] for key in shown]
        model_cells, model_values = _model_cells(summary, counted.get(name), names, rows, decimals)
        for key, cell in model_cells.items():
            cells[key] = cells.get(key, {}) | cell
        values |= {(name, index): value for index, value in model_values.items()}
    frame = rows_to_frame(_display_rows(rows, cells)).reindex(columns=columns).fillna("")
    notes = (f"{estimate_label}: hazard ratio with {level} confidence interval.",)
    if any(c is not None for c in counted.values()):
        notes += ("N: rows in the level (all rows for a continuous term); Events: those with the "
                  "event.",)
    return Table(frame, {"hr": pd.Series(values, dtype=float)}, title, notes)

