"""A publication table as a Word document or an Excel workbook, in journal layout.

Journal layout is the three-line table: a rule above the header, a rule below it and a rule
under the last row, and no other lines; the header in bold, the title as the caption above,
the notes (abbreviations, units, suppression of small counts) as footnotes below. Level rows of
a categorical variable (labels starting with :data:`~sclero_analysis.tables.table.INDENT`)
are indented.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from sclero_analysis.tables import Table
from sclero_analysis.tables.table import INDENT

#: Widths of the three rules in eighths of a point (Word) — booktabs' heavy, light, heavy.
RULES_DOCX = {"top": 8, "mid": 4, "bottom": 8}
#: Tables with more columns than this (row labels included) are set on a landscape page.
LANDSCAPE_COLUMNS = 7
#: Font size of the table in points (journals set tables a point or two below the text).
FONT_PT = 9
_NUMBER = re.compile(r"^-?\d+(\.(\d+))?$")


def cell_text(value: object) -> str:
    """Return a cell as printed: missing values are empty, everything else ``str``.

    Examples
    --------
    >>> cell_text(float("nan")), cell_text(None), cell_text("12 (30.0)"), cell_text(3)
    ('', '', '12 (30.0)', '3')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _header(column: object) -> str:
    """Return a column name as printed (a MultiIndex column's levels joined by spaces)."""
    if isinstance(column, tuple):
        return " ".join(cell_text(part) for part in column if cell_text(part))
    return cell_text(column)


def _rows(table: Table) -> list[tuple[str, bool, list[str]]]:
    """``(label, indented, cells)`` per body row."""
    rows = []
    for label, values in zip(table.summary.index, table.summary.to_numpy(), strict=True):
        text = cell_text(label)
        rows.append((text.lstrip(), text.startswith(INDENT), [cell_text(v) for v in values]))
    return rows


# --- Word ----------------------------------------------------------------------------------------

def _border_element(edges: dict[str, int], tag: str):
    """``<w:tcBorders>``/``<w:tblBorders>`` with a single rule of the given width per edge, nil elsewhere."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    borders = OxmlElement(tag)
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        if tag == "w:tcBorders" and edge.startswith("inside"):
            continue
        element = OxmlElement(f"w:{edge}")
        if edge in edges:
            element.set(qn("w:val"), "single")
            element.set(qn("w:sz"), str(edges[edge]))
            element.set(qn("w:space"), "0")
            element.set(qn("w:color"), "000000")
        else:
            element.set(qn("w:val"), "nil")
        borders.append(element)
    return borders


#: Children of ``w:tblPr`` that the schema places after ``w:tblBorders``.
_AFTER_TBL_BORDERS = ("shd", "tblLayout", "tblCellMar", "tblLook", "tblCaption", "tblDescription")


def _no_table_borders(properties) -> None:
    """Give the table no border of its own (only the cells' three rules), in schema order."""
    from docx.oxml.ns import qn

    borders = _border_element({}, "w:tblBorders")
    following = [child for child in properties if child.tag in {qn(f"w:{t}") for t in _AFTER_TBL_BORDERS}]
    if following:
        following[0].addprevious(borders)
    else:
        properties.append(borders)


def _rule_row(row, edges: dict[str, int]) -> None:
    for cell in row.cells:
        properties = cell._tc.get_or_add_tcPr()
        properties.append(_border_element(edges, "w:tcBorders"))


def _write_cell(cell, text: str, *, bold: bool = False, left: bool = False, indent: bool = False) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    paragraph = cell.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT if left else WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(0)
    if indent:
        paragraph.paragraph_format.left_indent = Pt(10)
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.size = Pt(FONT_PT)


def _landscape(document) -> None:
    from docx.enum.section import WD_ORIENT

    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width


def _widths(columns: list[str], rows: list[tuple[str, bool, list[str]]]) -> list[float]:
    """Share of the line each column gets, from its longest cell (a header wraps at spaces, bold)."""
    def longest(texts) -> float:
        return max([6] + [len(t) for t in texts])

    label = longest([("  " if indented else "") + text for text, indented, _ in rows])
    wanted = [label] + [max(1.1 * longest(c.split()), longest(cells[j] for _, _, cells in rows))
                        for j, c in enumerate(columns)]
    wanted = [min(w, 40) + 4 for w in wanted]  # + the cell's margins
    return [w / sum(wanted) for w in wanted]


def _docx_table(document, table: Table):
    from docx.oxml import OxmlElement

    rows = _rows(table)
    columns = [_header(c) for c in table.summary.columns]
    grid = document.add_table(rows=1 + len(rows), cols=1 + len(columns))
    section = document.sections[0]
    line = section.page_width - section.left_margin - section.right_margin
    grid.autofit = False  # fixed layout: the widths below, in Word and LibreOffice alike
    for column, share in zip(grid.columns, _widths(columns, rows), strict=True):
        column.width = int(line * share)  # the grid (LibreOffice) and each cell (Word)
        for cell in column.cells:
            cell.width = int(line * share)
    grid.style = document.styles["Normal Table"]
    _no_table_borders(grid._tbl.tblPr)
    header = grid.rows[0]
    header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # repeated on each page
    for cell, text in zip(header.cells, [""] + columns, strict=True):
        _write_cell(cell, text, bold=True, left=cell is header.cells[0])
    for row, (label, indented, cells) in zip(grid.rows[1:], rows, strict=True):
        _write_cell(row.cells[0], label, left=True, indent=indented)
        for cell, text in zip(row.cells[1:], cells, strict=True):
            _write_cell(cell, text)
    _rule_row(header, {"top": RULES_DOCX["top"], "bottom": RULES_DOCX["mid"]})
    if rows:
        _rule_row(grid.rows[-1], {"bottom": RULES_DOCX["bottom"]})
    return grid


def write_docx(table: Table, path: str | Path) -> Path:
    """Write ``table`` as a Word document: caption, three-line table, footnotes.

    Parameters
    ----------
    table : Table
        Its ``title`` becomes the caption (Word's *Caption* style, above the table) and each
        of its ``notes`` a footnote paragraph below it.
    path : str or Path
        The ``.docx`` file to write.

    Returns
    -------
    Path

    Notes
    -----
    The table carries its own borders (``w:tcBorders``) and none from a table style, so it
    keeps the three rules when pasted into a manuscript. A table wider than
    :data:`LANDSCAPE_COLUMNS` columns is set on a landscape page.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> t = Table(pd.DataFrame({"n": ["3"]}, index=["lines"]), title="Demo", notes=("n: lines.",))
    >>> write_docx(t, tempfile.mkdtemp() + "/demo.docx").suffix
    '.docx'
    """
    import docx
    from docx.shared import Pt, RGBColor

    document = docx.Document()
    if len(table.summary.columns) + 1 > LANDSCAPE_COLUMNS:
        _landscape(document)
    if table.title:
        caption = document.add_paragraph(style="Caption")
        run = caption.add_run(table.title)
        run.bold, run.italic = True, False
        run.font.size, run.font.color.rgb = Pt(FONT_PT + 1), RGBColor(0, 0, 0)
    _docx_table(document, table)
    for note in table.notes:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(note).font.size = Pt(FONT_PT - 1)
    path = Path(path)
    document.save(path)
    return path


# --- Excel ---------------------------------------------------------------------------------------

def _excel_value(text: str) -> tuple[object, str | None]:
    """Return a display string as an Excel value: plain numbers become numbers (same decimals)."""
    match = _NUMBER.match(text)
    if match is None:
        return text, None
    decimals = len(match.group(2) or "")
    if decimals == 0 and len(text.lstrip("-")) > 15:  # an identifier, not a count
        return text, None
    return (float(text) if decimals else int(text)), ("0." + "0" * decimals if decimals else "0")


def _put(sheet, row: int, column: int, text: str, **style):
    value, number_format = _excel_value(text)
    cell = sheet.cell(row=row, column=column, value=value)
    if number_format:
        cell.number_format = number_format
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def _sheet_title(title: str) -> str:
    """Return a worksheet name from the table's title (31 characters at most, no ``[]:*?/``)."""
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", title).strip()
    return cleaned[:31].strip() or "Table"


def write_xlsx(table: Table, path: str | Path) -> Path:
    """Write ``table`` as an Excel workbook: title, three-line table, notes.

    Parameters
    ----------
    table : Table
    path : str or Path
        The ``.xlsx`` file to write.

    Returns
    -------
    Path

    Notes
    -----
    Row 1 holds the title (when there is one), the header follows, then the body; the notes
    come below after an empty row. Cells that are plain numbers (``396``, ``0.126``) are
    stored as numbers showing the same decimals; the others (``169 (42.7)``, ``< 0.001``)
    as text.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> t = Table(pd.DataFrame({"n": ["3"]}, index=["lines"]), title="Demo")
    >>> write_xlsx(t, tempfile.mkdtemp() + "/demo.xlsx").suffix
    '.xlsx'
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    book = Workbook()
    sheet = book.active
    sheet.title = _sheet_title(table.title)
    top = 1
    if table.title:
        sheet.cell(row=1, column=1, value=table.title).font = Font(bold=True)
        top = 2
    heavy, light = Side(style="medium"), Side(style="thin")
    columns = [""] + [_header(c) for c in table.summary.columns]
    rows = _rows(table)
    for j, text in enumerate(columns, 1):
        cell = sheet.cell(row=top, column=j, value=text or None)
        cell.font = Font(bold=True)
        cell.border = Border(top=heavy, bottom=light)
        cell.alignment = Alignment(horizontal="left" if j == 1 else "center")
    for i, (label, indented, cells) in enumerate(rows, top + 1):
        last = Border(bottom=heavy) if i == top + len(rows) else Border()
        _put(sheet, i, 1, label, border=last, alignment=Alignment(horizontal="left", indent=2 * indented))
        for j, text in enumerate(cells, 2):
            _put(sheet, i, j, text, border=last, alignment=Alignment(horizontal="center"))
    for k, note in enumerate(table.notes, top + len(rows) + 2):
        sheet.cell(row=k, column=1, value=note).font = Font(italic=True, size=9)
    sheet.freeze_panes = sheet.cell(row=top + 1, column=2)
    widths = [max([len(columns[0])] + [len(label) + (4 if ind else 0) for label, ind, _ in rows])]
    widths += [max([len(c)] + [len(cells[j]) for _, _, cells in rows])
               for j, c in enumerate(columns[1:])]
    for j, width in enumerate(widths, 1):
        sheet.column_dimensions[sheet.cell(row=top, column=j).column_letter].width = min(60, width + 3)
    path = Path(path)
    book.save(path)
    return path
