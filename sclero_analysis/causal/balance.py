"""Covariate balance between treatment levels, before and after weighting, as cobalt computes it.

* Weighted means per level, difference ``m_a − m_b`` standardised by one denominator per
  covariate computed **without** the balancing weights, so the same denominator serves before and
  after weighting: ATE and ATO pool the variances of **all** levels, √(mean_k s_k²); ATT uses the
  focal level's SD. A zero or non-finite denominator falls back to the full sample's SD.
* Variances: continuous Σw̃(x − x̄)² / (1 − Σw̃²) with normalised weights w̃ (the n − 1 variance
  when unweighted); binary p(1 − p).
* Variance ratios (continuous covariates) are var(first level of the pair) / var(second).
* Effective sample size per level (Kish): (Σw)² / Σw².
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sclero_analysis.figures.balance import love_plot


@dataclass(frozen=True, eq=False)
class Balance:
    """Balance of covariates between treatment levels.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per covariate (a categorical expands to its levels) and pair of levels:
        ``covariate, type`` (``continuous``/``binary``), ``pair`` (``"a vs b"``: a − b),
        ``measure`` (``std``: standardised mean difference; ``raw``: difference in
        proportions), ``smd_before, smd_after, vr_before, vr_after`` (variance ratios of
        continuous covariates).
    ess : pandas.DataFrame
        Indexed by level: ``n``, ``ess_before`` (= n), ``ess_after`` (Kish's effective size).
    """

    summary: pd.DataFrame
    ess: pd.DataFrame

    @property
    def max_abs_smd(self) -> float:
        """Largest absolute difference after weighting."""
        return float(self.summary["smd_after"].abs().max())

    def plot(self, ax: Axes | None = None, threshold: float = 0.1, pair: str | None = None,
             labels: Mapping[str, str] | None = None) -> Axes:
        """Love plot: absolute SMDs before and after weighting (see :func:`figures.love_plot`)."""
        return love_plot(self, ax=ax, threshold=threshold, pair=pair, labels=labels)

    def __repr__(self) -> str:
        return (f"Balance({self.summary['covariate'].nunique()} covariates, "
                f"{self.summary['pair'].nunique()} pairs; max |SMD| before "
                f"{self.summary['smd_before'].abs().max():.3f}, after {self.max_abs_smd:.3f})")


def _is_binary(values: np.ndarray) -> bool:
    return bool(np.isin(values, (0.0, 1.0)).all())


def expand_covariates(covariates: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns for balance: booleans as 0/1, categories as one indicator per level.

    A two-level categorical becomes one indicator (its second level), as cobalt shows it.
    """
    columns = {}
    for name in covariates.columns:
        values = covariates[name]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            columns[name] = values.astype(float)
            continue
        levels = list(values.cat.categories) if isinstance(values.dtype, pd.CategoricalDtype) \
            else sorted(values.dropna().unique())
        levels = [lv for lv in levels if (values == lv).any()]
        for level in levels[1:] if len(levels) == 2 else levels:
            columns[f"{name}[{level}]"] = (values == level).astype(float)
    return pd.DataFrame(columns, index=covariates.index)


def _variance(x: np.ndarray, w: np.ndarray, binary: bool) -> float:
    mean = np.sum(w * x) / np.sum(w)
    if binary:
        return float(mean * (1 - mean))
    wn = w / np.sum(w)
    denominator = 1 - np.sum(wn**2)
    return float(np.sum(wn * (x - mean) ** 2) / denominator) if denominator > 0 else np.nan


def _denominator(x, codes, binary, estimand, focal_code, k) -> float:
    ones = np.ones(len(x))
    if estimand == "ATT":
        sd = np.sqrt(_variance(x[codes == focal_code], ones[codes == focal_code], binary))
    else:
        sd = np.sqrt(np.mean([_variance(x[codes == g], ones[codes == g], binary) for g in range(k)]))
    if not np.isfinite(sd) or sd == 0:
        sd = np.sqrt(_variance(x, ones, binary))
    return float(sd)


def _pairs(levels: list[str], estimand: str, focal: str | None) -> list[tuple[int, int]]:
    if estimand == "ATT":
        f = levels.index(focal)
        return [(f, g) for g in range(len(levels)) if g != f]
    return [(b, a) for a, b in combinations(range(len(levels)), 2)]


def _difference(x, codes, w, a, b, scale) -> float:
    ma = np.sum(w[codes == a] * x[codes == a]) / np.sum(w[codes == a])
    mb = np.sum(w[codes == b] * x[codes == b]) / np.sum(w[codes == b])
    diff = ma - mb
    return 0.0 if diff == 0 else float(diff / scale)


def _ratio(x, codes, w, a, b) -> float:
    va = _variance(x[codes == a], w[codes == a], False)
    vb = _variance(x[codes == b], w[codes == b], False)
    return va / vb if vb > 0 else np.nan


def _rows(name, x, codes, weights, levels, pairs, scale, binary, measure):
    ones = np.ones(len(x))
    for a, b in pairs:
        yield {
            "covariate": name, "type": "binary" if binary else "continuous",
            "pair": f"{levels[a]} vs {levels[b]}", "measure": measure,
            "smd_before": _difference(x, codes, ones, a, b, scale),
            "smd_after": _difference(x, codes, weights, a, b, scale),
            "vr_before": np.nan if binary else _ratio(x, codes, ones, a, b),
            "vr_after": np.nan if binary else _ratio(x, codes, weights, a, b),
        }


def _ess(codes: np.ndarray, w: np.ndarray, levels: list[str]) -> pd.DataFrame:
    rows = []
    for g, level in enumerate(levels):
        wg = w[codes == g]
        rows.append({"level": level, "n": len(wg), "ess_before": float(len(wg)),
                     "ess_after": float(wg.sum() ** 2 / np.sum(wg**2)) if len(wg) else np.nan})
    return pd.DataFrame(rows).set_index("level")


def balance_table(
    covariates: pd.DataFrame,
    treatment: pd.Series,
    weights: pd.Series,
    estimand: str = "ATE",
    focal: str | None = None,
    binary: Literal["std", "raw"] = "std",
) -> Balance:
    """Standardised differences, variance ratios and effective sizes before and after weighting.

    Parameters
    ----------
    covariates : pandas.DataFrame
        Covariate columns (numeric, boolean or categorical), aligned with ``treatment``.
    treatment : pandas.Series
        Treatment levels (categorical; the category order gives the pair order).
    weights : pandas.Series
        Balancing weights, aligned with ``treatment``.
    estimand : {"ATE", "ATT", "ATO"}
        Sets the denominator (pooled over all levels, or the focal level's SD for ATT) and the
        pairs (all pairs, or focal vs each other level for ATT).
    focal : str, optional
        Focal level for ATT.
    binary : {"std", "raw"}
        Binary covariates standardised (default) or as raw differences in proportions.

    Returns
    -------
    Balance

    Examples
    --------
    >>> tier = pd.Series(pd.Categorical(["a", "a", "b", "b"]))
    >>> x = pd.DataFrame({"age": [50.0, 60.0, 60.0, 70.0]})
    >>> b = balance_table(x, tier, pd.Series([1.0, 1.0, 1.0, 1.0]))
    >>> float(b.summary["smd_before"].iloc[0])  # (65 − 55) / √((50 + 50) / 2)
    1.414213562373095
    """
    levels = [str(c) for c in treatment.cat.categories]
    codes = treatment.cat.codes.to_numpy()
    w = np.asarray(weights, float)
    focal_code = levels.index(focal) if estimand == "ATT" else None
    pairs = _pairs(levels, estimand, focal)
    rows = []
    for name, column in expand_covariates(covariates).items():
        x = column.to_numpy(float)
        is_binary = _is_binary(x)
        raw = is_binary and binary == "raw"
        scale = 1.0 if raw else _denominator(x, codes, is_binary, estimand, focal_code, len(levels))
        rows += list(_rows(name, x, codes, w, levels, pairs, scale, is_binary, "raw" if raw else "std"))
    return Balance(pd.DataFrame(rows), _ess(codes, w, levels))
