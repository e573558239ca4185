"""Read a column of raw cells into the contract's type, one finding per cell that is not clean.

A column is parsed per distinct value, not per cell: the column is factorised (each distinct
value once, in compiled code), each distinct value is read once (:mod:`.values`,
:mod:`.dates`), and values and findings are spread back to the cells by their codes. Most ids
and texts read as themselves: they are recognised as NumPy unicode arrays and need no reader.
Any cell longer than a contract value can be is an error whose value is never shown (it may be
a pasted note), and a spreadsheet error value (``#REF!``) is an error.
"""

from __future__ import annotations

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
from sclero_analysis.caseseries.problems import ERROR
from sclero_analysis.caseseries.schema import ColumnSpec
from sclero_analysis.caseseries.values import (
    CATEGORY_SYNONYMS,
    category_parser,
    parse_agents,
    parse_bool,
    parse_float,
    parse_id,
    parse_int,
    parse_text,
)

__all__ = ["CATEGORY_SYNONYMS", "MISSING_TOKENS", "Cell", "category_parser", "factorise",
           "is_missing", "parse_bool", "parse_column", "parse_date", "parse_float", "parse_id",
           "parse_int", "parse_text"]

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
        "row": cells.index.to_numpy()[found],
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
