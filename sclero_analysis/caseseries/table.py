"""From a grid of cells to a raw table: the header found, the records set apart from the rest.

The header may sit below title rows; its names are matched to the contract ignoring case,
accents and separators, and columns that look like direct identifiers are reported and never
loaded. Blank rows, totals and repeated headers are not records; a row with more fields than
the header is shifted (:mod:`.shifted`). Each column is factorised once: blank cells, totals and
repeated headers are found among distinct values, and text columns keep their codes for parsing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from sclero_analysis.caseseries.cells import blank_texts, text_array
from sclero_analysis.caseseries.dates import EXCEL_EPOCH
from sclero_analysis.caseseries.grid import Grid
from sclero_analysis.caseseries.headers import header_key, is_identifier_column
from sclero_analysis.caseseries.problems import ERROR, WARNING, Problem, cell_text
from sclero_analysis.caseseries.schema import column_specs
from sclero_analysis.caseseries.shifted import extra_fields
from sclero_analysis.exceptions import CaseSeriesError

#: Rows searched for the header (title rows above it are allowed).
HEADER_SEARCH_ROWS = 10
_SUMMARY = re.compile(r"^\s*(total|totals|sum|summe|count|n|mean|average|median)\s*[:=]?\s*$", re.I)


@dataclass(frozen=True)
class RawTable:
    """One table as read: raw cells indexed by file row, contract columns only.

    Attributes
    ----------
    table, file : str
        Which table, and the file (or ``workbook.xlsx[sheet]``) it came from.
    header_row : int
        Row number of the header in the file.
    cells : pandas.DataFrame
        Object dtype; index = row numbers in the file; columns = contract column names found.
    missing : tuple of str
        Contract columns absent from the header.
    problems : list of Problem
        Header, identifier, encoding, sheet, ragged-row, summary-row and formula findings.
    summary_rows : tuple of int
        Rows that are not records (totals, a repeated header): reported, rejected, not parsed.
    shifted_rows : tuple of int
        Rows whose fields beyond the header hold values: rejected; only a ``patient_id`` in the
        first column (which no shift can move) is kept, the other cells are withheld.
    overlong_rows : Mapping[int, int]
        Rows with more fields than the header, the extra ones empty, and their number of fields
        (see :mod:`sclero_analysis.caseseries.shifted`).
    width : int
        Fields of the header.
    id_first : bool
        True when ``patient_id`` is the first column (a shifted row keeps it).
    epoch : datetime.datetime
        Day 0 of the file's date system, for Excel serial numbers.
    factorised : Mapping[str, tuple]
        For text columns (CSV), the cells' codes (aligned with ``cells``, -1 for empty) and
        distinct values, computed once while reading.
    """

    table: str
    file: str
    header_row: int
    cells: pd.DataFrame
    missing: tuple[str, ...]
    problems: list[Problem] = field(default_factory=list)
    summary_rows: tuple[int, ...] = ()
    shifted_rows: tuple[int, ...] = ()
    overlong_rows: Mapping[int, int] = field(default_factory=dict)
    width: int = 0
    id_first: bool = False
    epoch: datetime = EXCEL_EPOCH
    factorised: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


Factorised = list[tuple[np.ndarray, np.ndarray]]


def _hashable(values: np.ndarray) -> np.ndarray:
    """Cells as hashable values: a list or dict (from Parquet) is taken by its text."""
    return np.array([v if isinstance(v, str | float | int | bool) or v is None else
                     repr(v) if isinstance(v, list | dict | set | np.ndarray) else v
                     for v in values], dtype=object)


def _factorise(frame: pd.DataFrame) -> Factorised:
    """Codes and distinct values of each column, so each distinct value is looked at once."""
    columns = []
    for j in range(frame.shape[1]):
        values = frame.iloc[:, j].to_numpy(dtype=object)
        try:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
        except TypeError:
            codes, uniques = pd.factorize(_hashable(values), use_na_sentinel=True)
        columns.append((codes.astype(np.int32), uniques))  # half the memory of the default
    return columns


def _cells_where(column: tuple[np.ndarray, np.ndarray], test, empty: bool = False) -> np.ndarray:
    """Which cells of a factorised column pass ``test`` (empty cells: ``empty``)."""
    codes, uniques = column
    return np.array([bool(test(u)) for u in uniques] + [empty], dtype=bool)[codes]


def _is_blank(value: object) -> bool:
    if type(value) is str:
        return not value.strip()
    return cell_text(value) is None or not str(value).strip()


def _blank_cells(columns: Factorised, n_rows: int) -> np.ndarray:
    """Which cells are empty or whitespace."""
    blank = np.ones((n_rows, len(columns)), dtype=bool)
    for j, (codes, uniques) in enumerate(columns):
        texts = text_array(uniques)
        if texts is None:
            blank[:, j] = _cells_where((codes, uniques), _is_blank, empty=True)
        else:
            blank[:, j] = np.append(blank_texts(texts), True)[codes]
    return blank


def _find_header(frame: pd.DataFrame, nonblank: np.ndarray, table: str, file: str) -> int:
    keys = {header_key(name) for name in column_specs(table)}
    needed = min(2, len(keys))
    searched = np.flatnonzero(nonblank)[:HEADER_SEARCH_ROWS]
    for i in searched:
        if sum(header_key(c) in keys for c in frame.iloc[i] if cell_text(c) is not None) >= needed:
            return int(i)
    if not len(searched):
        raise CaseSeriesError(f"{file}: no rows at all", file=file, table=table, rule="empty_file")
    raise CaseSeriesError(
        f"{file}: no header row naming the {table} columns ({', '.join(column_specs(table))}) "
        f"in the first {HEADER_SEARCH_ROWS} rows",
        file=file, table=table, rule="no_header",
    )


def _map_header(
    header: list[object], header_row: int, table: str, file: str
) -> tuple[dict[int, str], list[Problem]]:
    """Map header positions to contract columns; report identifiers and unknown columns."""
    contract = {header_key(name): name for name in column_specs(table)}
    mapping: dict[int, str] = {}
    problems: list[Problem] = []
    for position, name in enumerate(header):
        label = cell_text(name)
        if label is None or not label.strip():
            continue
        column = contract.get(header_key(label))
        if column in mapping.values():
            raise CaseSeriesError(
                f"{file}: two columns are both '{column}'", file=file, table=table,
                rule="duplicate_column",
            )
        if column is not None:
            mapping[position] = column
        elif is_identifier_column(label):
            problems.append(Problem(
                table, header_row, label, None, WARNING, "direct_identifier",
                f"column '{label}' looks like a direct patient identifier; it was not loaded "
                "(remove it from the export)",
            ))
        else:
            problems.append(Problem(
                table, header_row, label, None, WARNING, "unknown_column",
                f"column '{label}' is not in the {table} data contract; it was not loaded",
            ))
    return mapping, problems


def _header_width(grid: Grid, header_at: int) -> int:
    """Fields of the header as the file wrote them (a workbook's rows span the sheet)."""
    if grid.fields is None:
        return grid.cells.shape[1]
    return min(int(grid.fields[header_at]), grid.cells.shape[1])


def raw_table(grid: Grid, table: str) -> RawTable:
    """Find the header of a grid, map its columns and set aside rows that are not records.

    Parameters
    ----------
    grid : Grid
        The cells of one file or sheet.
    table : str
        ``patients``, ``lines`` or ``events``.

    Returns
    -------
    RawTable
        Data rows (blank rows aside) under the contract's column names, with the findings.
    """
    frame = grid.cells
    columns = _factorise(frame)
    blank = _blank_cells(columns, len(frame))
    nonblank = ~blank.all(axis=1)
    header_at = _find_header(frame, nonblank, table, grid.file)
    header_row = int(frame.index[header_at])
    width = _header_width(grid, header_at)
    mapping, problems = _map_header(frame.iloc[header_at, :width].tolist(), header_row, table,
                                    grid.file)
    problems = list(grid.problems) + problems
    if header_at > 0:
        problems.append(Problem(
            table, header_row, None, None, WARNING, "header_not_first_row",
            f"the header is on row {header_row}; rows above it were skipped as titles",
        ))
    data = nonblank & (np.arange(len(frame)) > header_at)
    shifted = data & ~blank[:, width:].all(axis=1)
    overlong = data & ~shifted & (grid.fields > width) if grid.fields is not None else shifted & False
    cells = frame.loc[data, list(mapping)].set_axis(list(mapping.values()), axis=1)
    not_records, found = _non_records(frame, columns, data & ~shifted, header_at, mapping, table)
    problems += found + _shifted(frame, blank, shifted, width, table)
    problems += _unnamed_columns(frame, blank, data, width, header_at, table, header_row)
    if grid.findings:
        records = set(frame.index[data & ~shifted]) - set(not_records)
        problems += _cell_findings(grid, mapping, table, records)
    shifted_rows = tuple(int(r) for r in frame.index[shifted])
    id_first = mapping.get(0) == "patient_id"
    if shifted_rows:
        withheld = [c for c in mapping.values() if not (c == "patient_id" and id_first)]
        cells.loc[list(shifted_rows), withheld] = None
    missing = tuple(name for name in column_specs(table) if name not in mapping.values())
    return RawTable(table, grid.file, header_row, cells.rename_axis("row"), missing, problems,
                    tuple(not_records), shifted_rows,
                    _overlong(frame, grid, overlong & ~np.isin(frame.index, not_records)),
                    width, id_first, grid.epoch, _text_codes(columns, mapping, data, shifted))


def _text_codes(columns: Factorised, mapping: dict[int, str], data: np.ndarray,
                shifted: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Codes of the records' cells in text columns, shifted rows' withheld cells empty."""
    found = {}
    for position, name in mapping.items():
        codes, uniques = columns[position]
        if pd.api.types.infer_dtype(uniques, skipna=True) not in ("string", "empty"):
            continue  # typed cells (Excel): True, 1 and 1.0 must be told apart again
        if not (name == "patient_id" and position == 0):
            codes = np.where(shifted, -1, codes)
        found[name] = (codes[data], uniques)
    return found


def _non_records(frame: pd.DataFrame, columns: Factorised, data: np.ndarray, header_at: int,
                 mapping: dict[int, str], table: str) -> tuple[list[int], list[Problem]]:
    """Rows that are a total or a repeated header, not records."""
    codes, uniques = columns[0]
    texts = text_array(uniques)  # a total's label is short: test only short texts
    short = np.flatnonzero([isinstance(v, str) for v in uniques] if texts is None
                           else np.strings.str_len(texts) < 12)
    total = np.zeros(len(uniques) + 1, dtype=bool)
    total[short] = [bool(_SUMMARY.match(uniques[i])) for i in short]
    summary = data & total[codes]
    named = np.zeros(len(frame), dtype=int)
    for position in mapping:  # a pasted second export repeats the header cells as they are
        codes, _ = columns[position]
        named += codes == codes[header_at]
    repeated = data & ~summary & (named >= min(2, len(mapping))) & bool(mapping)
    problems = []
    for i in np.flatnonzero(summary | repeated):
        row, label = int(frame.index[i]), frame.iat[i, 0]
        if summary[i]:
            problems.append(Problem(
                table, row, None, label, ERROR, "summary_row",
                f"row {row} looks like a '{label.strip()}' row, not a record; it was rejected"))
        else:
            problems.append(Problem(
                table, row, None, None, ERROR, "repeated_header",
                f"row {row} repeats the header (two exports pasted together?); it was rejected"))
    return [int(r) for r in frame.index[summary | repeated]], problems


def _overlong(frame: pd.DataFrame, grid: Grid, overlong: np.ndarray) -> dict[int, int]:
    return {int(frame.index[i]): int(grid.fields[i]) for i in np.flatnonzero(overlong)}


def _shifted(frame: pd.DataFrame, blank: np.ndarray, shifted: np.ndarray, width: int, table: str
             ) -> list[Problem]:
    return [extra_fields(table, int(frame.index[i]), width,
                         [int(p) + 1 for p in np.flatnonzero(~blank[i, width:]) + width])
            for i in np.flatnonzero(shifted)]


def _unnamed_columns(frame: pd.DataFrame, blank: np.ndarray, data: np.ndarray, width: int,
                     header_at: int, table: str, header_row: int) -> list[Problem]:
    """Report values under a blank header cell (they cannot be loaded)."""
    unnamed = [j for j in range(width) if blank[header_at, j] and (~blank[data, j]).any()]
    return [Problem(
        table, header_row, f"column {j + 1}", None, WARNING, "unnamed_column",
        f"column {j + 1} has values but no header; it was not loaded",
    ) for j in unnamed]


def _cell_findings(grid: Grid, mapping: dict[int, str], table: str, records: set[int]
                   ) -> list[Problem]:
    """Place the grid's cell findings (formulas without value) in the records' columns."""
    return [Problem(table, f.row, mapping[f.position], None, f.severity, f.rule, f.message)
            for f in grid.findings if f.position in mapping and f.row in records]
