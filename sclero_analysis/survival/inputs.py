"""Checked inputs for survival estimators: columns, times, event codes, groups, weights.

Every estimator takes a DataFrame plus column names and turns it into a
:class:`SurvivalData` here, so that a missing column, a negative time or an unknown event code
gives the same clear error everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from sclero_analysis.exceptions import ScleroError

#: Default column names, matching the analysis frames of :mod:`sclero_analysis.cohort`.
TIME, EVENT, GROUP, CAUSE = "time_months", "event", "tier", 1
#: R's tolerance for merging floating-point near-ties (``aeqSurv``).
TIE_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


#: The one group of every row when no group column is used (built once: cheaper per call).
_ONE_GROUP = pd.CategoricalDtype(["all"])


class SurvivalInputError(ScleroError, ValueError):
    """The data given to a survival function cannot be analysed as asked."""


def merge_near_ties(times: np.ndarray, tolerance: float = TIE_TOLERANCE) -> np.ndarray:
    """Merge times closer than ``tolerance`` into one tied time, as R's ``aeqSurv`` does.

    Parameters
    ----------
    times : numpy.ndarray
        Finite times.
    tolerance : float
        Absolute, or relative to the mean absolute time (whichever merges).

    Returns
    -------
    numpy.ndarray
        Times with each run of near-ties replaced by its smallest member.

    Examples
    --------
    >>> merge_near_ties(np.array([1.0, 1.0 + 1e-12, 2.0])).tolist()
    [1.0, 1.0, 2.0]
    """
    unique = np.unique(times)
    if len(unique) < 2:
        return times
    gaps = np.diff(unique)
    tied = (gaps <= tolerance) | (gaps / np.mean(np.abs(unique)) <= tolerance)
    if not tied.any():
        return times
    cuts = unique[np.concatenate([[True], ~tied])]
    return cuts[np.searchsorted(cuts, times, side="right") - 1]


@dataclass(frozen=True)
class SurvivalData:
    """Arrays ready for estimation, one entry per row of the caller's frame.

    Attributes
    ----------
    time : numpy.ndarray
        Follow-up times (near-ties merged as R does).
    status : numpy.ndarray
        Integer event codes as given (0 censored).
    weight : numpy.ndarray
        Case weights (1 when none were given).
    group : pandas.Categorical
        Group of each row (one level ``"all"`` when no group column is used).
    cause : int
        The event code of interest.
    cluster : numpy.ndarray or None
        Integer cluster of each row (a patient's lines share one), None for independent rows.
    """

    time: np.ndarray
    status: np.ndarray
    weight: np.ndarray
    group: pd.Categorical
    cause: int
    cluster: np.ndarray | None = None

    @property
    def is_event(self) -> np.ndarray:
        """True where the row has the event of interest (other codes: censored or competing)."""
        return self.status == self.cause

    def subset(self, mask: np.ndarray) -> SurvivalData:
        """Return the rows where ``mask`` is True."""
        return SurvivalData(self.time[mask], self.status[mask], self.weight[mask],
                            self.group[mask], self.cause,
                            None if self.cluster is None else self.cluster[mask])

    @cached_property
    def ranks(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct times (increasing) and each row's index among them (one sort, kept)."""
        return np.unique(self.time, return_inverse=True)

    @property
    def integer_weights(self) -> bool:
        """True when every weight is a whole number (frequency weights, as R's test)."""
        return bool(np.all(self.weight == np.floor(self.weight)))


def _column(df: pd.DataFrame, name: str, role: str) -> pd.Series:
    if name not in df.columns:
        raise SurvivalInputError(
            f"{role} column '{name}' is not in the data (columns: {', '.join(map(str, df.columns))})"
        )
    return df[name]


def _rows(mask: pd.Series) -> str:
    labels = mask.index[mask.to_numpy()].tolist()
    return ", ".join(map(str, labels[:5])) + (" …" if len(labels) > 5 else "")


def _numbers(df: pd.DataFrame, name: str, role: str) -> np.ndarray:
    """Return the column as floats, NaN where an entry is missing or not a number.

    A column of numpy ints or floats (the analysis frames') is read without conversion; any
    other (text, nullable, object) goes through ``pandas.to_numeric``.
    """
    column = _column(df, name, role)
    if column.dtype.kind in "iuf":
        return column.to_numpy(dtype=float)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _bad_rows(df: pd.DataFrame, bad: np.ndarray) -> str:
    return _rows(pd.Series(bad, index=df.index))


def _times(df: pd.DataFrame, time: str) -> np.ndarray:
    values = _numbers(df, time, "time")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise SurvivalInputError(
            f"time column '{time}' has missing, non-finite or negative values at rows "
            f"{_bad_rows(df, bad)}; fix or drop those rows explicitly"
        )
    return merge_near_ties(values)


def _status(df: pd.DataFrame, event: str, cause: int) -> np.ndarray:
    values = _numbers(df, event, "event")
    with np.errstate(invalid="ignore"):
        bad = np.isnan(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        raise SurvivalInputError(f"event column '{event}' must hold whole codes >= 0 "
                                 f"(0 = censored); rows {_bad_rows(df, bad)} do not")
    if cause == 0:
        raise SurvivalInputError("cause must be a non-zero event code (0 means censored)")
    return values.astype("int64")


def _weights(df: pd.DataFrame, weights: str | None) -> np.ndarray:
    if weights is None:
        return np.ones(len(df))
    values = _numbers(df, weights, "weights")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise SurvivalInputError(f"weights column '{weights}' has missing, infinite or negative "
                                 f"values at rows {_bad_rows(df, bad)}")
    return values


def level_order(values: pd.Series) -> list:
    """Order a grouping's levels by the package's one rule.

    A categorical keeps its categories' order (its first category is the reference); any
    other column is sorted (numbers numerically, text alphabetically), so that the order, and
    every number that depends on it, never depends on the order of the rows.

    Examples
    --------
    >>> level_order(pd.Series(["b", "a", "b"]))
    ['a', 'b']
    >>> level_order(pd.Series(pd.Categorical(["b", "a"], categories=["b", "a"])))
    ['b', 'a']
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    present = pd.unique(values.dropna().to_numpy())
    try:
        return sorted(present)
    except TypeError:  # mixed types: order by their text
        return sorted(present, key=str)


def _groups(df: pd.DataFrame, group: str | None) -> pd.Categorical:
    if group is None:
        return pd.Categorical.from_codes(np.zeros(len(df), dtype=np.int8), dtype=_ONE_GROUP,
                                         validate=False)
    values = _column(df, group, "group")
    if values.isna().any():
        raise SurvivalInputError(
            f"group column '{group}' is missing at rows {_rows(values.isna())}; drop them or give "
            "them a level explicitly"
        )
    if isinstance(values.dtype, pd.CategoricalDtype):  # its categories are the order already
        return values.array.copy()
    return pd.Categorical(values, categories=level_order(values))


def survival_data(
    df: pd.DataFrame,
    *,
    time: str = TIME,
    event: str = EVENT,
    group: str | None = GROUP,
    cause: int = CAUSE,
    weights: str | None = None,
    cluster: np.ndarray | None = None,
) -> SurvivalData:
    """Check and extract the columns a survival estimator needs.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per subject (or interval); not modified.
    time, event : str
        Follow-up time (any unit, ≥ 0) and event code (0 censored, 1, 2 … event types).
    group : str or None
        Grouping column; a categorical keeps its level order, other columns' levels are sorted
        (:func:`level_order`).
    cause : int
        Event code of interest.
    weights : str, optional
        Column of non-negative case weights.
    cluster : numpy.ndarray, optional
        Integer cluster of each row (from :func:`~sclero_analysis.survival.clusters.cluster_codes`).

    Returns
    -------
    SurvivalData

    Raises
    ------
    SurvivalInputError
        A column is missing; times are missing, infinite or negative; event codes are not
        whole numbers ≥ 0; groups are missing; weights are invalid; the frame is empty.
    """
    if len(df) == 0:
        raise SurvivalInputError("the data has no rows")
    return SurvivalData(
        time=_times(df, time), status=_status(df, event, cause), weight=_weights(df, weights),
        group=_groups(df, group), cause=cause, cluster=cluster,
    )


def start_stop(df: pd.DataFrame, time: str | tuple[str, str]) -> tuple[np.ndarray | None, str]:
    """Split ``time`` into (start values or None, stop column)."""
    if isinstance(time, str):
        return None, time
    start, stop = time
    if start not in df.columns:
        raise SurvivalInputError(f"start column '{start}' is not in the data")
    values = pd.to_numeric(df[start], errors="coerce")
    if values.isna().any() or not np.isfinite(values).all():
        raise SurvivalInputError(f"start column '{start}' has missing or non-finite values")
    return values.to_numpy(float), stop


def strata_codes(df: pd.DataFrame, strata: str | list[str] | None) -> np.ndarray | None:
    """Integer stratum of each row (one or several columns); None without strata.

    Raises ``SurvivalInputError`` naming a missing column or missing values.
    """
    if strata is None:
        return None
    names = [strata] if isinstance(strata, str) else list(strata)
    missing = [s for s in names if s not in df.columns]
    if missing:
        raise SurvivalInputError(f"strata columns {missing} are not in the data")
    if df[names].isna().any().any():
        raise SurvivalInputError(f"strata columns {names} have missing values")
    return df[names].astype(str).agg("|".join, axis=1).factorize(sort=True)[0]
