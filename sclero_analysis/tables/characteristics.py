"""Table 1: characteristics overall and per group (R tableone's conventions), once per patient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sclero_analysis.formatting import format_p
from sclero_analysis.tables.summaries import UNDEFINED, continuous_cell, kind_of, mean_smd, p_value
from sclero_analysis.tables.suppression import COMPLEMENTARY, PRIMARY, suppress
from sclero_analysis.tables.table import INDENT, Table, rows_to_frame
from sclero_analysis.tables.units import Unit, check_constant, described

#: Shown for a count suppressed so that a count below ``min_cell`` cannot be recovered.
COMPLEMENTARY_MARK = "*"


@dataclass(frozen=True)
class _Layout:
    """Columns of the table and the rows of each: the Overall column first when shown."""

    columns: list[str]
    subsets: dict[str, pd.Series]
    min_cell: int | None
    decimals: int

    @property
    def overall(self) -> int | None:
        return 0 if self.columns and self.columns[0] == "Overall" else None

    def cell(self, n: int, total: int, status: int) -> str:
        """Return ``n (%)`` of ``total`` (``n`` alone without one), or its suppression mark."""
        if status == PRIMARY:
            return f"<{self.min_cell}"
        if status == COMPLEMENTARY:
            return COMPLEMENTARY_MARK
        return f"{n} ({100 * n / total:.{self.decimals}f})" if total else f"{n}"

    def count_rows(self, labels: list[str], counts: np.ndarray, totals: np.ndarray,
                   hidden_last: bool = False) -> list[tuple[str, dict[str, str]]]:
        """Display rows of a block of counts (levels × columns), suppressed when ``min_cell`` is set.

        ``hidden_last``: the block's last row is not shown (the "no" of a yes/no
        characteristic) but counts in its columns' totals.
        """
        hidden = np.zeros(counts.shape, bool)
        hidden[len(labels):] = hidden_last
        status = np.zeros(counts.shape, int) if self.min_cell is None else suppress(
            counts, self.min_cell, self.overall, hidden)
        return [(label, {c: self.cell(int(counts[r, j]), int(totals[j]), status[r, j])
                         for j, c in enumerate(self.columns)}) for r, label in enumerate(labels)]

    def size_row(self, total: int) -> tuple[str, dict[str, str]]:
        """Return the ``n`` row: its total is known (the notes give it), the row's margin."""
        sizes = np.array([[total] + [int(self.subsets[c].sum()) for c in self.columns if c != "Overall"]])
        status = np.zeros(sizes.shape, int)
        if self.min_cell is not None:
            status = suppress(sizes, self.min_cell, overall=0, known=np.arange(sizes.size) == 0,
                              column_totals=False)
        if self.overall is None:
            sizes, status = sizes[:, 1:], status[:, 1:]
        return ("n", {c: self.cell(int(sizes[0, j]), 0, status[0, j]) for j, c in enumerate(self.columns)})


def _levels(values: pd.Series) -> list:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    return sorted({str(v) for v in values.dropna()})


def _variable_rows(name: str, kind: str, values: pd.Series, layout: _Layout, nonnormal: bool,
                   extra: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """Display rows of one variable: one row (continuous, yes/no) or a header and its levels."""
    cells = {c: values[layout.subsets[c]] for c in layout.columns}
    if kind == "continuous":
        label = f"{name}, " + ("median [IQR]" if nonnormal else "mean (SD)")
        return [(label, {c: continuous_cell(x, nonnormal, layout.decimals) for c, x in cells.items()}
                 | extra)]
    totals = np.array([int(x.notna().sum()) for x in cells.values()])
    if kind == "binary":
        yes = np.array([int(x.dropna().astype(bool).sum()) for x in cells.values()])
        rows = layout.count_rows([f"{name}, n (%)"], np.vstack([yes, totals - yes]), totals, hidden_last=True)
        return [(rows[0][0], rows[0][1] | extra)]
    levels = _levels(values)
    counts = np.array([[int((x.astype(str) == str(level)).sum()) for x in cells.values()]
                       for level in levels]).reshape(len(levels), len(cells))
    header = (f"{name}, n (%)", dict.fromkeys(cells, "") | extra)
    return [header, *layout.count_rows([f"{INDENT}{level}" for level in levels], counts, totals)]


def _groups(df: pd.DataFrame, by: str | None) -> tuple[pd.Series, list]:
    """Return the grouping column and its levels present in the data, in categorical order."""
    if not by:
        return pd.Series("Overall", index=df.index), []
    groups = df[by]
    if isinstance(groups.dtype, pd.CategoricalDtype):
        return groups, [g for g in groups.cat.categories if (groups == g).any()]
    return groups, list(pd.unique(groups.dropna()))


def _variables(df: pd.DataFrame, by: str | None, continuous, categorical,
               defaults: list[str]) -> tuple[list[str], list[str]]:
    if continuous is None and categorical is None:
        names = [c for c in defaults if c != by]
        continuous = [c for c in names if kind_of(df[c]) == "continuous"]
        categorical = [c for c in names if c not in continuous]
    continuous, categorical = list(continuous or []), list(categorical or [])
    missing = [c for c in continuous + categorical + ([by] if by else []) if c not in df.columns]
    if missing:
        raise KeyError(f"table_one: no column {missing[0]!r}; the columns are {list(df.columns)}")
    text = [c for c in continuous if not pd.api.types.is_numeric_dtype(df[c]) or kind_of(df[c]) == "binary"]
    if text:
        raise TypeError(f"table_one: {text[0]!r} is not numeric; name it under categorical=")
    return continuous, categorical


def _notes(unit_word: str, n: int, unit_notes: tuple[str, ...], levels: list, smds: dict, ps: dict,
           min_cell: int | None, missing_group: int, by: str | None) -> tuple[str, ...]:
    notes = [f"Unit: {unit_word} (n = {n}). Continuous: mean (SD) or median [IQR]; categorical: n (%) "
             "of non-missing values.", *unit_notes]
    if smds:
        notes.append("SMD: absolute standardised mean difference"
                     + (" (mean over all pairs of groups)." if len(levels) > 2 else "."))
    if ps:
        notes.append("p: ANOVA, Kruskal–Wallis (median [IQR]) or χ² test.")
    if min_cell is not None:
        notes.append(f"Counts below {min_cell} are suppressed (<{min_cell}); {COMPLEMENTARY_MARK}: a count "
                     "suppressed as well, so that none can be recovered from the totals.")
    if missing_group:
        notes.append(f"{missing_group} {unit_word} without {by} are counted in Overall only.")
    return tuple(notes)


def _check_options(nonnormal, continuous: list[str], min_cell: int | None) -> None:
    unknown = [c for c in nonnormal if c not in continuous]
    if unknown:
        raise KeyError(f"table_one: nonnormal {unknown[0]!r} is not among the continuous variables")
    if min_cell is not None and min_cell < 1:
        raise ValueError("min_cell must be a positive count")


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
    unit: Unit | None = None,
) -> Table:
    """Table 1: characteristics overall and per group, missing counts, SMDs.

    Follows R's tableone: n (%) for categorical variables (a yes/no variable is one row, its
    "yes" count), mean (SD) or, for ``nonnormal`` ones, median [Q1, Q3]; percentages over
    the non-missing values; a ``Missing`` column counting missing values overall; SMDs as
    :func:`standardized_difference` (the mean over pairs with more than two groups).

    Parameters
    ----------
    data : CaseSeries or pandas.DataFrame
        A case series, or a frame with ``patient_id`` (e.g. :func:`sclero_analysis.relapse_frame`),
        is described once per patient (``unit="patient"``): its patients table, grouped by
        the tier of each patient's first line. A DataFrame without ``patient_id`` is
        described row by row.
    by : str or None
        Grouping column (kept in its categorical order); None gives the overall column only.
        Per patient, a column that changes between a patient's lines (the tier) takes its
        value at the first line.
    continuous, categorical : sequence of str, optional
        Variables (default: age, sex, mRSS, paraprotein, organ involvement; per line also
        line number and ECP). Per patient, each must be the same in every row of a patient.
    nonnormal : sequence of str
        Continuous variables summarised as median [Q1, Q3] (and tested by Kruskal–Wallis).
    smd : bool
        Add the ``SMD`` column (needs two or more groups).
    pvalues : bool
        Add ``p`` (ANOVA, Kruskal–Wallis, χ² with Yates' correction for 2×2 as R's
        ``chisq.test``). Off by default: baseline differences are described, not tested.
    min_cell : int, optional
        Show counts from 1 to ``min_cell − 1`` as ``<min_cell``, and suppress further counts
        (``*``) wherever a suppressed one could be recovered from the shown counts and the
        margins (the Overall column, the columns' totals): see Notes.
    overall : bool
        Add the ``Overall`` column.
    decimals : int
    title : str, optional
    unit : {"patient", "line"}, optional
        ``"line"``: one row per line of therapy (a case series through
        :func:`~sclero_analysis.relapse_frame`; a frame's rows as given), a patient counted
        once per line, and said so in the notes. Default: per patient where the data say
        who the patient is.

    Returns
    -------
    Table
        ``.summary`` display strings; ``.values["smd"]``, ``.values["p"]`` per variable;
        ``.notes`` name the unit and n.

    Notes
    -----
    Suppression treats each characteristic's counts (levels × columns) as a table whose row
    totals (the Overall column) and column totals (non-missing values per group, which the
    percentages give away) a reader knows; the ``n`` row's Overall is its margin. A suppressed
    count that these determine — alone in its row or column, or by any combination of sums
    and differences, checked by linear algebra — forces the smallest shown count of its row
    or column to be suppressed too, until none is determined. Only counts are protected: a
    mean (SD) of a group with fewer than ``min_cell`` values is shown.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> t = table_one(sa.load_example(), continuous=["age_at_diagnosis_years"],
    ...               categorical=["sex"])
    >>> list(t.summary.columns)
    ['Overall', 'ivig', 'immunosuppression', 'cytoreduction', 'Missing', 'SMD']
    >>> t.summary.loc["n", "Overall"], t.notes[0].split(".")[0]
    ('400', 'Unit: patients (n = 400)')
    """
    what = described(data, unit, by)
    df = what.frame
    continuous, categorical = _variables(df, by, continuous, categorical, what.default_variables())
    _check_options(nonnormal, continuous, min_cell)
    if what.rows is not None:
        check_constant(what.rows, [*continuous, *categorical])
    groups, levels = _groups(df, by)
    columns = (["Overall"] if overall or not by else []) + ([str(g) for g in levels] if by else [])
    subsets = {"Overall": pd.Series(True, index=df.index)} | {str(g): groups == g for g in levels}
    layout = _Layout(columns, subsets, min_cell, decimals)
    rows = [layout.size_row(len(df))]
    smds, ps = {}, {}
    for name in [*continuous, *categorical]:
        values = df[name]
        kind = "continuous" if name in continuous else kind_of(values)
        extra = {"Missing": str(int(values.isna().sum()))}
        if by and len(levels) > 1 and smd:
            smds[name] = mean_smd(values, groups, levels, categorical=kind != "continuous")
            extra["SMD"] = f"{smds[name]:.3f}" if np.isfinite(smds[name]) else UNDEFINED
        if by and len(levels) > 1 and pvalues:
            ps[name] = p_value(values, groups, levels, kind, name in nonnormal)
            extra["p"] = format_p(ps[name])
        rows += _variable_rows(name, kind, values, layout, name in nonnormal, extra)
    summary = rows_to_frame(rows).reindex(
        columns=columns + ["Missing"] + (["SMD"] if smds else []) + (["p"] if ps else [])).fillna("")
    notes = _notes(what.word, len(df), what.notes, levels, smds, ps, min_cell,
                   int(groups.isna().sum()) if by else 0, by)
    cells = summary.to_numpy().ravel().tolist()
    if any(c == UNDEFINED or c.endswith(f"({UNDEFINED})") for c in cells):
        notes += (f"{UNDEFINED}: not defined (an SD, or an SMD, needs two values or more in a group).",)
    return Table(summary, {"smd": pd.Series(smds, dtype=float), "p": pd.Series(ps, dtype=float)},
                 title or (f"Characteristics by {by}" if by else "Characteristics"), notes)
