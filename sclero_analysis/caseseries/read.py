"""Read the three tables of a case series from files into raw cells, losing nothing.

Sources: a directory of CSV, Parquet or one-table ``.xlsx`` files named ``patients``, ``lines``
and ``events`` (any case), or one ``.xlsx`` workbook with three sheets. Every cell is kept as
read (text from CSV, typed values from Excel and Parquet); each data row keeps its row number as
a spreadsheet shows it (header = 1 when the header is the first row; a quoted cell spanning
lines is one row). Header names are matched ignoring case, accents and separators; the header
may sit below title rows. Columns that look like direct patient identifiers are reported and
never loaded. A row with more fields than the header (an unquoted delimiter inside a value) is
rejected without showing its values. What cannot be read at all raises
:class:`~sclero_analysis.exceptions.CaseSeriesError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from sclero_analysis.caseseries.grid import Grid
from sclero_analysis.caseseries.headers import header_key, is_identifier_column
from sclero_analysis.caseseries.schema import TABLES
from sclero_analysis.caseseries.table import RawTable, raw_table
from sclero_analysis.caseseries.textfile import read_text_grid
from sclero_analysis.caseseries.workbook import read_sheet_grid, read_workbook_grids
from sclero_analysis.exceptions import CaseSeriesError

__all__ = ["RawTable", "header_key", "is_identifier_column", "iter_tables", "raw_table",
           "read_tables"]

_TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
_TABLE_SUFFIXES = (*_TEXT_SUFFIXES, ".parquet", ".pq", *_WORKBOOK_SUFFIXES)


def read_tables(
    path: str | Path, *, sheet_names: Mapping[str, str] | None = None
) -> dict[str, RawTable]:
    """Read ``patients``, ``lines`` and ``events`` from a directory or an ``.xlsx`` workbook.

    As :func:`iter_tables`, all three at once.

    Examples
    --------
    >>> sorted(read_tables("tests/data/good"))
    ['events', 'lines', 'patients']
    """
    return {raw.table: raw for raw in iter_tables(path, sheet_names=sheet_names)}


def iter_tables(
    path: str | Path, *, sheet_names: Mapping[str, str] | None = None
) -> Iterator[RawTable]:
    """Read ``patients``, ``lines`` and ``events`` one after the other, each when asked.

    Every table's file is found before the first is read, so that a missing one is reported
    at once.

    Parameters
    ----------
    path : str or Path
        Directory of CSV/Parquet/one-table workbook files (or holding one workbook), or an
        ``.xlsx`` file.
    sheet_names : Mapping[str, str], optional
        Table → sheet name, for workbooks whose sheets are not named after the tables.

    Yields
    ------
    RawTable
        Each table in turn: patients, lines, events.

    Raises
    ------
    CaseSeriesError
        Missing path, table or sheet; empty file; not a table; hidden or ambiguous sheet; NUL
        byte; unbalanced quote; no recognisable header.
    ValueError
        When ``sheet_names`` names a table other than patients, lines, events.
    """
    unknown = set(sheet_names or {}) - set(TABLES)
    if unknown:
        raise ValueError(f"sheet_names keys must be among {TABLES}, not {sorted(unknown)}")
    path = Path(path)
    if not path.exists():
        raise CaseSeriesError(f"{path}: no such file or directory", file=str(path), rule="missing_path")
    if path.is_dir():
        workbooks = sorted(p for p in path.iterdir() if p.suffix.lower() in _WORKBOOK_SUFFIXES)
        files = _table_files(path)
        if len(workbooks) != 1 or any(p.suffix.lower() not in _WORKBOOK_SUFFIXES
                                      for found in files.values() for p in found):
            found = {table: _find_file(path, table) for table in TABLES}
            return (raw_table(_read_file(found[table], table), table) for table in TABLES)
        path = workbooks[0]
    if path.suffix.lower() in _WORKBOOK_SUFFIXES:
        grids = read_workbook_grids(path, sheet_names or {})
        return (raw_table(grids[table], table) for table in TABLES)
    hint = " (save an .xls or .ods workbook as .xlsx)" if path.suffix.lower() in (".xls", ".ods") else ""
    raise CaseSeriesError(
        f"{path}: expected a directory of patients/lines/events files or an .xlsx workbook{hint}",
        file=str(path), rule="not_a_table",
    )


def _table_files(directory: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for candidate in sorted(directory.iterdir()):
        if candidate.suffix.lower() in _TABLE_SUFFIXES and not candidate.name.startswith("~$"):
            if header_key(candidate.stem) in TABLES:
                found.setdefault(header_key(candidate.stem), []).append(candidate)
    return found


def _find_file(directory: Path, table: str) -> Path:
    candidates = _table_files(directory).get(table, [])
    if len(candidates) != 1:
        near = [p.name for p in sorted(directory.iterdir()) if table in header_key(p.stem)
                and p.suffix.lower() in _TABLE_SUFFIXES]
        detail = ("none found" + (f"; rename {', '.join(near)}?" if near else "")
                  if not candidates else ", ".join(p.name for p in candidates))
        raise CaseSeriesError(
            f"{directory}: need exactly one {table}.csv or {table}.parquet ({detail})",
            file=str(directory / f"{table}.csv"), table=table,
            rule="missing_table" if not candidates else "ambiguous_table",
        )
    return candidates[0]


def _read_file(path: Path, table: str) -> Grid:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _parquet_grid(path, table)
    if suffix in _WORKBOOK_SUFFIXES:
        return read_sheet_grid(path, table)
    return read_text_grid(path, table)


def _parquet_grid(path: Path, table: str) -> Grid:
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        raise CaseSeriesError(
            f"{path}: not a readable Parquet file ({error})", file=str(path), table=table,
            rule="not_a_table",
        ) from error
    values = frame.astype(object).where(frame.notna(), None)
    cells = pd.DataFrame([list(frame.columns), *values.to_numpy().tolist()], dtype=object)
    cells.index = pd.RangeIndex(1, len(cells) + 1, name="row")
    return Grid(str(path), cells)

