"""What Table 1 shows of one characteristic: summaries, standardised differences and tests."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats


def standardized_difference(a: pd.Series, b: pd.Series, categorical: bool) -> float:
    """Absolute standardised difference between two groups (tableone's definitions).

    Continuous: |m₁ − m₂| / √((s₁² + s₂²) / 2) with sample variances. Categorical (Yang &
    Dalton 2012): √(Tᵀ S⁻¹ T) with T the differences in level proportions (first level
    dropped) and S the average of the two multinomial covariance matrices; for two levels
    this is |p₁ − p₂| / √((p₁(1 − p₁) + p₂(1 − p₂)) / 2). Missing values are left out.

    Examples
    --------
    >>> round(standardized_difference(pd.Series([1., 2, 3]), pd.Series([2., 3, 4]), False), 4)
    1.0
    >>> x, y = pd.Series(list("aab")), pd.Series(list("abb"))
    >>> round(standardized_difference(x, y, True), 4)   # |2/3 − 1/3| / √(2/9)
    0.7071
    """
    a, b = a.dropna(), b.dropna()
    if len(a) == 0 or len(b) == 0:
        return math.nan
    if not categorical:
        va, vb = (a.var(ddof=1) if len(a) > 1 else 0.0), (b.var(ddof=1) if len(b) > 1 else 0.0)
        diff = abs(float(a.mean()) - float(b.mean()))
        denominator = math.sqrt((va + vb) / 2)
        return diff / denominator if denominator > 0 else (0.0 if diff == 0 else math.inf)
    levels = sorted(set(a.astype(str)) | set(b.astype(str)))
    if len(levels) < 2:
        return 0.0
    pa = a.astype(str).value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()[1:]
    pb = b.astype(str).value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()[1:]
    t = pa - pb

    def cov(p):
        return np.diag(p) - np.outer(p, p)

    s = (cov(pa) + cov(pb)) / 2
    value = float(t @ np.linalg.pinv(s) @ t)  # Moore-Penrose inverse, as tableone's MASS::ginv
    return math.sqrt(max(value, 0.0))


def kind_of(values: pd.Series) -> str:
    """Return ``binary`` (bool), ``continuous`` (numeric) or ``categorical``."""
    if pd.api.types.is_bool_dtype(values):
        return "binary"
    if pd.api.types.is_numeric_dtype(values):
        return "continuous"
    return "categorical"


#: What a table shows for a statistic that is not defined (the SD of one value, an SMD without one).
UNDEFINED = "–"


def continuous_cell(x: pd.Series, nonnormal: bool, decimals: int) -> str:
    """Return mean (SD), or median [Q1, Q3] with R's type-7 quantiles, of the non-missing values."""
    x = x.dropna()
    if len(x) == 0:
        return ""
    if nonnormal:
        q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])  # R's type 7, as tableone
        return f"{med:.{decimals}f} [{q1:.{decimals}f}, {q3:.{decimals}f}]"
    if len(x) == 1:  # no SD from a single value (R's tableone prints NA)
        return f"{x.mean():.{decimals}f} ({UNDEFINED})"
    return f"{x.mean():.{decimals}f} ({x.std(ddof=1):.{decimals}f})"


def p_value(values: pd.Series, groups: pd.Series, levels: list, kind: str, nonnormal: bool) -> float:
    """Return the p-value of a difference between groups (ANOVA, Kruskal–Wallis or χ², as R)."""
    parts = [values[groups == g].dropna() for g in levels]
    parts = [p for p in parts if len(p)]
    if len(parts) < 2:
        return math.nan
    if kind == "continuous":
        test = stats.kruskal if nonnormal else stats.f_oneway  # R: kruskal.test / oneway.test(var.equal=TRUE)
        return float(test(*parts).pvalue)
    table = pd.crosstab(values.astype(str), groups).reindex(columns=levels, fill_value=0)
    table = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return math.nan
    return float(stats.chi2_contingency(table.to_numpy(), correction=True).pvalue)  # R's chisq.test


def mean_smd(values: pd.Series, groups: pd.Series, levels: list, categorical: bool) -> float:
    """Return the SMD of two groups, or its mean over every pair of more groups (as tableone)."""
    pairs = list(combinations(levels, 2))
    smds = [standardized_difference(values[groups == a], values[groups == b], categorical) for a, b in pairs]
    smds = [s for s in smds if not math.isnan(s)]
    return float(np.mean(smds)) if smds else math.nan  # tableone: mean over pairs with > 2 groups
