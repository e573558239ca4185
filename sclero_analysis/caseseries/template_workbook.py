"""The openpyxl workbook of a data-entry template: headers with comments, drop-downs, checks, formats.

:mod:`sclero_analysis.caseseries.template` says what the sheets ask for; this module lays it
out in Excel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sclero_analysis.caseseries.template import (
    DATE_FORMAT,
    LISTS_SHEET,
    ROWS,
    TemplateColumn,
    TemplateSheet,
)

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

#: Header fill (light grey) and width bounds of a column (characters).
HEADER_FILL = "D9D9D9"
WIDTH = (10, 34)
#: Widths of the instructions sheet's three columns (characters).
INSTRUCTION_WIDTHS = (11, 24, 95)
#: First and last date a date column accepts (Excel's DATE arguments).
DATE_RANGE = ("DATE(1900,1,1)", "DATE(2100,12,31)")


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def _lists(book: Workbook, sheets: Sequence[TemplateSheet]) -> dict[tuple[str, str], str]:
    """Write every drop-down list in a column of the ``lists`` sheet; return each list's range."""
    from openpyxl.styles import Font

    sheet = book.create_sheet(LISTS_SHEET)
    ranges: dict[tuple[str, str], str] = {}
    by_values: dict[tuple[str, ...], str] = {}
    for table in sheets:
        for column in table.columns:
            if not column.choices:
                continue
            if column.choices not in by_values:
                j = len(by_values) + 1
                letter = _letter(j)
                header = "yes/no" if column.kind == "bool" else column.name
                sheet.cell(row=1, column=j, value=header).font = Font(bold=True)
                for i, value in enumerate(column.choices, 2):
                    sheet.cell(row=i, column=j, value=value)
                sheet.column_dimensions[letter].width = max(12, *(len(v) + 2 for v in column.choices))
                by_values[column.choices] = f"{LISTS_SHEET}!${letter}$2:${letter}${len(column.choices) + 1}"
            ranges[(table.name, column.name)] = by_values[column.choices]
    sheet.protection.sheet = True  # the lists feed the drop-downs: read, not edited
    return ranges


def _validation(column: TemplateColumn, source: str | None, ids: str | None) -> DataValidation | None:
    """Return the data validation of one column: a list, a number range or a date range."""
    from openpyxl.worksheet.datavalidation import DataValidation

    low, high = column.bounds
    if source is not None:
        check = DataValidation(type="list", formula1=source, allow_blank=True)
        check.error = f"Choose from the list ({column.name})."
        if not column.strict:
            check.errorStyle = "information"
            check.error = "Not one agent of the list: fine for several agents separated by '; '."
    elif ids is not None:
        check = DataValidation(type="list", formula1=ids, allow_blank=True)
        check.error = "Not a patient_id of the patients sheet."
    elif column.kind == "date":
        check = DataValidation(type="date", operator="between", formula1=DATE_RANGE[0],
                               formula2=DATE_RANGE[1], allow_blank=True)
        check.error = "Enter a date (2021-03-15)."
    elif column.kind in ("float", "int") and (low is not None or high is not None):
        check = _number_check(column)
    else:
        return None
    check.errorTitle = column.name
    check.showErrorMessage = True
    check.prompt, check.promptTitle, check.showInputMessage = column.comment[:255], column.name, True
    check.error = check.error[:255]
    return check


def _number_check(column: TemplateColumn) -> DataValidation:
    """Return a check for a number between the column's bounds (whole for ``int`` columns)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    low, high = (f"{b:g}" if b is not None else None for b in column.bounds)
    kind = "decimal" if column.kind == "float" else "whole"
    if low is not None and high is not None:
        check = DataValidation(type=kind, operator="between", formula1=low, formula2=high, allow_blank=True)
        check.error = f"{column.name}: a number from {low} to {high}."
    elif low is not None:
        check = DataValidation(type=kind, operator="greaterThanOrEqual", formula1=low, allow_blank=True)
        check.error = f"{column.name}: a {'whole ' * (kind == 'whole')}number, at least {low}."
    else:
        check = DataValidation(type=kind, operator="lessThanOrEqual", formula1=high, allow_blank=True)
        check.error = f"{column.name}: a number, at most {high}."
    return check


def _header(sheet, j: int, column: TemplateColumn) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    cell = sheet.cell(row=1, column=j, value=column.name)
    cell.font = Font(bold=True)
    cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
    note = Comment(column.comment, "sclero_analysis")
    note.width, note.height = 320, 40 + 16 * (len(column.comment) // 45)
    cell.comment = note
    letter = _letter(j)
    sheet.column_dimensions[letter].width = min(WIDTH[1], max(WIDTH[0], len(column.name) + 3))
    if column.kind == "date":
        sheet.column_dimensions[letter].number_format = DATE_FORMAT  # cells typed later are dates


def _data_sheet(book: Workbook, table: TemplateSheet, lists: dict[tuple[str, str], str],
                ids: str | None) -> None:
    """One table's sheet; ``ids`` is the range of patient ids its ``patient_id`` picks from."""
    sheet = book.create_sheet(table.name)
    sheet.freeze_panes = "B2"
    for j, column in enumerate(table.columns, 1):
        _header(sheet, j, column)
        source = lists.get((table.name, column.name))
        check = _validation(column, source, ids if column.name == "patient_id" else None)
        if check is not None:
            letter = _letter(j)
            check.add(f"{letter}2:{letter}{ROWS + 1}")
            sheet.add_data_validation(check)


def _instructions(book: Workbook, lines: Sequence[str], sheets: Sequence[TemplateSheet]) -> None:
    """Write the first sheet: how to fill the workbook, then every column with its comment."""
    from openpyxl.styles import Alignment, Font

    sheet = book.active
    sheet.title = "instructions"
    for letter, width in zip("ABC", INSTRUCTION_WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width
    line_chars = sum(INSTRUCTION_WIDTHS)
    for i, line in enumerate(lines, 1):
        cell = sheet.cell(row=i, column=1, value=line or None)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.merge_cells(start_row=i, start_column=1, end_row=i, end_column=3)
        sheet.row_dimensions[i].height = 15 * (1 + len(line) // line_chars)  # wrapped lines shown
        if i == 1 or i == len(lines):
            cell.font = Font(bold=True, size=12 if i == 1 else 11)
    row = len(lines) + 1
    for j, title in enumerate(("sheet", "column", "what it holds, format and rules"), 1):
        sheet.cell(row=row, column=j, value=title).font = Font(bold=True)
    for table in sheets:
        for column in table.columns:
            row += 1
            sheet.cell(row=row, column=1, value=table.name).alignment = Alignment(vertical="top")
            sheet.cell(row=row, column=2, value=column.name).alignment = Alignment(vertical="top")
            text = sheet.cell(row=row, column=3, value=column.comment)
            text.alignment = Alignment(wrap_text=True, vertical="top")
            sheet.row_dimensions[row].height = 15 * (1 + len(column.comment) // INSTRUCTION_WIDTHS[2])
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def build_workbook(sheets: Sequence[TemplateSheet], instructions: Sequence[str]) -> Workbook:
    """Return the template workbook: instructions, one sheet per table, the lists.

    Parameters
    ----------
    sheets : sequence of TemplateSheet
        The data sheets, in order.
    instructions : sequence of str
        Lines of the instructions sheet (its first line is the title, its last the heading of
        the column table that follows).

    Returns
    -------
    openpyxl.Workbook
    """
    from openpyxl import Workbook

    book = Workbook()
    _instructions(book, instructions, sheets)
    lists = _lists(book, sheets)
    has_patients = any(table.name == "patients" for table in sheets)
    for table in sheets:
        linked = has_patients and table.name != "patients"
        _data_sheet(book, table, lists, f"patients!$A$2:$A${ROWS + 1}" if linked else None)
    book.move_sheet(LISTS_SHEET, offset=len(sheets))  # last, after the data sheets
    book.active = 0
    return book
