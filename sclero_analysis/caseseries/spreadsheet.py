"""CSV files that spreadsheets open safely: no cell of ours is ever run as a formula.

A spreadsheet program reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return before them) as a formula and runs it: ``=HYPERLINK(...)`` becomes a live link,
and crafted cells can run commands (CSV injection). Every CSV file sclero_analysis writes
passes its text cells through :func:`spreadsheet_safe`, which puts a ``'`` before such a cell
(the spreadsheet convention for "this is text"); plain numbers such as ``-3.5`` are left alone.
The loader reads a ``'`` before a formula-like value as that convention, so files written here
read back unchanged.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: First characters that make a spreadsheet run a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def looks_like_formula(text: str) -> bool:
    """Tell whether a spreadsheet would run ``text`` as a formula (plain numbers are not).

    Examples
    --------
    >>> looks_like_formula('=HYPERLINK("http://x")'), looks_like_formula("-3.5")
    (True, False)
    """
    return text.startswith(FORMULA_START) and not _NUMBER.match(text.strip())


def neutralise(value: object) -> object:
    r"""Return a text value that a spreadsheet would run, with a ``'`` before it.

    Examples
    --------
    >>> print(neutralise("=1+1"), neutralise("-3.5"), neutralise(4))
    '=1+1 -3.5 4
    """
    return "'" + value if isinstance(value, str) and looks_like_formula(value) else value


def _safe_values(values: pd.Index | pd.Series) -> np.ndarray | None:
    """Neutralised values of a text column or index, or None when nothing needs changing."""
    if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)):
        return None
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    safe = [neutralise(v) for v in distinct]
    if all(a is b for a, b in zip(safe, distinct, strict=True)):
        return None
    return np.array(safe + [None], dtype=object)[codes]


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every formula-like text cell (and index label) neutralised.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table about to be written as CSV (not modified).

    Returns
    -------
    pandas.DataFrame
        The same table; text columns that held formula-like cells become object columns.

    Examples
    --------
    >>> spreadsheet_safe(pd.DataFrame({"site": ["=1+1", "Paris"], "n": [-1, 2]}))["site"].tolist()
    ["'=1+1", 'Paris']
    """
    safe = frame
    for position in range(frame.shape[1]):
        values = _safe_values(frame.iloc[:, position])
        if values is not None:
            safe = safe.copy() if safe is frame else safe
            safe.isetitem(position, pd.Series(values, index=frame.index, dtype=object)
                          .where(frame.iloc[:, position].notna(), None))
    if not isinstance(frame.index, pd.MultiIndex):
        labels = _safe_values(frame.index)
        if labels is not None:
            safe = safe.set_axis(pd.Index(labels, name=frame.index.name), axis=0)
    return safe
