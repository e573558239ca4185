"""Read raw cells into the contract's types, one finding per cell that is not clean.

A column is parsed per distinct value, not per cell: the column is factorised (each distinct
value once, in compiled code), each distinct value is read once, and values and findings are
spread back to the cells by their codes. Dates follow :mod:`.dates` (ISO, ``dayfirst=``, Excel
serial numbers, the plausible window). Numbers accept a decimal comma with a warning; booleans
accept yes/no, true/false, y/n, 1/0; categories accept the synonyms below, matched ignoring
case and separators. Identifiers and text are brought to Unicode NFC without invisible
characters (:mod:`.normalise`; for identifiers with a warning naming the change). Any cell longer than a
contract value can be is an error whose value is never shown (it may be a pasted note), and a
spreadsheet error value (``#REF!``) is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

import numpy as np
import pandas as pd

from sclero_analysis.caseseries.cells import (
    MISSING_TOKENS,
    Cell,
    is_missing,
    plain_texts,
    text_array,
)
from sclero_analysis.caseseries.dates import EXCEL_EPOCH, parse_date
from sclero_analysis.caseseries.normalise import normalise, visible
from sclero_analysis.caseseries.problems import ERROR, WARNING
from sclero_analysis.caseseries.schema import ColumnSpec
from sclero_analysis.caseseries.spreadsheet import FORMULA_START, looks_like_formula

__all__ = ["MISSING_TOKENS", "Cell", "is_missing", "parse_column", "parse_date"]

_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0", "checked", "x", "ja", "j", "oui", "si",
                   "sì", "sí", "present", "positive"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0", "unchecked", "nein", "non", "absent",
                    "negative"})
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-", "\ufe63": "-", "\uff0d": "-"})
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?[eE]\+?\d+$")
#: Longest text a contract cell can hold, by kind (longer cells are errors, never shown).
MAX_CHARS = {"id": 100}
DEFAULT_MAX_CHARS = 1000
#: Values spreadsheets show for a formula that failed (``#N/A`` is read as missing).
SPREADSHEET_ERRORS = frozenset({
    "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#GETTING_DATA", "#SPILL!",
    "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
})
#: Rules whose cell value must not be repeated in the report (too long: perhaps a note).
WITHHELD_RULES = frozenset({"value_too_long"})

#: Accepted spellings of category values (keys are matched like headers: case, separators).
CATEGORY_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "sex": {"F": ("female", "woman", "w", "weiblich", "frau", "femme", "donna", "mujer"),
            "M": ("male", "man", "männlich", "mann", "homme", "h", "uomo", "hombre")},
    "paraprotein": {
        "IgG-lambda": ("IgG-λ", "IgG-L", "IgG lambda"), "IgG-kappa": ("IgG-κ", "IgG-K"),
        "IgA-lambda": ("IgA-λ", "IgA-L"), "IgA-kappa": ("IgA-κ", "IgA-K"),
        "IgM": ("IgM-kappa", "IgM-lambda", "IgM-κ", "IgM-λ"),
        "other": ("biclonal", "light chain only", "free light chain"),
        "none": ("no", "negative", "absent", "no paraprotein", "no MGUS"),
    },
    "vital_status": {"alive": ("living", "a", "lebend", "vivant", "vivo", "viva"),
                     "dead": ("deceased", "died", "d", "verstorben", "tot", "décédé", "decede",
                              "morto", "fallecido")},
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


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.translate(_GREEK).casefold())


# --- numbers, booleans, text, categories ------------------------------------------------------
def parse_float(value: object) -> Cell:
    """Read one number cell; a decimal comma is accepted with a warning."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | np.number):
        return Cell(None, ERROR, "not_a_number", f"'{value}' is not a number")
    if not isinstance(value, str):
        number = float(value)
        finding = Cell(number)
    else:
        text = value.strip().translate(_MINUS)  # a typographic minus sign is a minus
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
    if abs(number.value) >= 2**31:
        return Cell(None, ERROR, "not_an_integer", f"'{value}' is far too large for a count")
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
    text = str(value)
    if text[:1] == "'" and text[1:2] and text[1:].startswith(FORMULA_START):
        return text[1:]  # the spreadsheet text marker that files written here put before '='
    return text


def _formula_warning(text: str) -> Cell:
    return Cell(text, WARNING, "formula_like_value",
                f"'{text}' looks like a spreadsheet formula; it is kept as text, and files "
                "written by sclero_analysis put a ' before it so spreadsheets do not run it")


def parse_text(value: object) -> Cell:
    """Read one free-text cell, trimmed, in Unicode NFC without invisible characters.

    The clean-up is silent: it changes no visible character (a site typed twice with and
    without a zero-width space is one site). A value a spreadsheet would run as a formula is
    kept, with a warning.
    """
    clean = normalise(_text(value), dashes=False)[0].strip()
    if looks_like_formula(clean):
        return _formula_warning(clean)
    return Cell(clean)


def parse_agents(value: object) -> Cell:
    """Read one agents cell: trimmed and normalised silently (agents are resolved next)."""
    return Cell(normalise(_text(value), dashes=False)[0].strip())


def parse_id(value: object) -> Cell:
    """Read one identifier cell; whitespace and invisible characters are removed with a warning.

    An id a spreadsheet has mangled is warned about: a cell typed as a date (an id such as
    ``1-2`` or ``MAR1`` turned into one) or a long number shown in scientific notation (its
    last digits are lost).

    Examples
    --------
    >>> parse_id("P001\u200b").value, parse_id("P001\u200b").rule
    ('P001', 'id_normalised')
    """
    if isinstance(value, datetime | date):
        return Cell(_text(value), WARNING, "id_converted_to_date",
                    f"the id cell holds a date ({_text(value)}): a spreadsheet may have turned an "
                    "id such as '1-2' or 'MAR1' into a date; check it and store ids as text")
    raw = _text(value)
    if _SCIENTIFIC.match(raw.strip()):
        return Cell(raw.strip(), WARNING, "id_in_scientific_notation",
                    f"id '{raw.strip()}' is a long number shown in scientific notation: the "
                    "spreadsheet rounded it and its last digits are lost; store ids as text")
    clean, changes = normalise(raw)
    stripped = clean.strip()
    if changes:
        if clean != stripped:
            changes += ("surrounding whitespace removed",)
        return Cell(stripped, WARNING, "id_normalised",
                    f"id '{visible(raw)}' was normalised ({'; '.join(changes)}); read as "
                    f"'{stripped}'")
    if stripped != raw:
        return Cell(stripped, WARNING, "whitespace_in_id",
                    f"'{raw}' has surrounding whitespace; read as '{stripped}'")
    if looks_like_formula(stripped):
        return _formula_warning(stripped)
    return Cell(stripped)


def category_parser(column: str, categories: tuple[str, ...]) -> Callable[[object], Cell]:
    """Return a parser for one categorical column, accepting the column's synonyms."""
    lookup = {_key(c): c for c in categories}
    for canonical, synonyms in CATEGORY_SYNONYMS.get(column, {}).items():
        lookup.update({_key(s): canonical for s in synonyms})
    allowed = ", ".join(categories)

    def parse(value: object) -> Cell:
        found = lookup.get(_key(normalise(_text(value))[0]))
        if found is None:
            return Cell(None, ERROR, "invalid_category", f"'{value}' is not one of: {allowed}")
        return Cell(found)

    return parse


# --- a whole column ---------------------------------------------------------------------------
_FACTORISABLE = frozenset({"string", "empty", "floating", "integer", "mixed-integer-float",
                           "datetime", "datetime64", "date", "boolean"})


def factorise(cells: pd.Series) -> tuple[np.ndarray, list]:
    """Return codes (-1 for empty) and distinct values of a column of raw cells.

    ``True``, ``1`` and ``1.0`` (equal in Python) are kept apart, as a cell of each reads
    differently.

    Examples
    --------
    >>> codes, distinct = factorise(pd.Series(["a", None, "a", "b"]))
    >>> codes.tolist(), distinct
    ([0, -1, 0, 1], ['a', 'b'])
    """
    values = cells.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) in _FACTORISABLE:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return codes, list(uniques)
    lookup: dict[tuple, int] = {}
    distinct: list = []
    codes = np.empty(len(values), dtype=np.intp)
    for i, value in enumerate(values):
        if is_missing(value) and not isinstance(value, str):
            codes[i] = -1
            continue
        try:
            key = (type(value), value)
            hash(key)
        except TypeError:  # an unhashable cell (a list in Parquet) is read by its text
            key = (type(value), repr(value))
        if key not in lookup:
            lookup[key] = len(distinct)
            distinct.append(value)
        codes[i] = lookup[key]
    return codes, distinct


_TEXT_KINDS = frozenset({"id", "str", "agents"})


_UNSAFE_PARTS = ("E+", "e+")  # scientific notation, as spreadsheets show long numbers


def _plain(distinct: list | np.ndarray, limit: int) -> np.ndarray:
    """Tell which text cells read as themselves: ASCII, trimmed, not a formula, not missing."""
    texts = text_array(distinct)
    if texts is not None:
        return plain_texts(texts, limit, "=+-@'\t\r# ", " \t\r\n", _UNSAFE_PARTS)
    return np.array([isinstance(v, str) and v.isascii() and 0 < len(v) <= limit
                     and v[0] not in "=+-@'\t\r# " and v[-1] not in " \t\r\n"
                     and not any(p in v for p in _UNSAFE_PARTS)
                     and v.casefold() not in MISSING_TOKENS for v in distinct], dtype=bool)


def _guarded(parser: Callable[[object], Cell], limit: int) -> Callable[[object], Cell]:
    """Wrap a parser: missing, too long and spreadsheet-error cells are handled before it."""

    def parse(value: object) -> Cell:
        if is_missing(value):
            return Cell(None)
        if isinstance(value, str):
            if len(value) > limit:
                return Cell(None, ERROR, "value_too_long",
                            f"the cell holds {len(value):,} characters, more than the {limit:,} a "
                            "value of this column can have (a note or pasted text?); not shown")
            if value.strip().upper() in SPREADSHEET_ERRORS:
                return Cell(None, ERROR, "spreadsheet_error",
                            f"'{value.strip()}' is a spreadsheet error (a formula that failed), "
                            "not a value")
        return parser(value)

    return parse


def _typed(distinct: list, parsed: list[Cell | None], codes: np.ndarray, spec: ColumnSpec
           ) -> pd.Series:
    """Spread the distinct values to the cells, in the column's working dtype.

    ``parsed[i]`` is None where ``distinct[i]`` reads as itself.
    """
    values = [d if c is None else c.value for d, c in zip(distinct, parsed, strict=True)]
    values.append(None)  # codes of -1 (empty cells) take this last value
    missing = np.array([v is None for v in values])[codes]
    if spec.kind == "date":
        days = np.array([np.datetime64(v, "D") if v is not None else np.datetime64("NaT")
                         for v in values], dtype="datetime64[D]")
        return pd.Series(days[codes].astype("datetime64[ns]"))
    if spec.kind in ("float", "int"):
        numbers = np.array([np.nan if v is None else v for v in values], dtype=float)[codes]
        if spec.kind == "float":
            return pd.Series(numbers)
        whole = np.where(missing, 0, numbers).astype(np.int64)
        return pd.Series(pd.arrays.IntegerArray(whole, missing))
    if spec.kind == "bool":
        flags = np.array([bool(v) for v in values])[codes]
        return pd.Series(pd.arrays.BooleanArray(flags, missing))
    if spec.kind == "category":
        position = {c: i for i, c in enumerate(spec.categories)}
        category = np.array([-1 if v is None else position[v] for v in values])[codes]
        return pd.Series(pd.Categorical.from_codes(category, dtype=spec.dtype))
    return pd.Series(pd.array(np.array(values, dtype=object)[codes], dtype="string"))


def parse_column(
    cells: pd.Series,
    spec: ColumnSpec,
    *,
    dayfirst: bool | None = None,
    epoch: datetime = EXCEL_EPOCH,
    today: date | None = None,
    factorised: tuple[np.ndarray, list] | None = None,
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
    epoch : datetime.datetime
        Day 0 of the workbook's date system, for Excel serial numbers.
    today : datetime.date, optional
        The latest plausible date (default: today).
    factorised : tuple, optional
        ``cells`` already factorised (:func:`factorise`), to save doing it again.

    Returns
    -------
    values : pandas.Series
        Parsed values in a nullable working dtype (unreadable cells are missing).
    findings : pandas.DataFrame
        One row per cell with a finding: ``row, value, severity, rule, message``; ``value`` is
        empty where the cell must not be shown (rules in :data:`WITHHELD_RULES`).

    Examples
    --------
    >>> from sclero_analysis.caseseries.schema import column_specs
    >>> values, findings = parse_column(pd.Series(["61,5", "x", "61,5"], index=[2, 3, 4]),
    ...                                 column_specs("patients")["age_at_diagnosis_years"])
    >>> values.tolist(), findings["rule"].tolist()
    ([61.5, nan, 61.5], ['decimal_comma', 'not_a_number', 'decimal_comma'])
    """
    parser = _guarded(_parser(spec, dayfirst, epoch, today or date.today()),
                      MAX_CHARS.get(spec.kind, DEFAULT_MAX_CHARS))
    codes, distinct = factorised if factorised is not None else factorise(cells)
    if spec.kind in _TEXT_KINDS:  # most ids and texts read as themselves: no parser, no Cell
        plain = _plain(distinct, MAX_CHARS.get(spec.kind, DEFAULT_MAX_CHARS))
        parsed = [None if p else parser(v) for v, p in zip(distinct, plain, strict=True)]
    else:
        parsed = [parser(value) for value in distinct]
    values = _typed(distinct, parsed, codes, spec).set_axis(cells.index).rename(spec.name)
    found = np.array([c is not None and c.rule is not None for c in parsed] + [False])[codes]
    which = codes[found]
    raw = cells.to_numpy(dtype=object)[found]
    findings = pd.DataFrame({
        "row": cells.index[found],
        "value": [None if parsed[i].rule in WITHHELD_RULES else v for i, v in zip(which, raw, strict=True)],
        "severity": [parsed[i].severity for i in which],
        "rule": [parsed[i].rule for i in which],
        "message": [parsed[i].message for i in which],
    })
    return values, findings


def _parser(spec: ColumnSpec, dayfirst: bool | None, epoch: datetime, today: date
            ) -> Callable[[object], Cell]:
    if spec.kind == "category":
        return category_parser(spec.name, spec.categories)
    if spec.kind == "date":
        return lambda value: parse_date(value, dayfirst, epoch=epoch, column=spec.name, today=today)
    return {
        "id": parse_id, "str": parse_text, "agents": parse_agents, "float": parse_float,
        "int": parse_int, "bool": parse_bool,
    }[spec.kind]
