"""An empty data-entry workbook for a case series: the contract's sheets, drop-down lists, instructions.

``write_template(path)`` writes the ``registry`` kind: one sheet per table of the data contract
(``patients``, ``lines``, ``events``) with the contract's headers, a comment on every header
giving the column's meaning, unit and rule, drop-down lists (data validation) for every
categorical and yes/no column and for the therapy agents (from the vocabulary), number and date
checks, date columns formatted as dates, an ``instructions`` sheet and a ``lists`` sheet holding
the allowed values. What the workbook asks for is read from the contract itself
(:mod:`sclero_analysis.caseseries.schema`) and the vocabulary (``therapies.toml``), so a filled
template loads with :func:`~sclero_analysis.caseseries.read_case_series` as it is.

Other kinds (a literature extraction sheet) are added to :data:`TEMPLATES` as functions
returning their sheets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sclero_analysis.caseseries.schema import SCHEMAS, TABLES, column_specs
from sclero_analysis.therapy import load_vocabulary

#: Rows (below the header) that carry the drop-downs and checks.
ROWS = 2000
#: Number format of date columns.
DATE_FORMAT = "yyyy-mm-dd"
#: Values of a yes/no column.
YES_NO = ("yes", "no")
#: Sheet holding the drop-down lists.
LISTS_SHEET = "lists"
#: Rules between columns and tables, beside each column's own (the loader checks them all).
RULES = {
    ("patients", "patient_id"): "A code, never a name, initials, hospital number or birth date.",
    ("patients", "last_followup_date"): "On or after diagnosis_date; the date of death for the dead.",
    ("patients", "death_date"): "Required when vital_status is dead, empty for the living; on or "
                                "before last_followup_date.",
    ("patients", "death_cause"): "For patients who died; empty for the living.",
    ("lines", "patient_id"): "A patient_id of the patients sheet.",
    ("lines", "line"): "1 for the first line of therapy, then 2, 3 … without gaps, in order of "
                       "start_date.",
    ("lines", "start_date"): "On or after the patient's diagnosis_date.",
    ("lines", "agents"): "Pick one agent or type several separated by '; ' (IVIG; lenalidomide). "
                         "Synonyms and brand names are recognised; the tier is derived from the "
                         "agents, never typed.",
    ("lines", "response_date"): "Required when best_response is CR or PR.",
    ("events", "patient_id"): "A patient_id of the patients sheet.",
    ("events", "date"): "Within the patient's follow-up (diagnosis to last follow-up).",
}
_FORMATS = {"id": "text", "str": "text", "float": "number", "int": "whole number",
            "date": "date (YYYY-MM-DD)", "agents": "agent names"}


@dataclass(frozen=True)
class TemplateColumn:
    """One column of a template sheet.

    Attributes
    ----------
    name : str
        The header, as the loader expects it.
    kind : str
        How the cell is read: ``id``, ``str``, ``float``, ``int``, ``bool``, ``date``,
        ``category`` or ``agents``.
    required : bool
        False when the cell may stay empty.
    description : str
        Meaning and unit.
    choices : tuple of str
        Values of the drop-down list (empty: none).
    strict : bool
        True: a value outside ``choices`` is refused; False: allowed after a note
        (agents, typed as combinations).
    bounds : tuple of (float or None, float or None)
        Smallest and largest value of a number column.
    rule : str
        Rules involving other columns or tables.
    """

    name: str
    kind: str
    required: bool
    description: str
    choices: tuple[str, ...] = ()
    strict: bool = True
    bounds: tuple[float | None, float | None] = (None, None)
    rule: str = ""

    @property
    def comment(self) -> str:
        """The header's comment: meaning, format, bounds, whether required, the rule."""
        parts = [self.description[:1].upper() + self.description[1:] + "."]
        if self.choices and self.kind != "agents":
            parts.append("One of: " + ", ".join(self.choices) + ".")
        else:
            parts.append(f"Format: {_FORMATS.get(self.kind, self.kind)}.")
        low, high = self.bounds
        if low is not None or high is not None:
            parts.append(f"From {_number(low)} to {_number(high)}." if None not in self.bounds
                         else f"At least {_number(low)}." if low is not None else f"At most {_number(high)}.")
        parts.append("Required." if self.required else "May be left empty.")
        if self.rule:
            parts.append(self.rule)
        return " ".join(parts)


@dataclass(frozen=True)
class TemplateSheet:
    """One sheet of a template: its name (the table), what a row is, its columns."""

    name: str
    row: str
    columns: tuple[TemplateColumn, ...]


def _number(value: float | None) -> str:
    return f"{value:g}" if value is not None else ""


def _bounds(column) -> tuple[float | None, float | None]:
    low = high = None
    for check in column.checks:
        if check.name == "greater_than_or_equal_to":
            low = float(check.statistics["min_value"])
        elif check.name == "less_than_or_equal_to":
            high = float(check.statistics["max_value"])
    return low, high


def _choices(kind: str, categories: tuple[str, ...]) -> tuple[str, ...]:
    if kind == "bool":
        return YES_NO
    if kind == "agents":
        return tuple(load_vocabulary().agents)
    return categories


def _registry_sheet(table: str) -> TemplateSheet:
    schema = SCHEMAS[table].to_schema()
    columns = []
    for name, spec in column_specs(table).items():
        if spec.derived:  # tier, adjunct_ecp: the loader derives them from the agents
            continue
        field = schema.columns[name]
        columns.append(TemplateColumn(
            name=name, kind=spec.kind, required=not spec.nullable, description=field.description or name,
            choices=_choices(spec.kind, spec.categories), strict=spec.kind != "agents",
            bounds=_bounds(field), rule=RULES.get((table, name), ""),
        ))
    rows = {"patients": "one row per patient", "lines": "one row per line of therapy",
            "events": "one row per relapse or progression"}
    return TemplateSheet(table, rows[table], tuple(columns))


def registry_sheets() -> tuple[TemplateSheet, ...]:
    """Return the sheets of the registry template: the contract's tables without derived columns.

    Examples
    --------
    >>> [sheet.name for sheet in registry_sheets()]
    ['patients', 'lines', 'events']
    >>> [c.name for c in registry_sheets()[2].columns]
    ['patient_id', 'date', 'kind']
    """
    return tuple(_registry_sheet(table) for table in TABLES)


#: Template kinds and the function returning their sheets.
TEMPLATES: dict[str, Callable[[], tuple[TemplateSheet, ...]]] = {"registry": registry_sheets}

INSTRUCTIONS = (
    "How to fill this workbook",
    "",
    "Sheets patients, lines and events hold the data, {rows}. Keep the sheet names and the "
    "headers as they are (the header must stay on row 1); columns added to the right are not loaded.",
    "Hover over a header to read what the column holds, its unit and its rules. Columns with a "
    "drop-down accept only its values; the agents column also accepts several agents separated "
    "by '; '.",
    "Dates: enter them as dates (2021-03-15); the date columns are formatted as dates. Empty "
    "cells are missing values.",
    "Never enter names, initials, hospital numbers or birth dates: patient_id is a pseudonymous "
    "code that links the three sheets.",
    "The tier of a line (ivig, immunosuppression, cytoreduction, other) and the ECP flag are "
    "derived from its agents: there is no column for them.",
    "Check the workbook:  sclero-analysis validate registry.xlsx   (every problem with its "
    "sheet, row and column; nothing is dropped silently).",
    "Then write the report:  sclero-analysis report --data registry.xlsx",
    "",
    "Columns",
)


def _rows_phrase(sheets: tuple[TemplateSheet, ...]) -> str:
    return "; ".join(f"{s.name}: {s.row}" for s in sheets)


def write_template(path: str | Path, kind: str = "registry", overwrite: bool = False) -> Path:
    """Write an empty data-entry workbook with drop-down lists and instructions.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` file to write.
    kind : {"registry"}
        Which data: ``registry`` is the case-series contract (patients, lines, events).
    overwrite : bool
        Replace an existing file (default: refuse, it may be a filled registry).

    Returns
    -------
    Path
        The workbook: sheets ``instructions``, ``patients``, ``lines``, ``events`` and
        ``lists``.

    Raises
    ------
    ValueError
        Unknown ``kind``, or a path that does not end in ``.xlsx``.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.

    Notes
    -----
    The header row holds exactly the contract's column names (derived columns left out), so
    the loader finds every column; units and rules are header comments, not a second header
    row, which the loader would read as data. Drop-downs and checks cover the first
    :data:`ROWS` rows of each sheet; ``patient_id`` in ``lines`` and ``events`` offers the ids
    typed in ``patients``.

    Examples
    --------
    >>> import tempfile
    >>> path = write_template(tempfile.mkdtemp() + "/registry.xlsx")
    >>> import openpyxl
    >>> openpyxl.load_workbook(path).sheetnames
    ['instructions', 'patients', 'lines', 'events', 'lists']
    """
    from sclero_analysis.caseseries.template_workbook import build_workbook

    if kind not in TEMPLATES:
        raise ValueError(f"unknown template {kind!r}; choose from {sorted(TEMPLATES)}")
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"{path.name}: the template is an Excel workbook; name it *.xlsx")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists (a filled registry?); choose another name or overwrite")
    sheets = TEMPLATES[kind]()
    instructions = [line.format(rows=_rows_phrase(sheets)) for line in INSTRUCTIONS]
    book = build_workbook(sheets, instructions)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
