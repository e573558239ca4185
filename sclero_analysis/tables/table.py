"""``Table``: a publication table's display strings, the numbers behind them, title and notes.

Written as Markdown, HTML, LaTeX (booktabs) or CSV.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

#: Level rows of a categorical variable start with this indent.
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
        """CSV text: the row labels (``characteristic`` unless the index is named) then the columns."""
        label = self.summary.index.name or "characteristic"
        return self.summary.rename_axis(label).to_csv(lineterminator="\n")

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


def rows_to_frame(rows: list[tuple[str, dict[str, str]]]) -> pd.DataFrame:
    """Rows of display cells to a DataFrame (labels may repeat: levels of different variables)."""
    return pd.DataFrame([cells for _, cells in rows], index=pd.Index([label for label, _ in rows]))
