"""Regression design matrices from formulas such as ``"tier + age_at_diagnosis_years + mrss"``.

Categorical covariates use treatment coding with the **first category as reference** (the
user's order, e.g. ``ivig`` for ``tier``); unused categories are dropped with a warning;
missing values and collinear columns are errors naming the rows or columns, never silently
dropped.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy
from scipy import linalg

from sclero_analysis.exceptions import SmallSampleWarning
from sclero_analysis.survival.inputs import SurvivalInputError


@dataclass(frozen=True)
class Design:
    """A design matrix and how its columns group into formula terms.

    Attributes
    ----------
    matrix : numpy.ndarray
        n × p covariate matrix (no intercept).
    columns : list of str
        Column names, ``tier[immunosuppression]`` for a level of a categorical.
    terms : dict of str to list of int
        Term → its column positions (a categorical is one multi-column term).
    reference : dict of str to str
        Categorical term → its reference level.
    """

    matrix: np.ndarray
    columns: list[str]
    terms: dict[str, list[int]]
    reference: dict[str, str]


def _used_columns(df: pd.DataFrame, formula: str) -> list[str]:
    tokens = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", formula))
    return [c for c in df.columns if c in tokens]


def _prepared(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Copy of the used columns with unused categories dropped (and announced)."""
    data = df[columns].copy()
    for column in columns:
        missing = data[column].isna()
        if missing.any():
            rows = ", ".join(map(str, data.index[missing][:5]))
            raise SurvivalInputError(
                f"covariate '{column}' is missing in {int(missing.sum())} rows ({rows}"
                f"{' …' if missing.sum() > 5 else ''}); impute it or drop those rows explicitly"
            )
        if isinstance(data[column].dtype, pd.CategoricalDtype):
            unused = [c for c in data[column].cat.categories if not (data[column] == c).any()]
            if unused:
                warnings.warn(f"'{column}' levels {unused} have no rows and are left out of the model",
                              SmallSampleWarning, stacklevel=4)
                data[column] = data[column].cat.remove_unused_categories()
    return data


def _clean_name(name: str) -> str:
    return re.sub(r"^C\((\w+)[^)]*\)", r"\1", name).replace("[T.", "[")


def _check_rank(matrix: np.ndarray, columns: list[str]) -> None:
    centred = matrix - matrix.mean(axis=0)
    constant = [c for c, sd in zip(columns, centred.std(axis=0), strict=True) if sd == 0]
    if constant:
        raise SurvivalInputError(f"covariates {constant} are constant in these data; drop them")
    _, r, pivot = linalg.qr(centred, mode="economic", pivoting=True)
    tolerance = abs(r[0, 0]) * max(matrix.shape) * np.finfo(float).eps * 1e3
    rank = int(np.sum(np.abs(np.diag(r)) > tolerance))
    if rank < len(columns):
        dependent = [columns[i] for i in pivot[rank:]]
        raise SurvivalInputError(
            f"covariates are collinear: {dependent} are linear combinations of the others; "
            "drop them from the formula"
        )


def design_matrix(df: pd.DataFrame, formula: str) -> Design:
    """Build the covariate matrix of a regression formula (right-hand side only).

    Parameters
    ----------
    df : pandas.DataFrame
        The data.
    formula : str
        patsy formula without a response, e.g. ``"tier + age_at_diagnosis_years"``.

    Returns
    -------
    Design

    Raises
    ------
    SurvivalInputError
        A name in the formula is not a column; a used column has missing values; columns are
        constant or collinear.

    Examples
    --------
    >>> df = pd.DataFrame({"tier": pd.Categorical(["b", "a", "b"], categories=["b", "a"]),
    ...                    "age": [50.0, 60.0, 70.0]})
    >>> design_matrix(df, "tier + age").columns
    ['tier[a]', 'age']
    """
    if "~" in formula:
        formula = formula.split("~", 1)[1]
    data = _prepared(df, _used_columns(df, formula))
    try:
        matrix = patsy.dmatrix(f"{formula} + 1", data, NA_action="raise", return_type="dataframe")
    except patsy.PatsyError as error:
        raise SurvivalInputError(f"cannot build the formula '{formula.strip()}': {error}") from None
    info = matrix.design_info
    columns = [_clean_name(c) for c in info.column_names]
    terms, reference = {}, {}
    for term, span in info.term_name_slices.items():
        if term == "Intercept":
            continue
        name = _clean_name(term)
        terms[name] = [i - 1 for i in range(span.start, span.stop)]
        kind = data[term].dtype if term in data.columns else None
        if kind is not None and (pd.api.types.is_bool_dtype(kind) or not pd.api.types.is_numeric_dtype(kind)):
            levels = data[term].cat.categories if isinstance(data[term].dtype, pd.CategoricalDtype) \
                else sorted(pd.unique(data[term]))
            reference[name] = str(levels[0])
    x = matrix.to_numpy(dtype=float)[:, 1:]
    columns = columns[1:]
    _check_rank(x, columns)
    return Design(x, columns, terms, reference)
