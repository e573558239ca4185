"""Rows and events behind each term of a regression, as a reader's table shows them.

gtsummary's ``tbl_regression`` (with ``add_n`` and ``add_nevent`` at the level) shows, for a
level of a categorical covariate, the rows in that level and their events (the reference
level included); for a continuous covariate, all the rows of the model and all its events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sclero_analysis.survival.design import Design

#: Columns of a regression result's ``counts``.
COUNT_COLUMNS = ("variable", "level", "reference", "n", "events")


def _is_indicator(column: np.ndarray) -> bool:
    return bool(((column == 0.0) | (column == 1.0)).all())


def _categorical_rows(design: Design, term: str, event: np.ndarray) -> list[dict] | None:
    """One row per level of a treatment-coded term (reference first), or None if not one."""
    positions = design.terms[term]
    block = design.matrix[:, positions]
    levels_in = block.sum(axis=1)
    if not _is_indicator(block) or (levels_in > 1).any():
        return None
    reference = levels_in == 0
    n, events = block.sum(axis=0), event.astype(float) @ block
    rows = [{"key": f"{term}[{design.reference[term]}]", "variable": term,
             "level": design.reference[term], "reference": True,
             "n": int(reference.sum()), "events": int(event[reference].sum())}]
    for k, position in enumerate(positions):
        name = design.columns[position]
        level = name[len(term) + 1:-1] if name.startswith(f"{term}[") else name
        rows.append({"key": name, "variable": term, "level": level, "reference": False,
                     "n": int(n[k]), "events": int(events[k])})
    return rows


def count_rows(design: Design, event: np.ndarray) -> list[dict]:
    """Return the rows of :func:`term_counts` as dicts (``key`` and its columns), in its order."""
    event = np.asarray(event, dtype=float) > 0
    rows = []
    for term, positions in design.terms.items():
        categorical = _categorical_rows(design, term, event) if term in design.reference else None
        if categorical is not None:
            rows += categorical
            continue
        for position in positions:
            rows.append({"key": design.columns[position], "variable": term, "level": None,
                         "reference": False, "n": len(event), "events": int(event.sum())})
    return rows


def counts_frame(rows: list[dict]) -> pd.DataFrame:
    """Return :func:`term_counts`'s frame from its :func:`count_rows`."""
    def column(name: str, dtype) -> np.ndarray:  # typed here: pandas need not infer
        return np.array([row[name] for row in rows], dtype=dtype)

    columns = {"variable": column("variable", object), "level": column("level", object),
               "reference": column("reference", bool), "n": column("n", np.int64),
               "events": column("events", np.int64)}
    return pd.DataFrame(columns, index=pd.Index(column("key", object), name="term"), copy=False)


def term_counts(design: Design, event: np.ndarray) -> pd.DataFrame:
    """Rows and events per term of a design: each level of a categorical, or all rows.

    Parameters
    ----------
    design : Design
        The model's covariate matrix and terms (:func:`~sclero_analysis.survival.design.design_matrix`).
    event : numpy.ndarray
        True (or 1) where a row has the event of the model (cause of interest).

    Returns
    -------
    pandas.DataFrame
        Indexed by key: ``tier[ivig]`` for each level of a categorical or yes/no term (the
        reference level first, though it has no coefficient; ``neuro[False]``,
        ``neuro[True]``), the column name for any other term (``mrss``). Columns:
        ``variable`` (the formula term), ``level`` (None for a non-categorical term),
        ``reference`` (the reference level's row), ``n`` (rows, unweighted), ``events`` (rows
        with the event).

    Notes
    -----
    A yes/no covariate shown on one row (``neuro[True]``) counts the rows with "yes", as
    gtsummary does; continuous terms, splines and interactions with a continuous part count
    every row. Counts are rows of the data (lines in the analysis frames, intervals with
    (start, stop] data), never weighted: gtsummary weighs them by the case weights.

    Examples
    --------
    >>> from sclero_analysis.survival.design import design_matrix
    >>> df = pd.DataFrame({"tier": pd.Categorical(list("aabbb")), "age": [50., 60, 70, 55, 65]})
    >>> counts = term_counts(design_matrix(df, "tier + age"), np.array([1, 0, 1, 1, 0]))
    >>> counts[["n", "events"]].values.tolist()
    [[2, 1], [3, 2], [5, 3]]
    """
    return counts_frame(count_rows(design, event))


def count_columns(columns: list[str], counts: pd.DataFrame) -> dict[str, np.ndarray]:
    """``n`` and ``events`` of each coefficient (by column name), NaN for one without counts."""
    where = counts.index.get_indexer(columns)
    if (where < 0).any():
        return {c: counts[c].reindex(columns).to_numpy() for c in ("n", "events")}
    return {c: counts[c].to_numpy()[where] for c in ("n", "events")}


def with_counts(summary: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """Append ``n`` and ``events`` of each coefficient's row to a regression summary."""
    columns = {name: summary[name].to_numpy() for name in summary.columns}
    return pd.DataFrame(columns | count_columns(list(summary.index), counts), index=summary.index)
