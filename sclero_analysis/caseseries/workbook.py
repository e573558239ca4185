"""Read the three tables of an ``.xlsx`` workbook into :class:`.Grid` objects.

Which sheet holds a table: the sheet named there by the caller (``sheet_names=``, ``--sheet``),
else the visible sheet named exactly as the table, else the one visible sheet whose name matches
it ignoring case and separators (``Patients``). Hidden sheets are never picked silently: a
table whose only sheet is hidden is refused with a message saying how to name it, and every
other sheet whose name holds the table's (a hidden ``patients_``, a ``patients (backup)``) is
reported as not read. Cells are read as the workbook last computed them; a
formula whose value was never computed (no cached value: the file was written by a program
that does not calculate) is an error naming the cell, never a silent empty value. Dates follow
the workbook's date system (1900, or 1904 for workbooks made on old Macs).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sclero_analysis.caseseries.dates import EXCEL_EPOCH, EXCEL_EPOCH_1904
from sclero_analysis.caseseries.grid import CellFinding, Grid
from sclero_analysis.caseseries.headers import header_key
from sclero_analysis.caseseries.problems import ERROR, WARNING, Problem
from sclero_analysis.caseseries.schema import TABLES
from sclero_analysis.exceptions import CaseSeriesError

_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[ >/]")


def read_workbook_grids(
    path: Path, sheet_names: Mapping[str, str], tables: tuple[str, ...] = TABLES
) -> dict[str, Grid]:
    """Read ``patients``, ``lines`` and ``events`` from a workbook.

    Parameters
    ----------
    path : Path
        An ``.xlsx`` or ``.xlsm`` workbook.
    sheet_names : Mapping[str, str]
        Table → sheet name, where the caller names the sheet.
    tables : tuple of str
        The tables to read (all three by default).

    Returns
    -------
    dict of str to Grid
        One grid per table, with the sheet choice's findings and formula cells without value.

    Raises
    ------
    CaseSeriesError
        ``not_a_table`` (not a readable workbook), ``missing_sheet``, ``ambiguous_sheet``,
        ``hidden_sheet``.
    """
    import openpyxl  # deferred: only workbooks need it, and it is slow to import

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError) as error:
        raise _unreadable(path, None, error) from error
    try:
        states = {sheet.title: sheet.sheet_state for sheet in book.worksheets}
        epoch = EXCEL_EPOCH_1904 if book.epoch.year == 1904 else EXCEL_EPOCH
        chosen = {t: choose_sheet(path, t, states, sheet_names.get(t)) for t in tables}
        rows = {t: _rows(book[sheet]) for t, (sheet, _) in chosen.items()}
    finally:
        book.close()
    sheets = {t: s for t, (s, _) in chosen.items()}
    formulas = _formulas_without_value(path, sheets, rows)
    merged = _merged_cells(path, sheets)
    return {
        table: Grid(f"{path}[{sheet}]", _frame(rows[table]), problems=problems,
                    findings=formulas.get(table, ()) + merged.get(table, ()), epoch=epoch)
        for table, (sheet, problems) in chosen.items()
    }


def read_sheet_grid(path: Path, table: str) -> Grid:
    """Read one table from a workbook of its own (``patients.xlsx``).

    The sheet is the one named after the table, else the workbook's only visible sheet.

    Parameters
    ----------
    path : Path
        The workbook.
    table : str
        The table it holds.

    Returns
    -------
    Grid
    """
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError) as error:
        raise _unreadable(path, table, error) from error
    try:
        states = {sheet.title: sheet.sheet_state for sheet in book.worksheets}
    finally:
        book.close()
    visible = [name for name, state in states.items() if state == "visible"]
    named = any(header_key(name) == table for name in states)
    wanted = None if named or len(visible) != 1 else visible[0]
    return read_workbook_grids(path, {table: wanted} if wanted else {}, tables=(table,))[table]


def _unreadable(path: Path, table: str | None, error: Exception) -> CaseSeriesError:
    with open(path, "rb") as file:
        compound = file.read(8) == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    why = ("a password-protected workbook or an old .xls file: remove the password, or save it "
           "as .xlsx" if compound else f"not a readable .xlsx workbook ({error})")
    return CaseSeriesError(f"{path}: {why}", file=str(path), table=table, rule="not_a_table")


def choose_sheet(
    path: Path, table: str, states: Mapping[str, str], wanted: str | None
) -> tuple[str, list[Problem]]:
    """Pick the sheet of ``table`` (see the module notes); report sheets that were not read.

    Parameters
    ----------
    path : Path
        The workbook (for messages).
    table : str
        ``patients``, ``lines`` or ``events``.
    states : Mapping[str, str]
        Sheet name → ``visible``, ``hidden`` or ``veryHidden``, in workbook order.
    wanted : str, optional
        The sheet the caller named for this table.

    Returns
    -------
    sheet : str
    problems : list of Problem
        Warnings: a named hidden sheet was read, or a sheet resembling the table was not.

    Examples
    --------
    >>> choose_sheet(Path("w.xlsx"), "patients",
    ...              {"patients": "hidden", "Patients": "visible"}, None)[0]
    'Patients'
    """
    if wanted is not None:
        return _named_sheet(path, table, states, wanted)
    visible = [name for name, state in states.items() if state == "visible"]
    candidates = ([n for n in visible if n == table]
                  or [n for n in visible if header_key(n) == table])
    if len(candidates) > 1:
        raise CaseSeriesError(
            f"{path}: sheets {candidates} could all be the {table} table; name one with "
            f"sheet_names={{'{table}': …}} (--sheet {table}=SHEET)",
            file=str(path), table=table, rule="ambiguous_sheet")
    hidden = [n for n, state in states.items() if state != "visible" and header_key(n) == table]
    if not candidates:
        if hidden:
            raise CaseSeriesError(
                f"{path}: the only sheet for table {table}, '{hidden[0]}', is hidden; unhide it "
                f"or name it with sheet_names={{'{table}': '{hidden[0]}'}} "
                f"(--sheet {table}={hidden[0]})", file=str(path), table=table, rule="hidden_sheet")
        raise CaseSeriesError(
            f"{path}: no sheet '{table}' for table {table}; the workbook has {list(states)}. "
            f"Rename the sheets or name them: --sheet {table}=SHEET on the command line "
            "(sheet_names={'patients': …, 'lines': …, 'events': …} in Python)",
            file=str(path), table=table, rule="missing_sheet")
    sheet = candidates[0]
    others = [n for n in states if n != sheet and table in header_key(n)]
    return sheet, [_not_read(table, n, states[n], sheet) for n in others]


def _not_read(table: str, name: str, state: str, sheet: str) -> Problem:
    kind = "hidden sheet" if state != "visible" else "sheet"
    return Problem(table, None, None, None, WARNING, "sheet_not_read",
                   f"{kind} '{name}' resembles the table name but was not read; '{sheet}' was")


def _named_sheet(path: Path, table: str, states: Mapping[str, str], wanted: str
                 ) -> tuple[str, list[Problem]]:
    matches = [n for n in states if n == wanted] or [
        n for n in states if header_key(n) == header_key(wanted)]
    if len(matches) != 1:
        detail = "none matches" if not matches else f"{matches} all match"
        raise CaseSeriesError(
            f"{path}: no single sheet '{wanted}' for table {table} ({detail}); the workbook has "
            f"{list(states)}", file=str(path), table=table,
            rule="missing_sheet" if not matches else "ambiguous_sheet")
    sheet = matches[0]
    if states[sheet] == "visible":
        return sheet, []
    return sheet, [Problem(table, None, None, None, WARNING, "hidden_sheet_read",
                           f"sheet '{sheet}' is hidden in the workbook; it was read because it "
                           f"was named for table {table}")]


def _rows(worksheet) -> list[tuple]:
    worksheet.reset_dimensions()  # a wrong <dimension> tag must not cut rows short
    return [tuple(row) for row in worksheet.iter_rows(values_only=True)]


def _frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, dtype=object) if rows else pd.DataFrame(dtype=object)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    frame.columns = range(frame.shape[1])
    return frame.astype(object).where(frame.notna(), None)


def _has_formulas(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return any(_FORMULA_TAG.search(archive.read(name)) for name in archive.namelist()
                   if name.startswith("xl/worksheets/") and name.endswith(".xml"))


def _formulas_without_value(
    path: Path, sheets: Mapping[str, str], values: Mapping[str, list[tuple]]
) -> dict[str, tuple[CellFinding, ...]]:
    """Cells holding a formula whose value the workbook does not store, per table."""
    if not _has_formulas(path):
        return {}
    import openpyxl
    from openpyxl.utils import get_column_letter

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    found: dict[str, tuple[CellFinding, ...]] = {}
    try:
        for table, sheet in sheets.items():
            worksheet = book[sheet]
            worksheet.reset_dimensions()
            cells = []
            for row, (formulas, computed) in enumerate(zip(worksheet.iter_rows(), values[table],
                                                           strict=False), 1):
                for position, cell in enumerate(formulas):
                    if cell.data_type == "f" and (position >= len(computed) or computed[position] is None):
                        name = f"{get_column_letter(position + 1)}{row}"
                        cells.append(CellFinding(
                            row, position, ERROR, "formula_without_value",
                            f"cell {name} holds a formula whose value was never computed (the "
                            "file was saved by a program that does not calculate); open and save "
                            "it in a spreadsheet program, or paste the values"))
            found[table] = tuple(cells)
    finally:
        book.close()
    return found


def _merged_cells(path: Path, sheets: Mapping[str, str]) -> dict[str, tuple[CellFinding, ...]]:
    """Cells hidden under another by merging: a spreadsheet shows a value the file lacks."""
    with zipfile.ZipFile(path) as archive:
        if not any(b"<mergeCell " in archive.read(name) for name in archive.namelist()
                   if name.startswith("xl/worksheets/") and name.endswith(".xml")):
            return {}
    import openpyxl
    from openpyxl.utils import get_column_letter

    book = openpyxl.load_workbook(path, data_only=True)  # merged ranges need the full reader
    found = {}
    for table, sheet in sheets.items():
        cells = []
        for merged in book[sheet].merged_cells.ranges:
            first = f"{get_column_letter(merged.min_col)}{merged.min_row}"
            for row, column in merged.cells:
                if (row, column) != (merged.min_row, merged.min_col):
                    cells.append(CellFinding(
                        row, column - 1, ERROR, "merged_cell",
                        f"cell {get_column_letter(column)}{row} is merged into {merged.coord}: a "
                        f"spreadsheet shows {first}'s value here, but the file holds it in "
                        f"{first} only. Unmerge the cells and fill each one"))
        found[table] = tuple(cells)
    return found
