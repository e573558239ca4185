"""Notebook 07's answer in words, computed from the pooled numbers.

Each sentence takes the numbers of :mod:`sclero_analysis.report.pooled` and
:mod:`sclero_analysis.report.source_types` and says what they show: whether the literature's
pooled response lies above or below the registry's, by how many percentage points and with
both intervals; whether case reports report more response than series, with the odds ratio,
its interval and p-value. When the numbers turn, so does the sentence.
"""

from __future__ import annotations

import pandas as pd

from sclero_analysis.formatting import format_p
from sclero_analysis.labels import value_label
from sclero_analysis.report.findings import ALPHA, count, evidence, finite, months
from sclero_analysis.report.source_types import PLURALS, SourceTypeRegression

#: The option that gives the report a literature, named wherever one is missing.
LITERATURE_HINT = ("pass --literature PATH (an extraction workbook written by `sclero-analysis "
                   "template literature`, or a folder of CSV files) to pool the published evidence")


def interval(p: float, lower: float, upper: float) -> str:
    """``"98% (86–100%)"``: a proportion with its interval.

    Examples
    --------
    >>> interval(0.982, 0.859, 0.998)
    '98% (86–100%)'
    """
    if not (finite(lower) and finite(upper)):
        return f"{100 * p:.0f}%"
    return f"{100 * p:.0f}% ({100 * lower:.0f}–{100 * upper:.0f}%)"


def tier_comparison(tier: str, row: pd.Series) -> str:
    """Compare one tier's pooled literature with the registry, in percentage points.

    Parameters
    ----------
    tier : str
    row : pandas.Series
        A row of :meth:`~sclero_analysis.report.pooled.PooledResponse.comparison`.

    Examples
    --------
    >>> row = pd.Series({"literature": 0.98, "literature_lower": 0.86, "literature_upper": 1.0,
    ...                  "registry": 0.6, "registry_lower": 0.52, "registry_upper": 0.68,
    ...                  "difference_pp": 38.0, "verdict": "higher"})
    >>> tier_comparison("ivig", row)[:71]
    'IVIG: literature 98% (86–100%), 38 percentage points above the registry'
    >>> tier_comparison("ivig", row)[71:]
    "'s 60% (52–68%), the intervals apart"
    """
    lit = interval(row["literature"], row["literature_lower"], row["literature_upper"])
    reg = interval(row["registry"], row["registry_lower"], row["registry_upper"])
    gap = float(row["difference_pp"])
    side = "above" if gap > 0 else "below"
    size = f"{abs(gap):.0f} percentage point{'' if round(abs(gap)) == 1 else 's'} {side}"
    if round(abs(gap)) == 0:
        size = "equal to"
    verdict = "the intervals apart" if row["verdict"] != "overlapping" else "but the intervals overlap"
    return f"{value_label(tier)}: literature {lit}, {size} the registry's {reg}, {verdict}"


def _headline(comparison: pd.DataFrame) -> str:
    higher = int((comparison["verdict"] == "higher").sum())
    lower = int((comparison["verdict"] == "lower").sum())
    above = int((comparison["difference_pp"] > 0).sum())
    tiers = count(len(comparison), "tier")
    if higher or lower:
        parts = [f"above the registry's in {higher}" if higher else "",
                 f"below it in {lower}" if lower else ""]
        return (f"the literature's pooled response interval lies {' and '.join(p for p in parts if p)} "
                f"of {tiers} compared")
    return (f"the literature's pooled response is higher than the registry's in {above} of {tiers} "
            f"and lower in {len(comparison) - above}, but every interval overlaps the registry's")


def design_sentence(regression: SourceTypeRegression, design: str = "case report",
                    alpha: float = ALPHA) -> str:
    """Say whether ``design`` reports more response than the reference design, adjusted for tier.

    Examples
    --------
    >>> coefficients = pd.DataFrame({"odds_ratio": [3.0], "or_lower": [1.5], "or_upper": [6.0], "p": [0.002]},
    ...                             index=pd.Index(["case report"], name="source_type"))
    >>> design_sentence(SourceTypeRegression(coefficients, "series", 30))[:61]
    'case reports report more response than series (odds ratio 3.0'
    """
    if regression.reference is None or design not in regression.coefficients.index:
        return ""
    row = regression.coefficients.loc[design]
    more = "more" if row["odds_ratio"] > 1 else "less"
    effect = f"a difference between {PLURALS.get(design, design)} and {PLURALS.get(regression.reference)}"
    verb = "reports" if design == "registry" else "report"
    return (f"{PLURALS.get(design, design)} {verb} {more} response than "
            f"{PLURALS.get(regression.reference, regression.reference)} (odds ratio "
            f"{row['odds_ratio']:.1f}, 95% CI {row['or_lower']:.2f}–{row['or_upper']:.1f}); "
            + evidence(row["p"], effect, "Wald", alpha))


def regression_text(regression: SourceTypeRegression | None) -> str:
    """Say what the meta-regression shows in one or two sentences (or why it was not fitted)."""
    if regression is None:
        return ""
    if not regression.fitted:
        why = "; ".join(regression.notes) or "the model could not be estimated"
        return f"The meta-regression on source type was not fitted: {why}."
    parts = [design_sentence(regression, design) for design in regression.coefficients.index]
    text = "Adjusted for tier, " + "; ".join(p for p in parts if p) + "."
    if regression.notes:
        text += " Its likelihood had no finite maximum: the estimates are penalised (read the intervals)."
    return text


def _penalised(comparison: pd.DataFrame) -> str:
    tiers = [value_label(t) for t in comparison.index[comparison["penalised"]]]
    if not tiers:
        return ""
    return (f"In {', '.join(tiers)} every published source reported every patient responding, so the "
            "pooled value is a penalised estimate pulled toward 50%: read its interval, not its point.")


def _truth(comparison: pd.DataFrame) -> str:
    known = comparison[comparison["truth"].notna()]
    if known.empty:
        return ""
    inside = {side: int(known["truth"].between(known[f"{side}_lower"], known[f"{side}_upper"]).sum())
              for side in ("registry", "literature")}
    return (f"The generator's true response probability lies inside the registry's interval in "
            f"{inside['registry']} of {len(known)} tiers and inside the literature's in "
            f"{inside['literature']}.")


def relapse_text(medians: pd.DataFrame | None, lines: dict[str, int] | None = None) -> str:
    """Median time from response to relapse, published cases vs registry (KM ``medians``)."""
    if medians is None or "literature" not in medians.index or "registry" not in medians.index:
        return ""
    lines = lines or {}
    said = [f"{months(medians.loc[g, 'median'])} in the {name} ({count(lines.get(g, 0), 'line')})"
            for g, name in (("literature", "published cases"), ("registry", "registry"))]
    return f"Median time from response to relapse: {said[0]} against {said[1]}."


def pooling_finding(comparison: pd.DataFrame, n_sources: int, regression: SourceTypeRegression | None,
                    definition: str = "CR+PR") -> str:
    """Return notebook 07's finding: response per tier, literature vs registry, case reports vs series."""
    if comparison.empty:
        return (f"{count(n_sources, 'published source')}: no tier has both a pooled literature and a "
                "registry response to compare")
    tiers = "; ".join(
        f"{value_label(t)} {interval(r['literature'], r['literature_lower'], r['literature_upper'])}"
        f" vs {interval(r['registry'], r['registry_lower'], r['registry_upper'])}"
        for t, r in comparison.iterrows())
    text = (f"{definition} response, literature ({count(n_sources, 'source')}, pooled) vs registry: {tiers}; "
            f"{_headline(comparison)}")
    if regression is not None and "case report" in regression.coefficients.index:
        row = regression.coefficients.loc["case report"]
        text += (f"; case reports vs {PLURALS.get(regression.reference)} odds ratio {row['odds_ratio']:.1f} "
                 f"({row['or_lower']:.2f}–{row['or_upper']:.1f}, {format_p(row['p'], prefix=True)})")
    return text


def pooling_plain_words(comparison: pd.DataFrame, regression: SourceTypeRegression | None,
                        medians: pd.DataFrame | None = None, lines: dict[str, int] | None = None) -> str:
    """Notebook 07's answer: the comparison per tier, the truth, source types, relapse after response."""
    if comparison.empty:
        return "No tier has both a pooled literature response and a registry response to compare."
    first = _headline(comparison)
    tiers = "; ".join(tier_comparison(t, r) for t, r in comparison.iterrows())
    text = [first[0].upper() + first[1:] + ". " + tiers + ".", _penalised(comparison), _truth(comparison),
            regression_text(regression), relapse_text(medians, lines)]
    return " ".join(t for t in text if t)


def no_literature_words(registry: pd.DataFrame, definition: str = "CR+PR") -> str:
    """Answer without a literature: the registry's own response per tier, and how to add one.

    Parameters
    ----------
    registry : pandas.DataFrame
        Registry rows of :attr:`~sclero_analysis.report.pooled.PooledResponse.table`.

    Examples
    --------
    >>> rows = pd.DataFrame({"response_definition": ["CR+PR"], "tier": ["ivig"], "events": [7], "n": [9],
    ...                      "proportion": [7 / 9], "lower": [0.4], "upper": [0.97]})
    >>> no_literature_words(rows)[:60]
    'No literature was given (0 sources): CR+PR response in the r'
    """
    rows = registry[registry["response_definition"] == definition]
    shown = "; ".join(f"{value_label(r.tier)} {r.events}/{r.n}, {interval(r.proportion, r.lower, r.upper)}"
                      for r in rows.itertuples(index=False))
    return (f"No literature was given (0 sources): {definition} response in the registry alone is "
            f"{shown or 'not available (no assessed line)'}. To compare it with the literature, "
            f"{LITERATURE_HINT}.")


def regression_gaps(regression: SourceTypeRegression | None) -> list[tuple[str, str]]:
    """``(section, reason)`` when the source-type meta-regression could not be fitted."""
    if regression is None or regression.fitted:
        return []
    reason = "; ".join(regression.notes) or "the model could not be estimated"
    return [("Source-type meta-regression", f"{count(regression.k, 'source-tier row')}: {reason}")]


def relapse_gaps(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """``(section, reason)`` when the published cases or the registry have no responding line.

    Examples
    --------
    >>> frame = pd.DataFrame({"evidence": ["registry", "registry"]})
    >>> relapse_gaps(frame)[0][1][:40]
    '0 responding lines among the published c'
    """
    lines = frame["evidence"].astype(str).value_counts()
    missing = [g for g in ("literature", "registry") if lines.get(g, 0) == 0]
    if not missing:
        return []
    names = {"literature": "the published cases (per-patient cases with a response date)",
             "registry": "the registry"}
    return [("Relapse after response, published vs registry",
             f"0 responding lines among {names[missing[0]]}; "
             f"{int(lines.get('literature', 0))} published and {int(lines.get('registry', 0))} registry "
             "lines with a response: no curves to compare")]


def pooling_methods(n_sources: int, designs: dict[str, int], n_rows: int,
                    regression: SourceTypeRegression | None, n_registry: int) -> str:
    """Notebook 07's methods paragraph, from what was run."""
    kinds = ", ".join(f"{n} {PLURALS.get(d, d) if n != 1 else d}" for d, n in designs.items()) or "none"
    text = (f"Response (CR+PR, and CR where reported) of {count(n_sources, 'published source')} ({kinds}; "
            f"{count(n_rows, 'source-tier row')}) pooled per tier by a binomial-normal random-intercept "
            "logistic model (maximum likelihood, 7-point adaptive Gauss-Hermite quadrature; a case report is "
            "a study of one patient; penalised likelihood where every source responded). Registry: "
            f"{count(n_registry, 'patient')}, each counted once per tier on their first line in it, "
            "Clopper-Pearson intervals.")
    if regression is not None and regression.fitted:
        text += (f" Meta-regression of response on source type (reference: {regression.reference}) and "
                 f"tier over {count(regression.k, 'source-tier row')}, registry sites included.")
    return text + (" Relapse after response: Kaplan-Meier from the response date, clustered by "
                   "publication (published cases) or patient (registry).")
