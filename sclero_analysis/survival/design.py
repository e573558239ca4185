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
from sclero_analysis.survival.inputs import SurvivalInputError, level_order


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


#: Names a formula may use besides columns: patsy's functions and numpy.
_FORMULA_WORDS = frozenset({"C", "Q", "I", "np", "center", "standardize", "scale", "bs", "cr",
                            "cc", "te", "Treatment", "Sum", "Poly", "Diff", "Helmert", "log",
                            "exp", "sqrt", "True", "False", "None"})
_QUOTED = re.compile(r"""(["'])(.*?)\1""")


def _bounded(name: str) -> str:
    """Regex for ``name`` as a whole word (not part of a longer name, dotted or not)."""
    return r"(?<![\w.])" + re.escape(name) + r"(?![\w.])"


def _used_columns(df: pd.DataFrame, formula: str) -> list[str]:
    return [c for c in df.columns if isinstance(c, str) and re.search(_bounded(c), formula)]


def _check_names(df: pd.DataFrame, formula: str) -> None:
    """Name the first word of the formula that is neither a column nor a formula function."""
    bare = _QUOTED.sub(" ", formula)
    for match in re.finditer(r"(?<![\w.])[A-Za-z_][\w.]*", bare):
        word, after = match.group(0), bare[match.end():].lstrip()
        if word in df.columns or word in _FORMULA_WORDS or word.split(".")[0] in _FORMULA_WORDS:
            continue
        if after.startswith("(") or (after.startswith("=") and not after.startswith("==")):
            continue  # a function or a keyword argument
        if any(isinstance(c, str) and c in formula for c in df.columns if word in c):
            continue  # part of a column name with spaces or symbols
        columns = ", ".join(map(str, df.columns))
        raise SurvivalInputError(f"'{word}' in the formula is not a column of the data "
                                 f"(columns: {columns})")


def quote_names(df: pd.DataFrame, formula: str) -> str:
    """Quote the columns whose names patsy cannot read bare (dots, spaces…) as ``Q("name")``.

    Examples
    --------
    >>> quote_names(pd.DataFrame(columns=["ph.ecog", "age"]), "ph.ecog + age")
    'Q("ph.ecog") + age'
    """
    special = sorted((c for c in df.columns if isinstance(c, str) and not c.isidentifier()),
                     key=len, reverse=True)
    if not special:
        return formula
    pattern = "|".join(r"(?<![\w.\"'])" + re.escape(c) + r"(?![\w.\"'])" for c in special)
    return re.sub(pattern, lambda m: f'Q("{m.group(0)}")', formula)


def _checked(values: pd.Series, column: str, stacklevel: int) -> pd.Series:
    """Return the column with unused categories dropped (and announced); missing values raise."""
    numpy_kind = values.dtype.kind if isinstance(values.dtype, np.dtype) else "other"
    if numpy_kind in "iub":  # numpy ints and booleans cannot be missing
        missing = np.zeros(len(values), bool)
    elif numpy_kind == "f":
        missing = np.isnan(values.to_numpy())
    else:
        missing = values.isna().to_numpy()
    if missing.any():
        rows = ", ".join(map(str, values.index[missing][:5]))
        raise SurvivalInputError(
            f"covariate '{column}' is missing in {int(missing.sum())} rows ({rows}"
            f"{' …' if missing.sum() > 5 else ''}); impute it or drop those rows explicitly"
        )
    if isinstance(values.dtype, pd.CategoricalDtype):
        used = np.bincount(values.array.codes, minlength=len(values.dtype.categories)) > 0
        if not used.all():
            unused = list(values.cat.categories[~used])
            warnings.warn(f"'{column}' levels {unused} have no rows and are left out of the model",
                          SmallSampleWarning, stacklevel=stacklevel + 1)
            return values.cat.remove_unused_categories()
    return values


def _prepared(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Copy of the used columns with unused categories dropped (and announced)."""
    data = df[columns].copy()
    for column in columns:
        checked = _checked(data[column], column, stacklevel=5)
        if checked is not data[column]:
            data[column] = checked
    return data


def _unquote(name: str) -> str:
    return re.sub(r"""Q\((["'])(.*?)\1\)""", r"\2", name)


def _clean_name(name: str) -> str:
    return re.sub(r"^C\((\w+)[^)]*\)", r"\1", _unquote(name)).replace("[T.", "[")


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
        patsy formula without a response, e.g. ``"tier + age_at_diagnosis_years"``. Column
        names patsy cannot read bare (``ph.ecog``, ``wt loss``) are quoted automatically.

    Returns
    -------
    Design

    Notes
    -----
    A formula that is a plain sum of column names (numbers, yes/no, text or categorical
    columns with at least two levels present) is built directly (:func:`plain_design`), with
    patsy's columns, names and order; any other formula (interactions, ``C()``, functions) goes
    through patsy.

    Raises
    ------
    SurvivalInputError
        A name in the formula is not a column (the error names it); a used column has missing
        values; columns are constant or collinear.

    Examples
    --------
    >>> df = pd.DataFrame({"tier": pd.Categorical(["b", "a", "b"], categories=["b", "a"]),
    ...                    "age": [50.0, 60.0, 70.0]})
    >>> design_matrix(df, "tier + age").columns
    ['tier[a]', 'age']
    """
    if "~" in formula:
        formula = formula.split("~", 1)[1]
    plain = plain_terms(df, formula)
    if plain is None:
        return _patsy_design(df, formula)
    checked = {name: _checked(plain[name], name, stacklevel=3)  # in the data's order, as patsy's
               for name in sorted(plain, key=df.columns.get_loc)}
    return plain_design({name: checked[name] for name in plain})


def _patsy_design(df: pd.DataFrame, formula: str) -> Design:
    """Build the design of any formula with patsy."""
    _check_names(df, formula)
    data = _prepared(df, _used_columns(df, formula))
    try:
        matrix = patsy.dmatrix(f"{quote_names(df, formula)} + 1", data, NA_action="raise",
                               return_type="dataframe")
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
        column = _unquote(term)
        kind = data[column].dtype if column in data.columns else None
        if kind is not None and (pd.api.types.is_bool_dtype(kind) or not pd.api.types.is_numeric_dtype(kind)):
            reference[name] = str(level_order(data[column])[0])
    x = matrix.to_numpy(dtype=float)[:, 1:]
    columns = columns[1:]
    _check_rank(x, columns)
    return Design(x, columns, terms, reference)


_PLAIN_NAME = re.compile(r"[A-Za-z_][\w. ]*")


def _plain_kind(values: pd.Series) -> str | None:
    """``numeric`` or ``categorical`` for a column patsy codes plainly, None otherwise.

    None also for a categorical with fewer than two levels present (patsy decides).
    """
    kind = values.dtype
    if isinstance(kind, pd.CategoricalDtype):
        if kind.categories.inferred_type != "string":
            return None
        codes = values.array.codes
        present = np.bincount(codes[codes >= 0], minlength=len(kind.categories)) > 0
        return "categorical" if present.sum() >= 2 else None
    if not isinstance(kind, np.dtype):  # nullable and other extension types: leave to patsy
        return None
    if kind.kind in "iuf":
        return "numeric"
    if kind.kind == "b" or (kind.kind == "O" and pd.api.types.infer_dtype(values) == "string"):
        return "categorical" if values.nunique() >= 2 else None
    return None


def plain_terms(df: pd.DataFrame, formula: str) -> dict[str, pd.Series] | None:
    """Columns of a formula that is a plain sum of column names, else None (patsy's job).

    Examples
    --------
    >>> df = pd.DataFrame({"age": [50.0, 60.0], "sex": ["F", "M"]})
    >>> list(plain_terms(df, "age + sex + age"))
    ['age', 'sex']
    >>> plain_terms(df, "age * sex") is None
    True
    """
    names = [part.strip() for part in formula.split("+")]
    if not all(_PLAIN_NAME.fullmatch(name) and name in df.columns for name in names):
        return None
    if not df.columns.is_unique:
        return None
    columns = {name: df[name] for name in dict.fromkeys(names)}  # each read once (attrs copied)
    return None if any(_plain_kind(v) is None for v in columns.values()) else columns


def _levels_and_codes(values: pd.Series) -> tuple[list, np.ndarray]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.dtype.categories), values.array.codes
    levels = level_order(values)
    return levels, pd.Categorical(values, categories=levels).codes


def plain_design(columns: dict[str, pd.Series]) -> Design:
    """Build the design of a sum of columns as patsy does (with an intercept, then dropped).

    Categorical columns (text, yes/no or categorical; their unused categories already
    dropped) come first in formula order, each treatment-coded against its first level
    (``level_order``); numeric columns follow in formula order, as patsy orders terms.

    Raises
    ------
    SurvivalInputError
        Columns are constant or collinear.

    Examples
    --------
    >>> d = plain_design({"age": pd.Series([50.0, 60, 70]), "sex": pd.Series(["F", "M", "M"])})
    >>> d.columns, d.reference
    (['sex[M]', 'age'], {'sex': 'F'})
    """
    categorical = [n for n, v in columns.items()
                   if not (isinstance(v.dtype, np.dtype) and v.dtype.kind in "iuf")]
    numeric = [n for n in columns if n not in categorical]
    blocks, names, terms, reference = [], [], {}, {}
    for name in categorical:
        levels, codes = _levels_and_codes(columns[name])
        terms[name] = list(range(len(names), len(names) + len(levels) - 1))
        names += [f"{name}[{level}]" for level in levels[1:]]
        reference[name] = str(levels[0])
        blocks.append(codes[:, None] == np.arange(1, len(levels)))
    for name in numeric:
        terms[name] = [len(names)]
        names.append(name)
        blocks.append(columns[name].to_numpy(dtype=float)[:, None])
    x = np.hstack(blocks).astype(float)
    _check_rank(x, names)
    return Design(x, names, terms, reference)
