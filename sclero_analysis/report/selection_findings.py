"""Notebook 04's correction for the publication of responders: inputs, table and plain words.

The literature (the shipped synthetic one beside the shipped registry, or a folder given as
``literature_path``) is compared with the registry: λ per tier (:func:`~sclero_analysis.publication_odds`),
the literature's pooled response per tier corrected by λ, the registry's response on the same
reported lines and on every line, and the generator's truth when there is one. Warnings of
the estimators are collected as notes (a notebook prints them; nothing goes to stderr).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.evidence import Literature, pool_proportions, read_literature, response_table
from sclero_analysis.exceptions import ScleroWarning
from sclero_analysis.literature import response_rates
from sclero_analysis.report.findings import percent
from sclero_analysis.selection import (
    PublicationOdds,
    SelectionSensitivity,
    publication_odds,
    selection_sensitivity,
)
from sclero_analysis.synthetic.examples import DATA_DIR

SECTION = "correction for the publication of responders"
ODDS = (1, 2, 4, 8, 16)


def correction_literature(data_path, literature_path=None) -> tuple[Literature | None, str]:
    """Return the literature to correct (or None) and, when None, why in numbers.

    Examples
    --------
    >>> lit, reason = correction_literature("my_registry/")
    >>> lit is None and "0 literature folders" in reason
    True
    """
    if literature_path is not None:
        return read_literature(Path(literature_path)), ""
    if data_path is None:
        return read_literature(DATA_DIR / "literature"), ""
    return None, ("0 literature folders were given for this registry (the correction needs published "
                  "reports of the same treatments: set literature_path)")


@dataclass(frozen=True, eq=False)
class Correction:
    """What notebook 04's correction shows: λ, the pooled literature, the side-by-side table."""

    odds: PublicationOdds
    table: pd.DataFrame
    sensitivity: SelectionSensitivity
    notes: list[str] = field(default_factory=list)


def _truth_per_line(truth: dict, tiers: pd.Index) -> pd.Series:
    design = (truth or {}).get("design", {})
    values = {t: float(sum(design[f"response_{t}"][:2])) for t in tiers if f"response_{t}" in design}
    return pd.Series(values, dtype=float).reindex(tiers)


def _table(lam: PublicationOdds, pooled: pd.DataFrame, cs: CaseSeries) -> pd.DataFrame:
    s = lam.summary
    tiers = s.index
    pooled = pooled.set_index("tier").reindex(tiers)
    shift = np.log(s["odds"])
    table = pd.DataFrame({
        "literature_pooled": pooled["proportion"], "literature_lower": pooled["lower"],
        "literature_upper": pooled["upper"], "odds": s["odds"], "odds_lower": s["lower"],
        "odds_upper": s["upper"],
        "corrected": special.expit(special.logit(pooled["proportion"]) - shift),
        "corrected_lower": special.expit(special.logit(pooled["lower"]) - shift),
        "corrected_upper": special.expit(special.logit(pooled["upper"]) - shift),
        "registry_reported": s["registry_proportion"],
        "registry_all_lines": response_rates(cs)["response_rate"].reindex(tiers),
        "truth_per_line": _truth_per_line(cs.truth, tiers),
        "literature_n": s["literature_n"], "registry_n": s["registry_n"]}, index=tiers)
    return table


def correct_literature(literature: Literature, cs: CaseSeries) -> Correction:
    """Estimate λ per tier, pool the literature and correct it; collect the warnings as notes.

    Parameters
    ----------
    literature : Literature
        Published evidence.
    cs : CaseSeries
        The registry (unselected).

    Returns
    -------
    Correction
        ``table`` per tier: ``literature_pooled, literature_lower, literature_upper`` (GLMM),
        ``odds, odds_lower, odds_upper`` (λ), ``corrected, corrected_lower,
        corrected_upper`` (λ treated as known), ``registry_reported`` (response of the lines a
        report would tell), ``registry_all_lines``, ``truth_per_line`` (NaN without a truth),
        ``literature_n, registry_n``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScleroWarning)
        lam = publication_odds(literature, cs, by="tier")
        pooled = pool_proportions(response_table(literature, by="tier"), by="tier")
    table = _table(lam, pooled.summary, cs)
    target = table["registry_reported"].dropna()
    target = target[(target > 0) & (target < 1)]
    summary = pooled.summary.assign(tier=pooled.summary["tier"].astype(str)).set_index("tier")
    target.index = target.index.astype(str)
    sensitivity = selection_sensitivity(summary.loc[summary.index.isin(target.index)], odds=ODDS,
                                        target=target)
    notes = [f"{w.category.__name__}: {w.message}" for w in caught]
    return Correction(odds=lam, table=table, sensitivity=sensitivity, notes=notes)


def _odds_words(row: pd.Series) -> str:
    odds = (f"a responder was an estimated {row['odds']:.1f} times as likely, in odds, to be published "
            f"(95% CI {row['odds_lower']:.2g} to {row['odds_upper']:.3g})")
    if row["odds_lower"] > 1:
        return odds + ", so responders were selected for publication"
    if row["odds_upper"] < 1:
        return odds + ", so non-responders, not responders, were the likelier to be published"
    return odds + ", an interval that includes 1: these numbers cannot tell selection from chance"


def _tier_words(tier: str, row: pd.Series) -> str:
    seen = f"{tier}: the literature's pooled response is {percent(row['literature_pooled'])}"
    if not np.isfinite(row["odds"]):
        return (f"{seen}, and λ cannot be estimated ({int(row['literature_n'])} published and "
                f"{int(row['registry_n'])} registry lines, too few non-responders)")
    verb = ("falls" if row["corrected"] < row["literature_pooled"] else
            "rises" if row["corrected"] > row["literature_pooled"] else "stays")
    return (f"{seen}; {_odds_words(row)}; corrected for it, the response {verb} to "
            f"{percent(row['corrected'])}, against {percent(row['registry_reported'])} in the registry "
            "on the same reported lines")


def correction_plain_words(correction: Correction) -> str:
    """Return the correction's answer in plain words, computed from the table (one clause per tier).

    Examples
    --------
    >>> row = pd.DataFrame({"literature_pooled": [0.95], "odds": [4.0], "odds_lower": [1.5],
    ...                     "odds_upper": [11.0], "corrected": [0.83], "registry_reported": [0.8],
    ...                     "registry_all_lines": [0.7], "literature_n": [30], "registry_n": [90]},
    ...                    index=pd.Index(["ivig"], name="tier"))
    >>> text = correction_plain_words(Correction(None, row, None))
    >>> "responders were selected for publication" in text and "falls to 83%" in text
    True
    """
    table = correction.table
    clauses = [_tier_words(str(tier), row) for tier, row in table.iterrows()]
    reported, per_line = table["registry_reported"], table["registry_all_lines"]
    gap = (reported - per_line).dropna()
    tail = ""
    if len(gap) and (gap > 0).all():
        tail = (f". Correction for publication cannot remove a second bias: a report tells a patient's "
                f"best line, and on those lines the registry's response ({percent(reported.min())} to "
                f"{percent(reported.max())}) exceeds its response on every line ({percent(per_line.min())} "
                f"to {percent(per_line.max())})")
    return "; ".join(clauses) + tail + "."
