"""Regression tables: ratio (95% CI) and p per term, several models side by side."""

from __future__ import annotations

import pandas as pd

from sclero_analysis.formatting import format_p, format_ratio_ci, regression_models, term_rows
from sclero_analysis.tables.table import INDENT, Table, rows_to_frame


def regression_table(results, estimate_label: str = "HR", decimals: int = 2, title: str = "") -> Table:
    """Tabulate a model: ratio (95% CI) and p per term, several models side by side.

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

    Returns
    -------
    Table
        Columns ``<model> HR (95% CI)`` and ``<model> p`` (no prefix for a single model);
        p as journals print it (``< 0.001``).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"])
    >>> t = regression_table(sa.fit_cox(df, "tier + mrss", cluster="patient_id"))
    >>> t.summary.loc["    ivig"].tolist()
    ['reference', '']
    """
    models = regression_models(results)
    columns, cells, values = [], {}, {}
    for name, (summary, _) in models.items():
        ratio, pcol = f"{name} {estimate_label} (95% CI)".strip(), f"{name} p".strip()
        columns += [ratio, pcol]
        for label, index, term in term_rows(models):
            if index is None:
                cells[(term, label)] = cells.get((term, label), {}) | {ratio: "reference", pcol: ""}
            elif index in summary.index:
                r = summary.loc[index]
                cells[(term, label)] = cells.get((term, label), {}) | {
                    ratio: format_ratio_ci(*r[["hr", "hr_lower", "hr_upper"]].astype(float), decimals),
                    pcol: format_p(float(r["p"])) if "p" in r.index else ""}
                values[(name, index)] = float(r["hr"])
    rows: list[tuple[str, dict[str, str]]] = []
    headed = set()
    for label, index, term in term_rows(models):
        level_row = index is None or (index != term and not str(index).endswith("[True]"))
        if level_row and term not in headed:
            rows.append((term, {}))
            headed.add(term)
        shown = f"{INDENT}{label.removesuffix(' (reference)')}" if level_row else label
        rows.append((shown, cells.get((term, label), {})))
    frame = rows_to_frame(rows).reindex(columns=columns).fillna("")
    return Table(frame, {"hr": pd.Series(values, dtype=float)}, title,
                 (f"{estimate_label}: hazard ratio with 95% confidence interval.",))
