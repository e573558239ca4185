"""Rows that belong together: a patient's several lines of therapy are one cluster.

Analysis frames name their identifier column in ``frame.attrs["cluster"]`` (``patient_id``).
Every estimator takes ``cluster=``: a column name (clustered, robust variance: each cluster's
influence is summed before squaring), ``False`` (rows independent, on purpose) or ``None``
(not said: rows are treated as independent, and a :class:`RepeatedIdsWarning` says so when
the frame's identifier column repeats in the rows analysed).
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from sclero_analysis.exceptions import RepeatedIdsWarning
from sclero_analysis.survival.inputs import SurvivalInputError

#: What ``cluster=`` accepts: a column, ``False`` (independent rows) or ``None`` (not said).
Cluster = str | Literal[False] | None
#: The key of ``DataFrame.attrs`` under which analysis frames name their identifier column.
ATTRS_KEY = "cluster"


def marked_cluster(df: pd.DataFrame) -> str | None:
    """Return the identifier column an analysis frame names in its attrs (None if none).

    Examples
    --------
    >>> df = pd.DataFrame({"patient_id": ["a", "a"]})
    >>> df.attrs["cluster"] = "patient_id"
    >>> marked_cluster(df)
    'patient_id'
    """
    name = df.attrs.get(ATTRS_KEY)
    return name if isinstance(name, str) and name in df.columns else None


def repeated_ids(df: pd.DataFrame, column: str) -> tuple[int, int] | None:
    """(rows, distinct ids) when ``column`` repeats an id in ``df``, else None."""
    values = df[column]
    n_ids = int(values.nunique(dropna=False))
    return (len(values), n_ids) if n_ids < len(values) else None


def warn_unclustered(df: pd.DataFrame, what: str, stacklevel: int = 3) -> None:
    """Warn that ``what`` treats rows as independent although the frame's ids repeat."""
    name = marked_cluster(df)
    if name is None:
        return
    counts = repeated_ids(df, name)
    if counts is None:
        return
    warnings.warn(
        f"{what} treats the {counts[0]} rows as independent, but they come from {counts[1]} "
        f"'{name}' values: pass cluster='{name}' for clustered (robust) standard errors, or "
        "cluster=False to treat the rows as independent on purpose",
        RepeatedIdsWarning, stacklevel=stacklevel + 1,
    )


def cluster_codes(df: pd.DataFrame, cluster: Cluster, what: str, stacklevel: int = 3) -> np.ndarray | None:
    """Integer cluster of each row of ``df`` (0, 1, …), or None for independent rows.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows analysed.
    cluster : str, False or None
        A column name; ``False`` for independent rows; ``None`` for independent rows with a
        :class:`~sclero_analysis.exceptions.RepeatedIdsWarning` when the frame's identifier
        column (``df.attrs["cluster"]``) repeats.
    what : str
        The estimator, named in the warning.
    stacklevel : int
        Frames between the caller of the public function and this one, plus one.

    Returns
    -------
    numpy.ndarray or None

    Raises
    ------
    SurvivalInputError
        The column is missing or has missing values.

    Examples
    --------
    >>> cluster_codes(pd.DataFrame({"id": ["b", "a", "b"]}), "id", "test").tolist()
    [0, 1, 0]
    """
    if cluster is None:
        warn_unclustered(df, what, stacklevel + 1)
        return None
    if cluster is False:
        return None
    if not isinstance(cluster, str):
        raise SurvivalInputError(f"cluster must be a column name, False or None, not {cluster!r}")
    if cluster not in df.columns:
        raise SurvivalInputError(f"cluster column '{cluster}' is not in the data")
    if df[cluster].isna().any():
        raise SurvivalInputError(f"cluster column '{cluster}' has missing values")
    return pd.factorize(df[cluster])[0]


def collapse(values: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """Sum the rows of ``values`` (n,) or (n, k) within clusters; unchanged without clusters.

    Examples
    --------
    >>> collapse(np.array([1.0, 2.0, 4.0]), np.array([0, 1, 0])).tolist()
    [5.0, 2.0]
    """
    if codes is None:
        return values
    size = int(codes.max()) + 1 if len(codes) else 0
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=size)
    return np.column_stack([np.bincount(codes, weights=values[:, k], minlength=size)
                            for k in range(values.shape[1])]).reshape(size, values.shape[1])
