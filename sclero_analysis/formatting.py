"""Numbers as journals print them: p-values, ratios with confidence intervals, n (%).

One place for these rules so that figures, tables and the report never disagree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pandas as pd

#: A summary index naming one level of a term: ``tier[cytoreduction]``.
LEVEL = re.compile(r"^(?P<term>[^\[]+)\[(?P<level>.+)\]$")


def format_p(p: float, prefix: bool = False) -> str:
    """Format a p-value to journal conventions.

    ``< 0.001`` below 0.001; three decimals below 0.1 (so 0.048 and 0.052 stay apart); two
    decimals from 0.1; ``> 0.99`` above 0.99. NaN gives an empty string.

    Parameters
    ----------
    p : float
    prefix : bool
        Write ``p = 0.012`` / ``p < 0.001`` instead of the bare number.

    Examples
    --------
    >>> [format_p(p) for p in (0.0004, 0.0123, 0.0496, 0.25, 0.996)]
    ['< 0.001', '0.012', '0.050', '0.25', '> 0.99']
    >>> format_p(0.0004, prefix=True)
    'p < 0.001'
    """
    if p is None or not math.isfinite(p):
        return ""
    if p < 0.001:
        text = "< 0.001"
    elif p > 0.99:
        text = "> 0.99"
    elif p < 0.1:
        text = f"{p:.3f}"
    else:
        text = f"{p:.2f}"
    if not prefix:
        return text
    return f"p {text}" if text[0] in "<>" else f"p = {text}"


def format_ratio_ci(estimate: float, lower: float, upper: float, decimals: int = 2) -> str:
    """Format a ratio and its interval as ``0.68 (0.51–0.91)`` (en dash, no spaces).

    Examples
    --------
    >>> format_ratio_ci(0.6812, 0.5077, 0.9141)
    '0.68 (0.51–0.91)'
    """
    if not math.isfinite(estimate):
        return ""
    return f"{estimate:.{decimals}f} ({lower:.{decimals}f}–{upper:.{decimals}f})"


def format_median(median: float, lower: float | None = None, upper: float | None = None,
                  decimals: int = 1) -> str:
    """Format a median survival (or follow-up) time and its interval; NaN is "not reached".

    A median the curve never reaches is NaN (R's NA): it is written "not reached", and a
    limit that is NaN (not reached) is written "NR". Without limits (None) only the median
    is written.

    Examples
    --------
    >>> format_median(14.23, 10.1, 18.04)
    '14.2 (10.1–18.0)'
    >>> format_median(14.23, 10.1, float("nan")), format_median(float("nan"), 10.1, float("nan"))
    ('14.2 (10.1–NR)', 'not reached (10.1–NR)')
    >>> format_median(61.0, float("nan"), float("nan")), format_median(float("nan"))
    ('61.0 (NR–NR)', 'not reached')
    """
    def text(value: float | None) -> str:
        return f"{value:.{decimals}f}" if value is not None and math.isfinite(value) else "NR"

    shown = "not reached" if text(median) == "NR" else text(median)
    if lower is None and upper is None:
        return shown
    return f"{shown} ({text(lower)}–{text(upper)})"


def _from_compare_table(table: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, dict]]:
    out = {}
    for method, rows in table.groupby("method", sort=False):
        summary = rows.set_index(rows["tier"].map(lambda t: f"tier[{t}]"))
        out[str(method)] = (summary, {"tier": str(rows["reference"].iloc[0])})
    return out


def _one(obj) -> tuple[pd.DataFrame, dict]:
    if isinstance(obj, pd.DataFrame):
        return obj, {}
    design = getattr(obj, "design", None)
    return obj.summary, dict(getattr(design, "reference", {}) or {})


def regression_models(results) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Normalise regression results to ``{name: (summary, reference levels)}``.

    ``results`` is a result with ``.summary`` (and ``.design.reference``), a summary
    DataFrame, a dict of either (several models side by side), or a ``compare_tiers`` table
    (one model per ``method``).
    """
    if isinstance(results, pd.DataFrame) and "method" in results.columns:
        return _from_compare_table(results)
    if isinstance(results, Mapping):
        return {str(k): _one(v) for k, v in results.items()}
    return {"": _one(results)}


def _counts(obj) -> pd.DataFrame | None:
    counts = getattr(obj, "counts", None)
    if isinstance(counts, pd.DataFrame):
        return counts[["n", "events"]]
    summary = obj if isinstance(obj, pd.DataFrame) else getattr(obj, "summary", None)
    if isinstance(summary, pd.DataFrame) and {"n", "events"} <= set(summary.columns):
        return summary[["n", "events"]]
    return None


def model_counts(results) -> dict[str, pd.DataFrame | None]:
    """Rows and events per term of each model, keyed as :func:`regression_models`.

    Each value is a frame indexed by ``term[level]`` (the reference level included, e.g.
    ``tier[ivig]``, when the result has ``.counts``) or by column name, with ``n, events``;
    None for a model that carries no counts (a summary without ``n``/``events`` columns, a
    ``compare_tiers`` table). A reference row of :func:`term_rows` (index None, term ``t``,
    label ``"<level> (reference)"``) reads its counts at ``f"{t}[{level}]"``.

    Examples
    --------
    >>> s = pd.DataFrame({"hr": [2.0], "n": [10], "events": [4]}, index=["tier[b]"])
    >>> model_counts(s)[""].loc["tier[b]", "events"]
    np.int64(4)
    """
    if isinstance(results, pd.DataFrame) and "method" in results.columns:
        return {str(method): None for method in results["method"].unique()}
    if isinstance(results, Mapping):
        return {str(k): _counts(v) for k, v in results.items()}
    return {"": _counts(results)}


def term_rows(models: dict[str, tuple[pd.DataFrame, dict]]) -> list[tuple[str, str | None, str]]:
    """Display rows of regression terms: ``(label, summary index or None, term)``.

    A categorical term shows its reference level first (index None) and then one row per
    level, labelled by the level; a yes/no covariate (``neuro[True]``) is one row labelled by
    the covariate; a continuous term is one row.

    Examples
    --------
    >>> s = pd.DataFrame(index=["tier[b]", "tier[c]", "neuro[True]", "mrss"])
    >>> term_rows({"": (s, {"tier": "a"})})[:2]
    [('a (reference)', None, 'tier'), ('b', 'tier[b]', 'tier')]
    >>> [label for label, _, _ in term_rows({"": (s, {"tier": "a"})})][2:]
    ['c', 'neuro', 'mrss']
    """
    rows, seen_terms = [], set()
    references = {}
    for _, refs in models.values():
        references.update(refs)
    for summary, _ in models.values():
        for index in summary.index:
            match = LEVEL.match(str(index))
            term = match["term"] if match else str(index)
            binary = bool(match) and match["level"] == "True"  # a yes/no covariate: one row
            if match and not binary and term not in seen_terms and term in references:
                rows.append((f"{references[term]} (reference)", None, term))
            seen_terms.add(term)
            label = term if binary or not match else match["level"]
            if (label, str(index), term) not in rows:
                rows.append((label, str(index), term))
    return rows


def conf_level_of(results) -> float:
    """Return the confidence level regression results were fitted with (0.95 when they do not say).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> conf_level_of({"a": SimpleNamespace(conf_level=0.9)}), conf_level_of(pd.DataFrame())
    (0.9, 0.95)
    """
    found = {getattr(r, "conf_level", None) for r in
             (results.values() if isinstance(results, Mapping) else [results])} - {None}
    if len(found) > 1:
        raise ValueError(f"models with different confidence levels {sorted(found)} cannot share a table")
    return float(found.pop()) if found else 0.95
