"""Checked inputs for pooling: counts per source, study ids, groups, moderators, response definitions.

Every problem raises :class:`PoolingError` naming the column, the rows (the frame's index labels)
and their study ids, so that a typo in one source of a literature table is found at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sclero_analysis.exceptions import ScleroError

#: Default column names of a table of sources (one row per source and group).
EVENTS, N, STUDY = "events", "n", "study"
#: Sources answering different definitions of response are never pooled together silently.
RESPONSE_DEFINITION = "response_definition"
ROWS_SHOWN = 5


class PoolingError(ScleroError, ValueError):
    """The table of sources cannot be pooled as asked (bad counts, ids, groups or options)."""


@dataclass(frozen=True)
class PoolingInput:
    """A checked copy of the caller's table.

    Attributes
    ----------
    frame : pandas.DataFrame
        The caller's rows (index kept) with integer ``events`` and ``n``.
    events, n, study : str
        Column names.
    by, moderators : list of str
    """

    frame: pd.DataFrame
    events: str
    n: str
    study: str
    by: list[str]
    moderators: list[str]


def as_list(names: str | Sequence[str] | None) -> list[str]:
    """``None`` -> ``[]``, ``"a"`` -> ``["a"]``, a sequence -> a list."""
    if names is None:
        return []
    return [names] if isinstance(names, str) else list(names)


def _where(frame: pd.DataFrame, mask: pd.Series, study: str) -> str:
    """``rows 3 (study 'Smith 2010'), 7 (study 'Lee 2015')`` for the rows in ``mask``."""
    rows = frame.index[mask.to_numpy()]
    studies = frame.loc[mask, study] if study in frame.columns else pd.Series(None, index=rows)
    shown = [f"{row} (study {sid!r})" if pd.notna(sid) else str(row)
             for row, sid in zip(rows[:ROWS_SHOWN], studies.iloc[:ROWS_SHOWN], strict=True)]
    more = f" and {len(rows) - ROWS_SHOWN} more" if len(rows) > ROWS_SHOWN else ""
    return f"row{'s' if len(rows) > 1 else ''} {', '.join(shown)}{more}"


def _require_columns(frame: pd.DataFrame, roles: dict[str, list[str]]) -> None:
    for role, names in roles.items():
        for name in names:
            if name not in frame.columns:
                raise PoolingError(f"{role} column {name!r} is not in the table "
                                   f"(columns: {', '.join(map(str, frame.columns))})")


def _counts(frame: pd.DataFrame, column: str, study: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    missing = values.isna()
    if missing.any():
        raise PoolingError(f"column {column!r} has missing or non-numeric counts at "
                           f"{_where(frame, missing, study)}")
    bad = (values < 0) | (values != np.floor(values)) | ~np.isfinite(values)
    if bad.any():
        raise PoolingError(f"column {column!r} must hold whole numbers >= 0: "
                           f"{_where(frame, bad, study)}")
    return values.astype(np.int64)


def _check_counts(frame: pd.DataFrame, events: str, n: str, study: str) -> None:
    x, size = _counts(frame, events, study), _counts(frame, n, study)
    if (size == 0).any():
        raise PoolingError(f"column {n!r} must be at least 1 (a source with no patients): "
                           f"{_where(frame, size == 0, study)}")
    over = x > size
    if over.any():
        raise PoolingError(f"column {events!r} exceeds column {n!r} (more responders than patients) "
                           f"at {_where(frame, over, study)}")
    frame[events], frame[n] = x, size


def _check_labels(frame: pd.DataFrame, columns: list[str], role: str, study: str) -> None:
    for column in columns:
        values = frame[column]
        missing = values.isna() | (values.astype(str).str.strip() == "")
        if missing.any():
            raise PoolingError(f"{role} column {column!r} is missing at {_where(frame, missing, study)}")


def _check_duplicates(frame: pd.DataFrame, study: str, by: list[str]) -> None:
    twice = frame.duplicated(subset=[*by, study], keep=False)
    if twice.any():
        within = f" within the same {', '.join(by)}" if by else ""
        raise PoolingError(f"study ids repeat{within} at {_where(frame, twice, study)}: one row per "
                           "source (a registry: one row per source or site); aggregate or rename them")


def _check_definitions(frame: pd.DataFrame, by: list[str], moderators: list[str]) -> None:
    if RESPONSE_DEFINITION not in frame.columns or RESPONSE_DEFINITION in by + moderators:
        return
    values = frame[RESPONSE_DEFINITION]
    if values.isna().all():
        return
    # a source without a definition may use any: it counts as one more definition
    definitions = values.astype(object).where(values.notna(), "(missing)").unique()
    if len(definitions) > 1:
        shown = ", ".join(map(repr, sorted(map(str, definitions))))
        raise PoolingError(
            f"column {RESPONSE_DEFINITION!r} holds several definitions of response ({shown}); they "
            f"are not pooled together: pool within each with by={RESPONSE_DEFINITION!r} (or add it "
            "to by), or model it with moderators=[...]")


def checked_input(df: pd.DataFrame, events: str, n: str, study: str,
                  by: str | Sequence[str] | None, moderators: str | Sequence[str] | None) -> PoolingInput:
    """Check the caller's table and return a copy ready for pooling.

    Raises
    ------
    PoolingError
        Missing columns; missing, non-integer or negative counts; ``n`` of 0; events above
        ``n``; missing study ids, groups or moderators; a study id twice in a group; several
        response definitions pooled together.

    Examples
    --------
    >>> table = pd.DataFrame({"study": ["a", "b"], "events": [3, 5], "n": [4, 4]})
    >>> try:
    ...     checked_input(table, "events", "n", "study", None, None)
    ... except PoolingError as error:
    ...     print(error)
    column 'events' exceeds column 'n' (more responders than patients) at row 1 (study 'b')
    """
    if not isinstance(df, pd.DataFrame):
        raise PoolingError(f"expected a pandas DataFrame of sources, got {type(df).__name__}")
    if df.empty:
        raise PoolingError("the table of sources has no rows")
    by_list, moderator_list = as_list(by), as_list(moderators)
    _require_columns(df, {"events": [events], "n": [n], "study": [study], "by": by_list,
                          "moderator": moderator_list})
    frame = df.copy()
    _check_labels(frame, [study], "study", study)
    _check_counts(frame, events, n, study)
    _check_labels(frame, by_list, "by", study)
    _check_labels(frame, moderator_list, "moderator", study)
    _check_duplicates(frame, study, by_list)
    _check_definitions(frame, by_list, moderator_list)
    return PoolingInput(frame, events, n, study, by_list, moderator_list)
