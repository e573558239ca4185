"""Read one cell of each kind: numbers, whole numbers, yes/no, text, identifiers, categories.

Numbers accept a decimal comma and a typographic minus; yes/no cells accept the words exports
use (true/false, y/n, 1/0, Checked/Unchecked, ja/nein, oui/non …); categories accept the
synonyms below, matched ignoring case and separators. Identifiers and text are brought to
Unicode NFC without invisible characters (:mod:`.normalise`; for identifiers with a warning
naming the change). Text a spreadsheet would run as a formula is kept, with a warning. Dates
are read by :mod:`.dates`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime

import numpy as np

from sclero_analysis.caseseries.cells import Cell
from sclero_analysis.caseseries.normalise import normalise, visible
from sclero_analysis.caseseries.problems import ERROR, WARNING
from sclero_analysis.caseseries.spreadsheet import FORMULA_START, looks_like_formula

_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0", "checked", "x", "ja", "j", "oui", "si",
                   "sì", "sí", "present", "positive"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0", "unchecked", "nein", "non", "absent",
                    "negative"})
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-", "\ufe63": "-", "\uff0d": "-"})
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?[eE]\+?\d+$")

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
