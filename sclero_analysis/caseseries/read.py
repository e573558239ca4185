"""Read the three tables of a case series from files into raw cells, losing nothing.

Sources: a directory of CSV or Parquet files named ``patients``, ``lines`` and ``events`` (any
case), or one ``.xlsx`` workbook with three sheets. Every cell is kept as read (text from CSV,
typed values from Excel and Parquet); each data row keeps its row number as a spreadsheet
shows it (header = 1 when the header is the first row). Header names are matched ignoring case
and separators; the header may sit below title rows. Columns that look like direct patient
identifiers are reported and never loaded. What cannot be read at all raises
:class:`~sclero_analysis.exceptions.CaseSeriesError`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sclero_analysis.caseseries.problems import ERROR, WARNING, Problem, cell_text
from sclero_analysis.caseseries.schema import TABLES, column_specs
from sclero_analysis.exceptions import CaseSeriesError

#: Rows searched for the header (title rows above it are allowed).
HEADER_SEARCH_ROWS = 10
_DELIMITERS = (",", ";", "\t")
_SUMMARY = re.compile(r"^\s*(total|totals|sum|summe|count|n|mean|average|median)\s*[:=]?\s*$", re.I)
_IDENTIFIER_KEYS = frozenset(
    {
        "name", "names", "patientname", "fullname", "firstname", "lastname", "surname",
        "givenname", "familyname", "forename", "initials", "patientinitials", "mrn",
        "medicalrecordnumber", "recordnumber", "hospitalnumber", "hospitalid", "nhsnumber",
        "ssn", "socialsecuritynumber", "insurancenumber", "address", "streetaddress", "street",
        "postcode", "postalcode", "zip", "zipcode", "phone", "phonenumber", "telephone",
        "mobile", "email", "emailaddress", "dob", "dateofbirth", "birthdate", "birthday",
    }
)
_IDENTIFIER_PARTS = ("phone", "email", "address", "birth", "surname", "initials")


def header_key(name: object) -> str:
    """Return the matching key of a column header: lower-case letters and digits only.

    Examples
    --------
    >>> header_key("Patient ID")
    'patientid'
    >>> header_key("PATIENT-id")
    'patientid'
    """
    return re.sub(r"[^0-9a-z]", "", str(name).casefold())


def is_identifier_column(name: object) -> bool:
    """Tell whether a header looks like a direct patient identifier (name, MRN, birth date …)."""
    key = header_key(name)
    return key in _IDENTIFIER_KEYS or any(part in key for part in _IDENTIFIER_PARTS)


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
        Header, identifier, encoding, ragged-row and summary-row findings.
    summary_rows : tuple of int
        Rows that look like totals, not records (reported as errors, rejected).
    """

    table: str
    file: str
    header_row: int
    cells: pd.DataFrame
    missing: tuple[str, ...]
    problems: list[Problem] = field(default_factory=list)
    summary_rows: tuple[int, ...] = ()


Rows = list[tuple[int, list[object]]]


def read_tables(
    path: str | Path, *, sheet_names: Mapping[str, str] | None = None
) -> dict[str, RawTable]:
    """Read ``patients``, ``lines`` and ``events`` from a directory or an ``.xlsx`` workbook.

    Parameters
    ----------
    path : str or Path
        Directory of CSV/Parquet files (or holding one workbook), or an ``.xlsx`` file.
    sheet_names : Mapping[str, str], optional
        Table → sheet name, for workbooks whose sheets are not named after the tables.

    Returns
    -------
    dict of str to RawTable
        One entry per table.

    Raises
    ------
    CaseSeriesError
        Missing path, table or sheet; empty file; not a table; no recognisable header.
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
        workbooks = sorted(p for p in path.iterdir() if p.suffix.lower() == ".xlsx")
        if _table_files(path) or len(workbooks) != 1:
            return {table: _read_file(_find_file(path, table), table) for table in TABLES}
        path = workbooks[0]
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_workbook(path, sheet_names or {})
    raise CaseSeriesError(
        f"{path}: expected a directory of patients/lines/events files or an .xlsx workbook",
        file=str(path), rule="not_a_table",
    )


def _table_files(directory: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for candidate in sorted(directory.iterdir()):
        if candidate.suffix.lower() in (".csv", ".txt", ".tsv", ".parquet", ".pq"):
            if header_key(candidate.stem) in TABLES:
                found.setdefault(header_key(candidate.stem), []).append(candidate)
    return found


def _find_file(directory: Path, table: str) -> Path:
    candidates = _table_files(directory).get(table, [])
    if len(candidates) != 1:
        detail = "none found" if not candidates else ", ".join(p.name for p in candidates)
        raise CaseSeriesError(
            f"{directory}: need exactly one {table}.csv or {table}.parquet ({detail})",
            file=str(directory / f"{table}.csv"), table=table,
            rule="missing_table" if not candidates else "ambiguous_table",
        )
    return candidates[0]


def _read_file(path: Path, table: str) -> RawTable:
    if path.suffix.lower() in (".parquet", ".pq"):
        return _raw_table(_parquet_rows(path, table), table, str(path))
    rows, problems = _csv_rows(path, table)
    raw = _raw_table(rows, table, str(path))
    raw.problems[:0] = problems
    return raw


def _decode(data: bytes, path: Path, table: str) -> tuple[str, list[Problem]]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        note = Problem(
            table, None, None, None, WARNING, "encoding_latin1",
            f"{path.name} is not UTF-8; read as Latin-1. Check accented text (site names).",
        )
        return data.decode("latin-1"), [note]


def _csv_rows(path: Path, table: str) -> tuple[Rows, list[Problem]]:
    data = path.read_bytes()
    if not data.strip():
        raise CaseSeriesError(f"{path}: the file is empty", file=str(path), table=table, rule="empty_file")
    text, problems = _decode(data, path, table)
    if "\x00" in text:
        raise CaseSeriesError(f"{path}: not a text table", file=str(path), table=table, rule="not_a_table")
    delimiter = _guess_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: Rows = []
    start = 1
    for cells in reader:
        rows.append((start, list(cells)))
        start = reader.line_num + 1
    return rows, problems


def _guess_delimiter(text: str) -> str:
    sample = text.splitlines()[:HEADER_SEARCH_ROWS + 5]

    def width(delimiter: str) -> int:
        counts = [len(r) for r in csv.reader(sample, delimiter=delimiter) if len(r) > 1]
        return max(counts, default=1)

    return max(_DELIMITERS, key=width)


def _parquet_rows(path: Path, table: str) -> Rows:
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        raise CaseSeriesError(
            f"{path}: not a readable Parquet file ({error})", file=str(path), table=table,
            rule="not_a_table",
        ) from error
    values = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return [(1, list(frame.columns))] + [(i + 2, row) for i, row in enumerate(values)]


def _read_workbook(path: Path, sheet_names: Mapping[str, str]) -> dict[str, RawTable]:
    import openpyxl  # deferred: only workbooks need it, and it is slow to import

    try:
        workbook = openpyxl.load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        raise CaseSeriesError(
            f"{path}: not a readable .xlsx workbook ({error})", file=str(path), rule="not_a_table"
        ) from error
    by_key = {header_key(name): name for name in workbook.sheetnames}
    tables = {}
    for table in TABLES:
        wanted = sheet_names.get(table, table)
        sheet = by_key.get(header_key(wanted))
        if sheet is None:
            raise CaseSeriesError(
                f"{path}: no sheet '{wanted}' for table {table}; the workbook has "
                f"{workbook.sheetnames}. Rename the sheets or name them: --sheet {table}=SHEET "
                "(sheet_names={'patients': …, 'lines': …, 'events': …} in Python)",
                file=str(path), table=table, rule="missing_sheet",
            )
        worksheet = workbook[sheet]
        rows = [(i, list(r)) for i, r in enumerate(worksheet.iter_rows(min_row=1, values_only=True), 1)]
        tables[table] = _raw_table(rows, table, f"{path}[{sheet}]")
    return tables


def _blank(cells: list[object]) -> bool:
    return all(cell_text(c) is None or not str(c).strip() for c in cells)


def _find_header(rows: Rows, table: str, file: str) -> int:
    keys = {header_key(name) for name in column_specs(table)}
    needed = min(2, len(keys))
    searched = [i for i, (_, cells) in enumerate(rows) if not _blank(cells)][:HEADER_SEARCH_ROWS]
    for i in searched:
        if sum(header_key(c) in keys for c in rows[i][1] if c is not None) >= needed:
            return i
    if not searched:
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


def _raw_table(rows: Rows, table: str, file: str) -> RawTable:
    header_at = _find_header(rows, table, file)
    header_row, header = rows[header_at]
    mapping, problems = _map_header(header, header_row, table, file)
    if header_at > 0:
        problems.append(Problem(
            table, header_row, None, None, WARNING, "header_not_first_row",
            f"the header is on row {header_row}; rows above it were skipped as titles",
        ))
    records, summary = [], []
    for row, cells in rows[header_at + 1:]:
        if _blank(cells):
            continue
        problems.extend(_ragged(table, row, cells, len(header)))
        if cells and isinstance(cells[0], str) and _SUMMARY.match(cells[0]):
            summary.append(row)
            problems.append(Problem(
                table, row, None, cells[0], ERROR, "summary_row",
                f"row {row} looks like a '{cells[0].strip()}' row, not a record; it was rejected",
            ))
        padded = list(cells) + [None] * (len(header) - len(cells))
        records.append((row, {column: padded[i] for i, column in mapping.items()}))
    cells_frame = pd.DataFrame(
        [values for _, values in records], index=pd.Index([r for r, _ in records], name="row"),
        columns=list(mapping.values()), dtype=object,
    )
    missing = tuple(name for name in column_specs(table) if name not in mapping.values())
    problems += _unnamed_columns(rows[header_at + 1:], header, table, header_row)
    return RawTable(table, file, header_row, cells_frame, missing, problems, tuple(summary))


def _unnamed_columns(data: Rows, header: list[object], table: str, header_row: int) -> list[Problem]:
    """Report values under a blank header cell (they cannot be loaded)."""
    blank = [i for i, name in enumerate(header) if cell_text(name) is None or not str(name).strip()]
    used = [i for i in blank if any(i < len(c) and not _blank([c[i]]) for _, c in data)]
    return [Problem(
        table, header_row, f"column {i + 1}", None, WARNING, "unnamed_column",
        f"column {i + 1} has values but no header; it was not loaded",
    ) for i in used]


def _ragged(table: str, row: int, cells: list[object], width: int) -> list[Problem]:
    extra = [c for c in cells[width:] if cell_text(c) is not None and str(c).strip()]
    if not extra:
        return []
    return [Problem(
        table, row, None, ", ".join(map(str, extra)), ERROR, "extra_fields",
        f"row {row} has {len(cells)} fields but the header has {width}: a delimiter inside a "
        "value? Quote it.",
    )]
