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
