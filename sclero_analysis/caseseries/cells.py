"""What one cell of a case series is once read: a value, and the finding it raised, if any."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

#: Cell texts that mean "no value" (compared stripped and case-folded).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "#n/a", "-", ".", "nat", "n.a.", "n.a",
                            "n.d.", "n.d", "--", "?"})


class Cell(NamedTuple):
    """A parsed cell: its value (None if missing or unreadable) and any finding."""

    value: object
    severity: str | None = None
    rule: str | None = None
    message: str | None = None


def is_missing(value: object) -> bool:
    """Tell whether a cell is empty (blank, NA tokens, NaN, None).

    Examples
    --------
    >>> [is_missing(v) for v in ("", " n/a ", float("nan"), "0")]
    [True, True, True, False]
    """
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip().casefold() in MISSING_TOKENS


#: Longest text for which columns are checked as NumPy unicode arrays (longer: one by one).
VECTOR_CHARS = 256


def text_array(values: np.ndarray | list) -> np.ndarray | None:
    """Return ``values`` as a NumPy unicode array when all are text, short enough to vectorise.

    Returns None when a value is not text or is longer than :data:`VECTOR_CHARS`.

    Examples
    --------
    >>> text_array(["ab", "c"]).dtype, text_array(["ab", 1])
    (dtype('<U2'), None)
    """
    if not len(values) or pd.api.types.infer_dtype(values, skipna=False) != "string":
        return None
    if max(map(len, values)) > VECTOR_CHARS:
        return None
    return np.asarray(values, dtype=str)


def blank_texts(texts: np.ndarray) -> np.ndarray:
    """Tell, for a unicode array, which texts are empty or whitespace only."""
    return np.strings.isspace(texts) | (np.strings.str_len(texts) == 0)


def plain_texts(texts: np.ndarray, limit: int, unsafe_first: str, unsafe_last: str,
                unsafe_parts: tuple[str, ...] = ()) -> np.ndarray:
    """Tell which texts of a unicode array read as themselves, with no parsing needed.

    A text reads as itself when it is ASCII, 1 to ``limit`` characters long, not a missing
    token, neither starts with a character of ``unsafe_first`` nor ends with one of
    ``unsafe_last``, and holds none of ``unsafe_parts``.
    """
    lengths = np.strings.str_len(texts)
    points = texts.view(np.uint32).reshape(len(texts), -1) if texts.dtype.itemsize else None
    if points is None:
        return np.zeros(len(texts), dtype=bool)
    last = points[np.arange(len(texts)), np.maximum(lengths - 1, 0)]
    plain = ((points < 128).all(axis=1) & (lengths > 0) & (lengths <= limit)
             & ~np.isin(points[:, 0], [ord(c) for c in unsafe_first])
             & ~np.isin(last, [ord(c) for c in unsafe_last]))
    for part in unsafe_parts:
        plain &= np.strings.find(texts, part) < 0
    short = np.flatnonzero(plain & (lengths <= max(map(len, MISSING_TOKENS))))
    plain[short] = [texts[i].casefold() not in MISSING_TOKENS for i in short]
    return plain
