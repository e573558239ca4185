"""``Table``: a publication table's display strings, the numbers behind them, title and notes.

Written as Markdown, HTML, LaTeX (booktabs) or CSV.
"""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass, field

import pandas as pd

from sclero_analysis.caseseries.spreadsheet import spreadsheet_safe
from sclero_analysis.formatting import format_p

#: Level rows of a categorical variable start with this indent.
INDENT = "    "
#: Columns of a table of medians (``km.medians``) where NaN means "not reached".
MEDIAN_COLUMNS = ("median", "lower", "upper")
NOT_REACHED = "not reached"
#: Columns holding p-values: their numbers are written by :func:`~sclero_analysis.formatting.format_p`.
P_COLUMNS = ("p", "p_value", "p_adjusted", "pvalue", "p_val")


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value) or value is None or value is pd.NA


def _cell(value, column, medians: bool) -> str:
    if _is_nan(value):
        return NOT_REACHED if medians and column in MEDIAN_COLUMNS else ""
    if column in P_COLUMNS and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return format_p(float(value))
    return str(value)


def display_cells(frame: pd.DataFrame) -> list[list[str]]:
    """Return the cells of ``frame`` as text, by the package's rules for p-values and medians.

    A number in a p-value column (``p``, ``p_value``, ``p_adjusted`` …) is written by
    :func:`~sclero_analysis.formatting.format_p` (``< 0.001``, never ``0.0`` or ``1.5e-08``).
    A frame with a ``median`` column is a table of medians (``km.medians``,
    ``follow_up(...).summary``): NaN in ``median, lower, upper`` there means the curve never
    reaches 0.5 (R prints NA), written "not reached". Other NaN cells are blank, other cells
    ``str(value)``.

    Examples
    --------
    >>> display_cells(pd.DataFrame({"median": [12.5, float("nan")], "n": [3, None]}))
    [['12.5', '3.0'], ['not reached', '']]
    >>> display_cells(pd.DataFrame({"hr": [0.5, 2.0], "p": [1.5e-08, 0.0496]}))
    [['0.5', '< 0.001'], ['2.0', '0.050']]
    """
    medians = "median" in frame.columns
    return [[_cell(v, column, medians) for column, v in zip(frame.columns, row, strict=True)]
            for row in frame.itertuples(index=False)]


@dataclass(frozen=True)
class Table:
    """A publication table.

    Attributes
    ----------
    summary : pandas.DataFrame
        Display strings; the index holds the row labels (level rows start with four spaces).
        An unnamed ``RangeIndex`` (0, 1, 2 … of a frame without row labels) is not written:
        the table then has no label column. Numbers in p-value columns are written by
        ``format_p``; NaN cells are blank, or "not reached" in a table of medians
        (:func:`display_cells`).
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

    @property
    def has_labels(self) -> bool:
        """False when the rows carry no labels (an unnamed ``RangeIndex``): no label column."""
        index = self.summary.index
        return not (isinstance(index, pd.RangeIndex) and index.name is None)

    def _labels(self, indent: str) -> list[str]:
        return [indent + str(i).lstrip() if str(i).startswith(INDENT) else str(i) for i in self.summary.index]

    def _rows(self, indent: str) -> list[list[str]]:
        """Each row's cells as text, its label first when the table has labels."""
        cells = display_cells(self.summary)
        if not self.has_labels:
            return cells
        return [[label, *row] for label, row in zip(self._labels(indent), cells, strict=True)]

    def to_csv(self) -> str:
        """CSV text: the row labels (``characteristic`` unless the index is named) then the columns.

        A label or cell a spreadsheet would run as a formula gets a ``'`` before it.
        """
        frame = pd.DataFrame(display_cells(self.summary), columns=self.summary.columns)
        if not self.has_labels:
            return spreadsheet_safe(frame).to_csv(index=False, lineterminator="\n")
        frame.index = pd.Index(self.summary.index, name=self.summary.index.name or "characteristic")
        return spreadsheet_safe(frame).to_csv(lineterminator="\n")

    def to_markdown(self) -> str:
        """Return a Markdown (pipe) table, title in bold above and notes below.

        Numbers are right-aligned; the label column (when the rows have labels) is left-aligned.
        """
        def cell(text) -> str:
            return str(text).replace("|", "\\|")

        label = [""] if self.has_labels else []
        header = "| " + " | ".join([*label, *(cell(c) for c in self.summary.columns)]) + " |"
        rule = "|" + ":--|" * len(label) + "--:|" * len(self.summary.columns)
        body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in self._rows("&emsp;")]
        parts = ([f"**{self.title}**", ""] if self.title else []) + [header, rule, *body]
        if self.notes:
            parts += [""] + [f"{note}  " for note in self.notes]
        return "\n".join(parts)

    def to_html(self) -> str:
        """Return a standalone ``<table>`` (caption, header, body, notes in the footer)."""
        def esc(text) -> str:
            return html.escape(str(text))

        head = ("<th></th>" if self.has_labels else "") + "".join(
            f"<th>{esc(c)}</th>" for c in self.summary.columns)
        rows = []
        for raw, cells in zip(self.summary.index, self._rows(""), strict=True):
            style = ' style="padding-left:1.5em"' if str(raw).startswith(INDENT) else ""
            label = f'<th scope="row"{style}>{esc(cells[0])}</th>' if self.has_labels else ""
            values = cells[1:] if self.has_labels else cells
            rows.append(f"<tr>{label}{''.join(f'<td>{esc(v)}</td>' for v in values)}</tr>")
        caption = f"<caption>{esc(self.title)}</caption>" if self.title else ""
        foot = ""
        if self.notes:
            span = len(self.summary.columns) + int(self.has_labels)
            foot = "<tfoot>" + "".join(f'<tr><td colspan="{span}">{esc(n)}</td></tr>' for n in self.notes) \
                + "</tfoot>"
        return (f'<table class="sclero-table">{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(rows)}</tbody>{foot}</table>")

    def to_latex(self) -> str:
        """Return a booktabs ``tabular`` (needs ``booktabs``), title and notes as comments."""
        esc = _latex_escape
        labelled = self.has_labels
        cols = "l" * labelled + "r" * len(self.summary.columns)
        lines = [f"% {self.title}"] if self.title else []
        lines += [rf"\begin{{tabular}}{{{cols}}}", r"\toprule",
                  " & ".join([""] * labelled + [esc(c) for c in self.summary.columns]) + r" \\",
                  r"\midrule"]
        for raw, row in zip(self.summary.index, display_cells(self.summary), strict=True):
            label = str(raw)
            text = r"\quad " + esc(label.lstrip()) if label.startswith(INDENT) else esc(label)
            lines.append(" & ".join([text] * labelled + [esc(v) for v in row]) + r" \\")
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


def rows_to_frame(rows: list[tuple[str, dict[str, str]]]) -> pd.DataFrame:
    """Rows of display cells to a DataFrame (labels may repeat: levels of different variables)."""
    return pd.DataFrame([cells for _, cells in rows], index=pd.Index([label for label, _ in rows]))
