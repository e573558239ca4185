"""Model matrix of a meta-regression: an intercept plus the moderators of one group of sources.

A numeric moderator enters as it is; any other (text, category, bool) as indicator columns
against its first level: the first category of a categorical column (the user's order), else the
first in sorted order, as R's ``factor`` (``"case report"`` before ``"series"``). Terms are named
``column[level]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

INTERCEPT = "intercept"


def _levels(values: pd.Series) -> list:
    present = set(values.unique())
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [level for level in values.cat.categories if level in present]
    return sorted(present, key=str)


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def design_matrix(frame: pd.DataFrame, moderators: list[str]) -> tuple[np.ndarray, list[str]]:
    """Return the model matrix (rows of ``frame``) and its term names.

    Examples
    --------
    >>> frame = pd.DataFrame({"kind": ["series", "case report", "registry"], "year": [2001, 2010, 2020]})
    >>> matrix, terms = design_matrix(frame, ["kind", "year"])
    >>> terms
    ['intercept', 'kind[registry]', 'kind[series]', 'year']
    >>> matrix[:, 1:3].tolist()
    [[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]
    """
    columns, terms = [np.ones(len(frame))], [INTERCEPT]
    for name in moderators:
        values = frame[name]
        if _is_numeric(values):
            columns.append(values.to_numpy(dtype=float))
            terms.append(name)
            continue
        for level in _levels(values)[1:]:
            columns.append((values == level).to_numpy(dtype=float))
            terms.append(f"{name}[{level}]")
    return np.column_stack(columns), terms


def estimable(frame: pd.DataFrame, moderators: list[str], matrix: np.ndarray) -> bool:
    """Tell whether every moderator varies, the matrix has full rank and a residual df remains.

    Examples
    --------
    >>> frame = pd.DataFrame({"kind": ["series", "series", "registry"]})
    >>> estimable(frame, ["kind"], design_matrix(frame, ["kind"])[0])
    True
    >>> estimable(frame.iloc[:2], ["kind"], design_matrix(frame.iloc[:2], ["kind"])[0])
    False
    """
    k, p = matrix.shape
    varies = all(frame[name].nunique() > 1 for name in moderators)
    return bool(varies and k > p and np.linalg.matrix_rank(matrix) == p)
