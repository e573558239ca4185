"""Problems found while loading a case series, and the report they make (docs/data_contract.md §3, §6).

A :class:`Problem` names one cell (or a whole column or file, when ``row`` is None); the
report is their table with the file each table came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

import pandas as pd

ERROR = "error"
WARNING = "warning"
REPORT_COLUMNS = ("file", "table", "row", "column", "value", "severity", "rule", "message")
SEVERITY_DTYPE = pd.CategoricalDtype([ERROR, WARNING])


class Problem(NamedTuple):
    """One problem: where it is (table, row as the file shows it, column), what and how bad."""

    table: str
    row: int | None
    column: str | None
    value: str | None
    severity: str
    rule: str
    message: str


def cell_text(value: object) -> str | None:
    """Return a cell as the report shows it (None for an empty cell)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def problems_at(
    table: str,
    rows: Iterable[int],
    column: str | None,
    values: Iterable[object],
    *,
    severity: str,
    rule: str,
    message: str | Iterable[str],
) -> list[Problem]:
    """Build one problem per row, sharing a rule (and a message, or one message per row)."""
    rows = list(rows)
    messages = [message] * len(rows) if isinstance(message, str) else list(message)
    return [
        Problem(table, int(row), column, cell_text(value), severity, rule, text)
        for row, value, text in zip(rows, values, messages, strict=True)
    ]


def report_frame(problems: Iterable[Problem], files: Mapping[str, str]) -> pd.DataFrame:
    """Tabulate problems as ``CaseSeries.report``, sorted by table, row and column.

    Parameters
    ----------
    problems : iterable of Problem
        Everything found.
    files : Mapping[str, str]
        Table name → the file it was read from.

    Returns
    -------
    pandas.DataFrame
        Columns ``file, table, row, column, value, severity, rule, message``; ``row`` is the
        line as a spreadsheet shows it (header = 1, first data row = 2), missing for problems
        of a whole file or column.
    """
    frame = pd.DataFrame(list(problems), columns=list(Problem._fields))
    frame.insert(0, "file", frame["table"].map(lambda t: files.get(t, "")))
    frame = frame.astype(
        {
            "file": "string", "table": "string", "row": "Int64", "column": "string",
            "value": "string", "severity": SEVERITY_DTYPE, "rule": "string",
            "message": "string",
        }
    )
    order = {name: i for i, name in enumerate(("patients", "lines", "events"))}
    frame = frame.assign(_t=frame["table"].map(order).astype(float))
    frame = frame.sort_values(["_t", "row", "column"], na_position="first", kind="stable")
    return frame.drop(columns="_t").reset_index(drop=True)[list(REPORT_COLUMNS)]
