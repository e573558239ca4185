"""Find the tables of a literature (a folder of files or one workbook) and read its own tables.

The per-patient case tables (``patients``, ``lines``, ``events``) are read by the registry's
reader (:func:`sclero_analysis.caseseries.read.read_tables`); this module finds them and reads
the literature's own tables (``sources``, ``series``, ``scores``) into raw cells with their row
numbers as a spreadsheet shows them (header = 1), keeping every cell as read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sclero_analysis.caseseries.headers import header_key, is_identifier_column
from sclero_analysis.caseseries.problems import ERROR, WARNING, Problem, cell_text
from sclero_analysis.caseseries.schema import TABLES as CASE_TABLES
from sclero_analysis.caseseries.table import HEADER_SEARCH_ROWS, RawTable
from sclero_analysis.evidence.contract import LITERATURE_TABLES, TABLES, column_specs
from sclero_analysis.exceptions import CaseSeriesError

_SUFFIXES = (".csv", ".txt", ".tsv", ".parquet", ".pq")
_WORKBOOKS = (".xlsx", ".xlsm")
Rows = list[tuple[int, list[object]]]


@dataclass(frozen=True)
class Located:
    """Where each table of a literature is: files of a folder, or sheets of one workbook.

    Attributes
    ----------
    path : Path
        The folder or workbook given.
    files : Mapping[str, Path]
        Table → file, for a folder.
    workbook : Path, optional
        The workbook, when the literature is one.
    sheets : Mapping[str, str]
        Table → sheet name, for a workbook.
    """

    path: Path
    files: Mapping[str, Path] = field(default_factory=dict)
    workbook: Path | None = None
    sheets: Mapping[str, str] = field(default_factory=dict)

    def has(self, table: str) -> bool:
        """Tell whether the table is present."""
        return table in (self.sheets if self.workbook else self.files)

    def where(self, table: str) -> str:
        """Name the file (or ``workbook.xlsx[sheet]``) of a table."""
        if self.workbook is not None:
            return f"{self.workbook}[{self.sheets[table]}]"
        return str(self.files[table])


def locate(path: str | Path, sheet_names: Mapping[str, str] | None = None) -> Located:
    """Find the tables of a literature folder or workbook.

    Parameters
    ----------
    path : str or Path
        A folder of ``sources``, ``series``, ``scores``, ``patients``, ``lines``, ``events``
        files (CSV or Parquet; any may be absent but ``sources``), a folder holding only one
        ``.xlsx`` workbook, or the workbook itself.
    sheet_names : Mapping[str, str], optional
        Table → sheet name when a workbook's sheets are named otherwise.

    Returns
    -------
    Located

    Raises
    ------
    CaseSeriesError
        Missing path, two files for one table, or not a folder or workbook.
    """
    path = Path(path)
    if not path.exists():
        raise CaseSeriesError(f"{path}: no such file or directory", file=str(path), rule="missing_path")
    if path.is_dir():
        files = _table_files(path)
        workbooks = sorted(p for p in path.iterdir() if p.suffix.lower() in _WORKBOOKS)
        if files or len(workbooks) != 1:
            return Located(path, files=files)
        path = workbooks[0]
    if path.suffix.lower() in _WORKBOOKS:
        return Located(path, workbook=path, sheets=_sheets(path, sheet_names or {}))
    raise CaseSeriesError(
        f"{path}: expected a folder of literature tables or an .xlsx workbook", file=str(path),
        rule="not_a_table")


def _table_files(directory: Path) -> dict[str, Path]:
    found: dict[str, list[Path]] = {}
    for candidate in sorted(directory.iterdir()):
        if candidate.suffix.lower() in _SUFFIXES and header_key(candidate.stem) in TABLES:
            found.setdefault(header_key(candidate.stem), []).append(candidate)
    for table, paths in found.items():
        if len(paths) > 1:
            raise CaseSeriesError(
                f"{directory}: need one {table} file, found {', '.join(p.name for p in paths)}",
                file=str(directory), table=table, rule="ambiguous_table")
    return {table: paths[0] for table, paths in found.items()}


def _sheets(workbook: Path, sheet_names: Mapping[str, str]) -> dict[str, str]:
    import openpyxl  # deferred: only workbooks need it, and it is slow to import

    try:
        book = openpyxl.load_workbook(workbook, read_only=True)
    except Exception as error:  # openpyxl raises several unrelated types for a bad file
        raise CaseSeriesError(f"{workbook}: not a readable .xlsx workbook ({error})",
                              file=str(workbook), rule="not_a_table") from error
    by_key = {header_key(name): name for name in book.sheetnames}
    book.close()
    sheets = {}
    for table in TABLES:
        wanted = sheet_names.get(table)
        sheet = by_key.get(header_key(wanted if wanted else table))
        if wanted and sheet is None:
            raise CaseSeriesError(f"{workbook}: no sheet '{wanted}' for table {table}",
                                  file=str(workbook), table=table, rule="missing_sheet")
        if sheet is not None:
            sheets[table] = sheet
    return sheets


def read_raw(located: Located, table: str) -> RawTable:
    """Read one of the literature's own tables (``sources``, ``series``, ``scores``) as raw cells.

    Parameters
    ----------
    located : Located
        Where the tables are (from :func:`locate`).
    table : str
        A table of :data:`~sclero_analysis.evidence.contract.LITERATURE_TABLES`.

    Returns
    -------
    RawTable
        Cells indexed by row number, contract columns only; unknown and identifier-like
        columns, a Latin-1 file and rows with more fields than the header are reported.

    Raises
    ------
    CaseSeriesError
        Empty file, or no header naming the table's columns in its first rows.
    """
    if table not in LITERATURE_TABLES:
        raise ValueError(f"table must be one of {LITERATURE_TABLES}, not {table!r}")
    where = located.where(table)
    if located.workbook is not None:
        rows, problems = _sheet_rows(located.workbook, located.sheets[table]), []
    elif located.files[table].suffix.lower() in (".parquet", ".pq"):
        rows, problems = _parquet_rows(located.files[table]), []
    else:
        rows, problems = _csv_rows(located.files[table], table)
    raw = _raw_table(rows, table, where)
    raw.problems[:0] = problems
    return raw


def _csv_rows(path: Path, table: str) -> tuple[Rows, list[Problem]]:
    data = path.read_bytes()
    if not data.strip():
        raise CaseSeriesError(f"{path}: the file is empty", file=str(path), table=table, rule="empty_file")
    problems = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        problems.append(Problem(table, None, None, None, WARNING, "encoding_latin1",
                                f"{path.name} is not UTF-8; read as Latin-1. Check accented text."))
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: Rows = []
    start = 1
    for cells in reader:
        rows.append((start, list(cells)))
        start = reader.line_num + 1
    return rows, problems


def _parquet_rows(path: Path) -> Rows:
    frame = pd.read_parquet(path)
    values = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return [(1, list(frame.columns))] + [(i + 2, row) for i, row in enumerate(values)]


def _sheet_rows(workbook: Path, sheet: str) -> Rows:
    import openpyxl

    book = openpyxl.load_workbook(workbook, data_only=True, read_only=True)
    try:
        return [(i, list(r)) for i, r in enumerate(book[sheet].iter_rows(values_only=True), 1)]
    finally:
        book.close()


def _blank(cells: list[object]) -> bool:
    return all(cell_text(c) is None or not str(c).strip() for c in cells)


def _find_header(rows: Rows, table: str, file: str) -> int:
    keys = {header_key(name) for name in column_specs(table)}
    searched = [i for i, (_, cells) in enumerate(rows) if not _blank(cells)][:HEADER_SEARCH_ROWS]
    for i in searched:
        if sum(header_key(c) in keys for c in rows[i][1] if c is not None) >= 2:
            return i
    raise CaseSeriesError(
        f"{file}: no header row naming the {table} columns ({', '.join(column_specs(table))}) "
        f"in the first {HEADER_SEARCH_ROWS} rows", file=file, table=table,
        rule="no_header" if searched else "empty_file")


def _map_header(header: list[object], row: int, table: str,
                file: str) -> tuple[dict[int, str], list[Problem]]:
    contract = {header_key(name): name for name in column_specs(table)}
    mapping: dict[int, str] = {}
    problems = []
    for position, name in enumerate(header):
        label = cell_text(name)
        if label is None or not label.strip():
            continue
        column = contract.get(header_key(label))
        if column in mapping.values():
            raise CaseSeriesError(f"{file}: two columns are both '{column}'", file=file,
                                  table=table, rule="duplicate_column")
        if column is not None:
            mapping[position] = column
            continue
        rule, why = (("direct_identifier", "looks like a direct identifier")
                     if is_identifier_column(label) else
                     ("unknown_column", f"is not in the {table} data contract"))
        problems.append(Problem(table, row, label, None, WARNING, rule,
                                f"column '{label}' {why}; it was not loaded"))
    return mapping, problems


def _raw_table(rows: Rows, table: str, file: str) -> RawTable:
    at = _find_header(rows, table, file)
    header_row, header = rows[at]
    mapping, problems = _map_header(header, header_row, table, file)
    records = []
    for row, cells in rows[at + 1:]:
        if _blank(cells):
            continue
        extra = [c for c in cells[len(header):] if cell_text(c) is not None and str(c).strip()]
        if extra:
            problems.append(Problem(
                table, row, None, None, ERROR, "extra_fields",
                f"row {row} has {len(cells)} fields but the header has {len(header)}: a "
                "delimiter inside a value? Quote it."))
        padded = list(cells) + [None] * (len(header) - len(cells))
        records.append((row, {column: padded[i] for i, column in mapping.items()}))
    cells_frame = pd.DataFrame([values for _, values in records], dtype=object,
                               index=pd.Index([r for r, _ in records], name="row"),
                               columns=list(mapping.values()))
    missing = tuple(name for name in column_specs(table) if name not in mapping.values())
    return RawTable(table, file, header_row, cells_frame, missing, problems)


def case_tables_present(located: Located) -> tuple[str, ...]:
    """Return which of ``patients``, ``lines``, ``events`` the literature holds."""
    return tuple(table for table in CASE_TABLES if located.has(table))
