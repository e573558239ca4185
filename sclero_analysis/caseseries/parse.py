"""Read raw cells into the contract's types, one finding per cell that is not clean.

Dates are ISO 8601 (``2020-03-04``); day-first or month-first dates (``04/03/2020``) are read
only as the caller says (``dayfirst=``). Without that, a date that reads two ways is an error
naming the cell, and one that reads only one way is accepted with a warning. Excel serial
numbers (``43894``) in a date column are converted with a warning. Numbers accept a decimal
comma with a warning; booleans accept yes/no, true/false, y/n, 1/0; categories accept the
synonyms below, matched ignoring case and separators.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from sclero_analysis.caseseries.problems import ERROR, WARNING
from sclero_analysis.caseseries.schema import ColumnSpec

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "#n/a", "-", ".", "nat"})
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_SERIALS = (10_000, 80_000)  # 1927-05-18 .. 2119-01-10: plausible dates only
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_YMD = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$")
_TEXT_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%d-%b-%Y", "%d %b. %Y")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")

#: Accepted spellings of category values (keys are matched like headers: case, separators).
CATEGORY_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "sex": {"F": ("female", "woman", "w"), "M": ("male", "man")},
    "paraprotein": {
        "IgG-lambda": ("IgG-λ", "IgG-L", "IgG lambda"), "IgG-kappa": ("IgG-κ", "IgG-K"),
        "IgA-lambda": ("IgA-λ", "IgA-L"), "IgA-kappa": ("IgA-κ", "IgA-K"),
        "IgM": ("IgM-kappa", "IgM-lambda", "IgM-κ", "IgM-λ"),
        "other": ("biclonal", "light chain only", "free light chain"),
        "none": ("no", "negative", "absent", "no paraprotein", "no MGUS"),
    },
    "vital_status": {"alive": ("living", "a"), "dead": ("deceased", "died", "d")},
    "death_cause": {
        "disease": ("disease-related", "scleromyxedema", "DNS", "dermato-neuro syndrome"),
        "treatment": ("treatment-related", "toxicity"),
        "malignancy": ("haematological malignancy", "hematological malignancy", "cancer"),
        "other": (), "unknown": ("not known",),
    },
    "best_response": {
        "CR": ("complete response", "complete remission"),
        "PR": ("partial response", "partial remission"),
        "SD": ("stable disease", "stable"), "PD": ("progressive disease", "progression"),
        "NE": ("not evaluable", "n.e.", "inevaluable"),
    },
    "kind": {"relapse": ("recurrence", "relapsed"), "progression": ("progressive disease",)},
}

_GREEK = str.maketrans({"λ": "lambda", "κ": "kappa", "α": "alpha"})


class Cell(NamedTuple):
    """A parsed cell: its value (None if missing or unreadable) and any finding."""

    value: object
    severity: str | None = None
    rule: str | None = None
    message: str | None = None


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.translate(_GREEK).casefold())


def is_missing(value: object) -> bool:
    """Tell whether a cell is empty (blank, NA tokens, NaN, None)."""
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip().casefold() in MISSING_TOKENS


# --- dates -------------------------------------------------------------------------------------
def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _from_excel_serial(number: float) -> Cell:
    if not float(number).is_integer() or not _EXCEL_SERIALS[0] <= number <= _EXCEL_SERIALS[1]:
        return Cell(None, ERROR, "invalid_date", f"{number!r} is not a date")
    converted = (_EXCEL_EPOCH + timedelta(days=int(number))).date()
    return Cell(converted, WARNING, "excel_serial_date",
                f"Excel serial number {int(number)} read as {converted.isoformat()}; "
                "format the column as dates in the export")


def _day_month(text: str, match: re.Match, dayfirst: bool | None) -> Cell:
    first, second, year_text = int(match[1]), int(match[2]), match[3]
    if len(year_text) == 2:
        return Cell(None, ERROR, "two_digit_year",
                    f"'{text}' has a two-digit year; write the year in full (ISO 8601)")
    year = int(year_text)
    as_dmy, as_mdy = _make_date(year, second, first), _make_date(year, first, second)
    if dayfirst is not None:
        value = as_dmy if dayfirst else as_mdy
        order = "day-first" if dayfirst else "month-first"
        if value is None:
            return Cell(None, ERROR, "invalid_date", f"'{text}' is not a valid {order} date")
        return Cell(value)
    if as_dmy is not None and as_mdy is not None and as_dmy != as_mdy:
        return Cell(None, ERROR, "ambiguous_date",
                    f"'{text}' reads as {as_dmy.isoformat()} (day-first) or "
                    f"{as_mdy.isoformat()} (month-first); use ISO dates or say which: "
                    "--dayfirst/--monthfirst (dayfirst=True/False in Python)")
    value = as_dmy or as_mdy
    if value is None:
        return Cell(None, ERROR, "invalid_date", f"'{text}' is not a valid date")
    return Cell(value, WARNING, "non_iso_date",
                f"'{text}' read as {value.isoformat()}, the only valid reading; prefer ISO dates")


def _date_from_text(text: str, dayfirst: bool | None) -> Cell:
    for pattern in (_ISO, _YMD):
        if match := pattern.match(text):
            value = _make_date(int(match[1]), int(match[2]), int(match[3]))
            if value is None:
                return Cell(None, ERROR, "invalid_date", f"'{text}' is not a valid date")
            return Cell(value)
    if match := _DMY.match(text):
        return _day_month(text, match, dayfirst)
    if re.fullmatch(r"\d+(\.0+)?", text):
        return _from_excel_serial(float(text))
    for pattern in _TEXT_FORMATS:
        try:
            return Cell(datetime.strptime(text.replace(",", ""), pattern).date())
        except ValueError:
            continue
    return Cell(None, ERROR, "invalid_date", f"'{text}' is not a date (use YYYY-MM-DD)")


def parse_date(value: object, dayfirst: bool | None = None) -> Cell:
    """Read one date cell (text, Excel/Parquet datetime or Excel serial number)."""
    if isinstance(value, datetime):
        parsed = Cell(value.date())
    elif isinstance(value, date):
        parsed = Cell(value)
    elif isinstance(value, bool):
        parsed = Cell(None, ERROR, "invalid_date", f"{value!r} is not a date")
    elif isinstance(value, int | float | np.integer | np.floating):
        parsed = _from_excel_serial(float(value))
    else:
        parsed = _date_from_text(str(value).strip(), dayfirst)
    if parsed.value is not None and parsed.value.year < 1900:
        return Cell(None, ERROR, "implausible_date", f"{parsed.value.isoformat()} is before 1900")
    return parsed


# --- numbers, booleans, text, categories ------------------------------------------------------
def parse_float(value: object) -> Cell:
    """Read one number cell; a decimal comma is accepted with a warning."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | np.number):
        return Cell(None, ERROR, "not_a_number", f"'{value}' is not a number")
    if not isinstance(value, str):
        number = float(value)
        finding = Cell(number)
    else:
        text = value.strip()
        if _NUMBER.match(text):
            number, finding = float(text), Cell(float(text))
        elif _DECIMAL_COMMA.match(text):
            number = float(text.replace(",", "."))
            finding = Cell(number, WARNING, "decimal_comma", f"'{text}' read as {number}")
        else:
            return Cell(None, ERROR, "not_a_number", f"'{text}' is not a number")
    if not np.isfinite(number):
        return Cell(None, ERROR, "not_a_number", f"'{value}' is not a finite number")
    return finding


def parse_int(value: object) -> Cell:
    """Read one whole-number cell (``2`` and ``2.0`` are both 2)."""
    number = parse_float(value)
    if number.value is None:
        return number
    if not float(number.value).is_integer():
        return Cell(None, ERROR, "not_an_integer", f"'{value}' is not a whole number")
    return Cell(int(number.value), number.severity, number.rule, number.message)


def parse_bool(value: object) -> Cell:
    """Read one yes/no cell."""
    if isinstance(value, bool | np.bool_):
        return Cell(bool(value))
    text = str(value).strip().casefold()
    if text in _TRUE:
        return Cell(True)
    if text in _FALSE:
        return Cell(False)
    return Cell(None, ERROR, "not_a_boolean", f"'{value}' is not yes/no (true/false, 1/0)")


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id typed as a number in Excel: 1001.0 -> "1001"
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value)


def parse_text(value: object) -> Cell:
    """Read one free-text cell, trimmed."""
    return Cell(_text(value).strip())


def parse_id(value: object) -> Cell:
    """Read one identifier cell; surrounding whitespace is removed with a warning."""
    text = _text(value)
    if text != text.strip():
        return Cell(text.strip(), WARNING, "whitespace_in_id",
                    f"'{text}' has surrounding whitespace; read as '{text.strip()}'")
    return Cell(text)


def category_parser(column: str, categories: tuple[str, ...]) -> Callable[[object], Cell]:
    """Return a parser for one categorical column, accepting the column's synonyms."""
    lookup = {_key(c): c for c in categories}
    for canonical, synonyms in CATEGORY_SYNONYMS.get(column, {}).items():
        lookup.update({_key(s): canonical for s in synonyms})
    allowed = ", ".join(categories)

    def parse(value: object) -> Cell:
        found = lookup.get(_key(_text(value)))
        if found is None:
            return Cell(None, ERROR, "invalid_category", f"'{value}' is not one of: {allowed}")
        return Cell(found)

    return parse


_WORKING_DTYPES = {
    "id": "string", "str": "string", "agents": "string", "float": "float64", "int": "Int64",
    "bool": "boolean", "date": "datetime64[ns]",
}


def parse_column(
    cells: pd.Series, spec: ColumnSpec, *, dayfirst: bool | None = None
) -> tuple[pd.Series, pd.DataFrame]:
    """Parse a column of raw cells into its working dtype.

    Parameters
    ----------
    cells : pandas.Series
        Raw cells, indexed by file row.
    spec : ColumnSpec
        The contract's column (kind, categories).
    dayfirst : bool, optional
        How to read ``dd/mm/yyyy``-like dates; None accepts only unambiguous ones.

    Returns
    -------
    values : pandas.Series
        Parsed values in a nullable working dtype (unreadable cells are missing).
    findings : pandas.DataFrame
        One row per cell with a finding: ``row, value, severity, rule, message``.
    """
    parser = _parser(spec, dayfirst)
    cache: dict[object, Cell] = {}
    parsed = []
    for value in cells:
        if is_missing(value):
            parsed.append(Cell(None))
            continue
        key = (type(value), value)
        if key not in cache:
            cache[key] = parser(value)
        parsed.append(cache[key])
    frame = pd.DataFrame(parsed, index=cells.index, columns=list(Cell._fields))
    findings = frame[frame["rule"].notna()].assign(value=cells[frame["rule"].notna()])
    values = frame["value"]
    dtype = spec.dtype if spec.kind == "category" else _WORKING_DTYPES[spec.kind]
    if spec.kind == "date":
        values = pd.to_datetime(values.astype(object).where(values.notna(), None))
    return values.astype(dtype).rename(spec.name), findings.rename_axis("row").reset_index()[
        ["row", "value", "severity", "rule", "message"]
    ]


def _parser(spec: ColumnSpec, dayfirst: bool | None) -> Callable[[object], Cell]:
    if spec.kind == "category":
        return category_parser(spec.name, spec.categories)
    if spec.kind == "date":
        return lambda value: parse_date(value, dayfirst)
    return {
        "id": parse_id, "str": parse_text, "agents": parse_text, "float": parse_float,
        "int": parse_int, "bool": parse_bool,
    }[spec.kind]
