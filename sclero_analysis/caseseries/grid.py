"""A table's cells exactly as a file holds them, before any header is looked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from sclero_analysis.caseseries.dates import EXCEL_EPOCH
from sclero_analysis.caseseries.problems import Problem


@dataclass(frozen=True)
class CellFinding:
    """A finding about one cell, known before the header is (a formula without a value).

    Attributes
    ----------
    row, position : int
        Spreadsheet row (header = 1 when it is the first row) and column position (0-based).
    severity, rule, message : str
        As in :class:`~sclero_analysis.caseseries.problems.Problem`.
    """

    row: int
    position: int
    severity: str
    rule: str
    message: str


@dataclass(frozen=True)
class Grid:
    """The cells of one CSV file, worksheet or Parquet file.

    Attributes
    ----------
    file : str
        The file (or ``workbook.xlsx[sheet]``) the cells come from.
    cells : pandas.DataFrame
        Object dtype; columns are positions 0, 1, …; the index is the row number as a
        spreadsheet shows it (1 for the first row, blank rows counted).
    fields : numpy.ndarray, optional
        Number of fields of each row as the file wrote them (trailing empty fields count), for
        text files; None where every row spans the grid (workbooks, Parquet) or the count is
        unknown.
    problems : list of Problem
        Findings about the whole file (encoding, hidden sheets).
    findings : tuple of CellFinding
        Findings about single cells, placed once the header is known.
    epoch : datetime.datetime
        Day 0 of the date system of the file's serial numbers (Excel's 1900 or 1904 system).
    """

    file: str
    cells: pd.DataFrame
    fields: np.ndarray | None = None
    problems: list[Problem] = field(default_factory=list)
    findings: tuple[CellFinding, ...] = ()
    epoch: datetime = EXCEL_EPOCH
