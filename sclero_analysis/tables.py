"""Publication tables: Table 1 by tier (tableone's conventions) and regression tables.

Both return a :class:`Table`: display strings (``.summary``) plus the numbers behind them, written
as Markdown, HTML, LaTeX (booktabs) or CSV.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from sclero_analysis.caseseries.spreadsheet import spreadsheet_safe
from sclero_analysis.cohort import COVARIATES, relapse_frame
from sclero_analysis.formatting import format_p, format_ratio_ci, regression_models, term_rows

#: Variables of Table 1 when none are named: the analysis frames' covariates (site aside).
DEFAULT_VARIABLES = tuple(c for c in COVARIATES if c != "site") + ("line", "adjunct_ecp")
INDENT = "    "


@dataclass(frozen=True)
class Table:
    """A publication table.

    Attributes
    ----------
    summary : pandas.DataFrame
        Display strings; the index holds the row labels (level rows start with four spaces).
    values : dict of pandas.Series
        Numbers behind the strings (e.g. ``"smd"``, ``"p"``) indexed by variable or term.
    title : str
    notes : tuple of str
        Footnotes (units, suppression rule, tests used).

    Examples
    --------
    >>> t = Table(pd.DataFrame({"n": ["3"]}, index=["lines"]), title="Demo")
    >>> print(t.to_markdown())
    **Demo**
    <BLANKLINE>
    |  | n |
    |:--|--:|
    | lines | 3 |
    """

    summary: pd.DataFrame
    values: dict[str, pd.Series] = field(default_factory=dict)
    title: str = ""
    notes: tuple[str, ...] = ()

    def _labels(self, indent: str) -> list[str]:
        return [indent + str(i).lstrip() if str(i).startswith(INDENT) else str(i) for i in self.summary.index]

    def to_csv(self) -> str:
        """CSV text: the row labels (``characteristic`` unless the index is named) then the columns.

        A label or cell a spreadsheet would run as a formula gets a ``'`` before it.
        """
        label = self.summary.index.name or "characteristic"
        return spreadsheet_safe(self.summary.rename_axis(label)).to_csv(lineterminator="\n")

    def to_markdown(self) -> str:
        """Return a Markdown (pipe) table, title in bold above and notes below."""
        def cell(text) -> str:
            return str(text).replace("|", "\\|")

        header = "|  | " + " | ".join(cell(c) for c in self.summary.columns) + " |"
        rule = "|:--|" + "".join("--:|" for _ in self.summary.columns)
        body = ["| " + " | ".join([cell(label)] + [cell(v) for v in row]) + " |"
                for label, row in zip(self._labels("&emsp;"), self.summary.to_numpy(), strict=True)]
        parts = ([f"**{self.title}**", ""] if self.title else []) + [header, rule, *body]
        if self.notes:
            parts += [""] + [f"{note}  " for note in self.notes]
        return "\n".join(parts)

    def to_html(self) -> str:
        """Return a standalone ``<table>`` (caption, header, body, notes in the footer)."""
        def esc(text) -> str:
            return html.escape(str(text))

        head = "".join(f"<th>{esc(c)}</th>" for c in self.summary.columns)
        rows = []
        labels = self._labels("")
        for label, raw, row in zip(labels, self.summary.index, self.summary.to_numpy(), strict=True):
            style = ' style="padding-left:1.5em"' if str(raw).startswith(INDENT) else ""
            cells = "".join(f"<td>{esc(v)}</td>" for v in row)
            rows.append(f'<tr><th scope="row"{style}>{esc(label)}</th>{cells}</tr>')
        caption = f"<caption>{esc(self.title)}</caption>" if self.title else ""
        foot = ""
        if self.notes:
            span = len(self.summary.columns) + 1
            foot = "<tfoot>" + "".join(f'<tr><td colspan="{span}">{esc(n)}</td></tr>' for n in self.notes) \
                + "</tfoot>"
        return (f'<table class="sclero-table">{caption}<thead><tr><th></th>{head}</tr></thead>'
                f"<tbody>{''.join(rows)}</tbody>{foot}</table>")

    def to_latex(self) -> str:
        """Return a booktabs ``tabular`` (needs ``booktabs``), title and notes as comments."""
        esc = _latex_escape
        cols = "l" + "r" * len(self.summary.columns)
        lines = [f"% {self.title}"] if self.title else []
        lines += [rf"\begin{{tabular}}{{{cols}}}", r"\toprule",
                  " & " + " & ".join(esc(c) for c in self.summary.columns) + r" \\", r"\midrule"]
        for raw, row in zip(self.summary.index, self.summary.to_numpy(), strict=True):
            label = str(raw)
            text = r"\quad " + esc(label.lstrip()) if label.startswith(INDENT) else esc(label)
            lines.append(text + " & " + " & ".join(esc(v) for v in row) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        lines += [f"% {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return (f"{self.title}\n" if self.title else "") + self.summary.to_string()


LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "<": r"\textless{}", ">": r"\textgreater{}", "–": "--"}


def _latex_escape(text) -> str:
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in str(text))


# ----------------------------------------------------------------------------- Table 1

def standardized_difference(a: pd.Series, b: pd.Series, categorical: bool) -> float:
    """Absolute standardised difference between two groups (tableone's definitions).

    Continuous: |m₁ − m₂| / √((s₁² + s₂²) / 2) with sample variances. Categorical (Yang &
    Dalton 2012): √(Tᵀ S⁻¹ T) with T the differences in level proportions (first level
    dropped) and S the average of the two multinomial covariance matrices; for two levels
    this is |p₁ − p₂| / √((p₁(1 − p₁) + p₂(1 − p₂)) / 2). Missing values are left out.

    Examples
    --------
    >>> round(standardized_difference(pd.Series([1., 2, 3]), pd.Series([2., 3, 4]), False), 4)
    1.0
    >>> x, y = pd.Series(list("aab")), pd.Series(list("abb"))
    >>> round(standardized_difference(x, y, True), 4)   # |2/3 − 1/3| / √(2/9)
    0.7071
    """
    a, b = a.dropna(), b.dropna()
    if len(a) == 0 or len(b) == 0:
        return math.nan
    if not categorical:
        va, vb = (a.var(ddof=1) if len(a) > 1 else 0.0), (b.var(ddof=1) if len(b) > 1 else 0.0)
        diff = abs(float(a.mean()) - float(b.mean()))
        denominator = math.sqrt((va + vb) / 2)
        return diff / denominator if denominator > 0 else (0.0 if diff == 0 else math.inf)
    levels = sorted(set(a.astype(str)) | set(b.astype(str)))
    if len(levels) < 2:
        return 0.0
    pa = a.astype(str).value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()[1:]
    pb = b.astype(str).value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()[1:]
    t = pa - pb

    def cov(p):
        return np.diag(p) - np.outer(p, p)

    s = (cov(pa) + cov(pb)) / 2
    value = float(t @ np.linalg.pinv(s) @ t)  # Moore-Penrose inverse, as tableone's MASS::ginv
    return math.sqrt(max(value, 0.0))


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "binary"
    if pd.api.types.is_numeric_dtype(values):
        return "continuous"
    return "categorical"


def _count(n: int, total: int, min_cell: int | None, decimals: int) -> str:
    if min_cell is not None and 0 < n < min_cell:
        return f"<{min_cell}"
    pct = 100 * n / total if total else math.nan
    return f"{n} ({pct:.{decimals}f})" if total else f"{n}"


def _continuous_cell(x: pd.Series, nonnormal: bool, decimals: int) -> str:
    x = x.dropna()
    if len(x) == 0:
        return ""
    if nonnormal:
        q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])  # R's type 7, as tableone
        return f"{med:.{decimals}f} [{q1:.{decimals}f}, {q3:.{decimals}f}]"
    sd = x.std(ddof=1) if len(x) > 1 else math.nan
    return f"{x.mean():.{decimals}f} ({sd:.{decimals}f})"


def _pvalue(values: pd.Series, groups: pd.Series, levels: list, kind: str, nonnormal: bool) -> float:
    parts = [values[groups == g].dropna() for g in levels]
    parts = [p for p in parts if len(p)]
    if len(parts) < 2:
        return math.nan
    if kind == "continuous":
        test = stats.kruskal if nonnormal else stats.f_oneway  # R: kruskal.test / oneway.test(var.equal=TRUE)
        return float(test(*parts).pvalue)
    table = pd.crosstab(values.astype(str), groups).reindex(columns=levels, fill_value=0)
    table = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return math.nan
    return float(stats.chi2_contingency(table.to_numpy(), correction=True).pvalue)  # R's chisq.test


def _smd(values: pd.Series, groups: pd.Series, levels: list, categorical: bool) -> float:
    pairs = list(combinations(levels, 2))
    smds = [standardized_difference(values[groups == a], values[groups == b], categorical) for a, b in pairs]
    smds = [s for s in smds if not math.isnan(s)]
    return float(np.mean(smds)) if smds else math.nan  # tableone: mean over pairs with > 2 groups


def _variable_rows(name: str, kind: str, cells: dict[str, pd.Series], extra: dict[str, str], nonnormal: bool,
                   min_cell: int | None, decimals: int) -> list[tuple[str, dict[str, str]]]:
    """Display rows of one variable: one row (continuous, yes/no) or a header and its levels."""
    if kind == "continuous":
        label = f"{name}, " + ("median [IQR]" if nonnormal else "mean (SD)")
        return [(label, {c: _continuous_cell(x, nonnormal, decimals) for c, x in cells.items()} | extra)]
    if kind == "binary":
        return [(f"{name}, n (%)", {c: _count(int(x.sum()), int(x.notna().sum()), min_cell, decimals)
                                    for c, x in cells.items()} | extra)]
    values = next(iter(cells.values()))
    levels = list(values.cat.categories) if isinstance(values.dtype, pd.CategoricalDtype) \
        else sorted({str(v) for x in cells.values() for v in x.dropna()})
    rows = [(f"{name}, n (%)", dict.fromkeys(cells, "") | extra)]
    for level in levels:
        rows.append((f"{INDENT}{level}", {
            c: _count(int((x.astype(str) == str(level)).sum()), int(x.notna().sum()), min_cell, decimals)
            for c, x in cells.items()}))
    return rows


def _groups(df: pd.DataFrame, by: str | None) -> tuple[pd.Series, list]:
    """Return the grouping column and its levels present in the data, in categorical order."""
    if not by:
        return pd.Series("Overall", index=df.index), []
    groups = df[by]
    if isinstance(groups.dtype, pd.CategoricalDtype):
        return groups, [g for g in groups.cat.categories if (groups == g).any()]
    return groups, list(pd.unique(groups.dropna()))


def _frame_of(data) -> tuple[pd.DataFrame, str]:
    if isinstance(data, pd.DataFrame):
        return data, "rows"
    if hasattr(data, "lines") and hasattr(data, "patients"):
        return relapse_frame(data), "lines of therapy"
    raise TypeError("table_one takes a CaseSeries or a DataFrame")


def _variables(df: pd.DataFrame, by: str | None, continuous, categorical) -> tuple[list[str], list[str]]:
    if continuous is None and categorical is None:
        names = [c for c in DEFAULT_VARIABLES if c in df.columns and c != by]
        continuous = [c for c in names if _kind(df[c]) == "continuous"]
        categorical = [c for c in names if c not in continuous]
    continuous, categorical = list(continuous or []), list(categorical or [])
    missing = [c for c in continuous + categorical + ([by] if by else []) if c not in df.columns]
    if missing:
        raise KeyError(f"table_one: no column {missing[0]!r}; the columns are {list(df.columns)}")
    text = [c for c in continuous if not pd.api.types.is_numeric_dtype(df[c]) or _kind(df[c]) == "binary"]
    if text:
        raise TypeError(f"table_one: {text[0]!r} is not numeric; name it under categorical=")
    return continuous, categorical


def table_one(
    data,
    by: str | None = "tier",
    continuous: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    nonnormal: Sequence[str] = (),
    smd: bool = True,
    pvalues: bool = False,
    min_cell: int | None = None,
    overall: bool = True,
    decimals: int = 1,
    title: str | None = None,
) -> Table:
    """Table 1: characteristics overall and per group, missing counts, SMDs.

    Follows R's tableone: n (%) for categorical variables (a yes/no variable is one row, its
    "yes" count), mean (SD) or, for ``nonnormal`` ones, median [Q1, Q3]; percentages over
    the non-missing values; a ``Missing`` column counting missing values overall; SMDs as
    :func:`standardized_difference` (the mean over pairs with more than two groups).

    Parameters
    ----------
    data : CaseSeries or pandas.DataFrame
        A case series is described line by line through :func:`sclero_analysis.relapse_frame`
        (the unit of the tier comparison); a DataFrame row by row.
    by : str or None
        Grouping column (kept in its categorical order); None gives the overall column only.
    continuous, categorical : sequence of str, optional
        Variables (default: age, sex, mRSS, paraprotein, organ involvement, line number, ECP).
    nonnormal : sequence of str
        Continuous variables summarised as median [Q1, Q3] (and tested by Kruskal–Wallis).
    smd : bool
        Add the ``SMD`` column (needs two or more groups).
    pvalues : bool
        Add ``p`` (ANOVA, Kruskal–Wallis, χ² with Yates' correction for 2×2 as R's
        ``chisq.test``). Off by default: baseline differences are described, not tested.
    min_cell : int, optional
        Show counts from 1 to ``min_cell − 1`` as ``<min_cell`` (primary suppression only: an
        overall column can reveal a suppressed cell by subtraction; drop it with
        ``overall=False`` when that matters).
    overall : bool
        Add the ``Overall`` column.
    decimals : int
    title : str, optional

    Returns
    -------
    Table
        ``.summary`` display strings; ``.values["smd"]``, ``.values["p"]`` per variable.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> t = table_one(sa.load_example(), continuous=["age_at_diagnosis_years"],
    ...               categorical=["sex"])
    >>> list(t.summary.columns)
    ['Overall', 'ivig', 'immunosuppression', 'cytoreduction', 'other', 'Missing', 'SMD']
    >>> t.summary.index[0]
    'n'
    """
    df, unit = _frame_of(data)
    continuous, categorical = _variables(df, by, continuous, categorical)
    unknown = [c for c in nonnormal if c not in continuous]
    if unknown:
        raise KeyError(f"table_one: nonnormal {unknown[0]!r} is not among the continuous variables")
    if min_cell is not None and min_cell < 1:
        raise ValueError("min_cell must be a positive count")
    groups, levels = _groups(df, by)
    columns = (["Overall"] if overall or not by else []) + ([str(g) for g in levels] if by else [])
    subsets = {"Overall": pd.Series(True, index=df.index)} | {str(g): groups == g for g in levels}
    rows: list[tuple[str, dict[str, str]]] = [
        ("n", {c: _count(int(subsets[c].sum()), 0, min_cell, decimals) for c in columns})]
    smds, ps = {}, {}
    for name in [*continuous, *categorical]:
        values = df[name]
        kind = "continuous" if name in continuous else _kind(values)
        extra = {"Missing": str(int(values.isna().sum()))}
        if by and len(levels) > 1 and smd:
            smds[name] = _smd(values, groups, levels, categorical=kind != "continuous")
            extra["SMD"] = f"{smds[name]:.3f}"
        if by and len(levels) > 1 and pvalues:
            ps[name] = _pvalue(values, groups, levels, kind, name in nonnormal)
            extra["p"] = format_p(ps[name])
        cells = {c: values[subsets[c]] for c in columns}
        rows += _variable_rows(name, kind, cells, extra, name in nonnormal, min_cell, decimals)
    summary = _frame(rows).reindex(
        columns=columns + ["Missing"] + (["SMD"] if smds else []) + (["p"] if ps else [])).fillna("")
    n_missing_group = int(groups.isna().sum()) if by else 0
    notes = [f"Unit: {unit} (n = {len(df)}). Continuous: mean (SD) or median [IQR]; categorical: n (%) "
             "of non-missing values."]
    if smds:
        notes.append("SMD: absolute standardised mean difference"
                     + (" (mean over all pairs of groups)." if len(levels) > 2 else "."))
    if ps:
        notes.append("p: ANOVA, Kruskal–Wallis (median [IQR]) or χ² test.")
    if min_cell is not None:
        notes.append(f"Counts below {min_cell} are suppressed (<{min_cell}).")
    if n_missing_group:
        notes.append(f"{n_missing_group} rows without {by} are counted in Overall only.")
    return Table(summary, {"smd": pd.Series(smds, dtype=float), "p": pd.Series(ps, dtype=float)},
                 title or (f"Characteristics by {by}" if by else "Characteristics"), tuple(notes))


def _frame(rows: list[tuple[str, dict[str, str]]]) -> pd.DataFrame:
    """Rows of display cells to a DataFrame (labels may repeat: levels of different variables)."""
    return pd.DataFrame([cells for _, cells in rows], index=pd.Index([label for label, _ in rows]))


# ----------------------------------------------------------------------------- regression

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
    >>> t = regression_table(sa.fit_cox(df, "tier + mrss"))
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
    frame = _frame(rows).reindex(columns=columns).fillna("")
    return Table(frame, {"hr": pd.Series(values, dtype=float)}, title,
                 (f"{estimate_label}: hazard ratio with 95% confidence interval.",))
