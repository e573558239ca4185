"""The extraction workbook: one sheet per literature table, ready to fill in from publications.

Each table sheet has the contract's headers on row 1 (derived columns left out), a note on
every header with its description and unit, and drop-down lists for agents (combinations may
still be typed: ``IVIG; lenalidomide``), designs, response definitions and every other
categorical column. A ``guide`` sheet lists every column with its type, unit, whether it is
required and its allowed values; a hidden ``lists`` sheet holds the drop-down values.
:func:`~sclero_analysis.read_literature` reads the filled workbook as it is.
"""

from __future__ import annotations

from pathlib import Path

from sclero_analysis.caseseries.schema import SCHEMAS as CASE_SCHEMAS
from sclero_analysis.caseseries.schema import column_specs as case_specs
from sclero_analysis.evidence.contract import SCHEMAS, TABLES, column_specs
from sclero_analysis.therapy import Vocabulary, load_vocabulary

#: Rows of each table sheet that carry the drop-down lists.
TEMPLATE_ROWS = 1000
GUIDE = (
    "How to fill in this workbook",
    "One row per publication in 'sources'; its source_id is the key every other sheet uses.",
    "'series': one row per source and treatment as the paper prints it (n evaluable, responders "
    "under the source's response definition, relapsed, died, median follow-up in months).",
    "'scores' (optional): score changes per source and treatment (n, mean and SD before and after).",
    "'patients', 'lines', 'events': per-patient cases (case reports, per-patient tables) in the "
    "registry's contract; a case's 'site' is the source_id of its publication, and its "
    "last_followup_date the last date the report describes. patient_id is unique across sources.",
    "Dates as YYYY-MM-DD. Agents: pick one from the list or type a combination separated by ';'. "
    "Leave a sheet empty when the literature has none of it. Check with: sclero-analysis validate.",
)
_KIND_TEXT = {"id": "text (identifier)", "str": "text", "agents": "agent names, ';'-separated",
              "int": "whole number", "float": "number", "bool": "yes/no", "date": "date YYYY-MM-DD",
              "category": "one of the list"}
_BOOLEAN = ("yes", "no")


def _columns(table: str) -> list[dict]:
    """Each non-derived column of a table: name, kind, required, unit, description, values."""
    literature = table in SCHEMAS
    specs = column_specs(table) if literature else case_specs(table)
    fields = (SCHEMAS[table] if literature else CASE_SCHEMAS[table]).to_schema().columns
    rows = []
    for name, spec in specs.items():
        if spec.derived:
            continue
        described = fields[name].description or ""
        if table == "patients" and name == "site":
            described = "source_id of the publication (a row of 'sources')"
        values = spec.categories or (_BOOLEAN if spec.kind == "bool" else ())
        rows.append({"name": name, "kind": spec.kind, "required": not spec.nullable,
                     "unit": fields[name].metadata.get("unit", "") if literature else "",
                     "description": described, "values": values})
    return rows


def _lists(book, vocabulary: Vocabulary) -> dict[str, str]:
    """Write the drop-down values to a hidden sheet; return list name → range formula."""
    sheet = book.create_sheet("lists")
    sheet.sheet_state = "hidden"
    lists = {"agents": tuple(sorted(vocabulary.agents, key=str.casefold))}
    for table in TABLES:
        for column in _columns(table):
            if column["values"]:
                lists.setdefault(column["name"], tuple(column["values"]))
    formulas = {}
    for position, (name, values) in enumerate(lists.items(), 1):
        letter = sheet.cell(row=1, column=position).column_letter
        sheet.cell(row=1, column=position, value=name)
        for row, value in enumerate(values, 2):
            sheet.cell(row=row, column=position, value=value)
        formulas[name] = f"=lists!${letter}$2:${letter}${len(values) + 1}"
    return formulas


def _table_sheet(book, table: str, formulas: dict[str, str]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    sheet = book.create_sheet(table)
    for position, column in enumerate(_columns(table), 1):
        cell = sheet.cell(row=1, column=position, value=column["name"])
        cell.font = Font(bold=True)
        unit = f" Unit: {column['unit']}." if column["unit"] else ""
        need = "Required." if column["required"] else "Optional."
        cell.comment = Comment(f"{column['description']}. {need}{unit}", "sclero_analysis")
        sheet.column_dimensions[cell.column_letter].width = max(12, len(column["name"]) + 4)
        formula = formulas.get(column["name"])
        if formula is None:
            continue
        strict = column["name"] != "agents"  # a combination of agents is typed, not picked
        rule = DataValidation(type="list", formula1=formula, allow_blank=True,
                              showErrorMessage=strict)
        rule.add(f"{cell.column_letter}2:{cell.column_letter}{TEMPLATE_ROWS + 1}")
        sheet.add_data_validation(rule)
    sheet.freeze_panes = "A2"


def _guide(book) -> None:
    from openpyxl.styles import Font

    sheet = book.create_sheet("guide", 0)
    for row, text in enumerate(GUIDE, 1):
        sheet.cell(row=row, column=1, value=text).font = Font(bold=row == 1)
    header = ("table", "column", "required", "type", "unit", "allowed values", "description")
    start = len(GUIDE) + 2
    for position, name in enumerate(header, 1):
        sheet.cell(row=start, column=position, value=name).font = Font(bold=True)
    row = start + 1
    for table in TABLES:
        for column in _columns(table):
            values = (table, column["name"], "yes" if column["required"] else "no",
                      _KIND_TEXT[column["kind"]], column["unit"], ", ".join(column["values"]),
                      column["description"])
            for position, value in enumerate(values, 1):
                sheet.cell(row=row, column=position, value=value)
            row += 1
    for letter, width in zip("ABCDEFG", (10, 24, 9, 22, 9, 40, 70), strict=True):
        sheet.column_dimensions[letter].width = width


def write_literature_template(path: str | Path, vocabulary: Vocabulary | None = None) -> Path:
    """Write an empty extraction workbook for the literature.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` file to write (its folder is created; an existing file is replaced).
    vocabulary : Vocabulary, optional
        Agents offered in the drop-down list (default: the packaged vocabulary).

    Returns
    -------
    Path
        The workbook: sheets ``guide``, ``sources``, ``series``, ``scores``, ``patients``,
        ``lines``, ``events`` (and the hidden ``lists``); filled in, it is read by
        :func:`~sclero_analysis.read_literature`.

    Examples
    --------
    >>> import tempfile, sclero_analysis as sa
    >>> out = write_literature_template(Path(tempfile.mkdtemp()) / "literature.xlsx")
    >>> lit = sa.read_literature(out)
    >>> int(lit.counts["read"].sum()), lit.report.empty
    (0, True)
    """
    import openpyxl  # deferred: only the template needs it, and it is slow to import

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"the template is an .xlsx workbook, not {path.name!r}")
    book = openpyxl.Workbook()
    book.remove(book.active)
    formulas = _lists(book, vocabulary or load_vocabulary())
    for table in TABLES:
        _table_sheet(book, table, formulas)
    _guide(book)
    book.move_sheet("lists", offset=len(book.sheetnames) - 1 - book.sheetnames.index("lists"))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
