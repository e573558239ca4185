"""Notebook 07's look at publication selection: response by source type, and relapse after response.

* :func:`source_type_regression` — the meta-regression of response (CR+PR) on the source's
  design (case report, series, registry), adjusted for tier: do case reports report more
  response than series, and the literature more than the registry?
* :func:`relapse_after_response` — time from response to relapse of the published cases beside
  the registry's lines, ready for :func:`~sclero_analysis.kaplan_meier` by ``evidence``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.evidence import Literature, case_relapse_frame, pool_proportions, response_table
from sclero_analysis.report.pooled import quietly
from sclero_analysis.therapy import TIERS

#: Order of the designs: the first present is the reference of the meta-regression.
SOURCE_TYPES = ("series", "case report", "registry", "trial")
#: Shown in the sentences and tables for each design.
PLURALS = {"series": "series", "case report": "case reports", "registry": "the registry",
           "trial": "trials"}


@dataclass(frozen=True, eq=False)
class SourceTypeRegression:
    """Response (CR+PR) by the source's design, adjusted for tier (binomial-normal meta-regression).

    Attributes
    ----------
    coefficients : pandas.DataFrame
        One row per design other than the reference, indexed by design: ``coef`` (log odds
        ratio against the reference), ``se, lower, upper, p``, ``odds_ratio, or_lower,
        or_upper``; empty when the model could not be fitted.
    reference : str or None
        The design the others are compared with (series when present).
    k : int
        Rows pooled (one per source, or registry site, and tier).
    tau2 : float
        Residual between-source variance (logit scale).
    notes : tuple of str
        Why the model could not be fitted, or its caveats (penalised likelihood).
    """

    coefficients: pd.DataFrame
    reference: str | None
    k: int
    tau2: float = float("nan")
    notes: tuple[str, ...] = ()

    @property
    def summary(self) -> pd.DataFrame:
        """:attr:`coefficients` with the reference named in a ``versus`` column."""
        return self.coefficients.assign(versus=self.reference)

    @property
    def fitted(self) -> bool:
        """Whether the meta-regression gave coefficients."""
        return not self.coefficients.empty


def _rows(literature: Literature, registry: CaseSeries | None) -> pd.DataFrame:
    table, _ = quietly(response_table, literature, registry, by="tier", response_definition="CR+PR",
                       cases="source", registry_sites=True)
    keys = ["source_id", "source_type", "tier"]
    table = table.groupby(keys, observed=True, sort=False)[["events", "n"]].sum().reset_index()
    table = table[table["n"] > 0]
    present = [t for t in SOURCE_TYPES if t in set(table["source_type"])]
    return table.assign(study=table["source_id"] + " · " + table["tier"].astype(str),
                        source_type=pd.Categorical(table["source_type"], present),
                        tier=pd.Categorical(table["tier"], [t for t in TIERS if t in set(table["tier"])]))


def _empty(reference: str | None, k: int, notes: list[str]) -> SourceTypeRegression:
    columns = ["coef", "se", "lower", "upper", "p", "odds_ratio", "or_lower", "or_upper"]
    return SourceTypeRegression(pd.DataFrame(columns=columns, index=pd.Index([], name="source_type")),
                                reference, k, notes=tuple(notes))


def source_type_regression(literature: Literature, registry: CaseSeries | None = None,
                           conf_level: float = 0.95) -> SourceTypeRegression:
    """Fit the meta-regression of response (CR+PR) on source type, adjusted for tier.

    Parameters
    ----------
    literature : Literature
        Published sources (case reports and series; a publication's cases are summed).
    registry : CaseSeries, optional
        Enters as one study per site with design ``registry``.
    conf_level : float

    Returns
    -------
    SourceTypeRegression
        Coefficients against the reference design (series when present); empty, with the
        reason in ``notes``, when fewer than two designs are present or the model cannot be
        estimated.

    Notes
    -----
    One row per source (or registry site) and tier, ``logit(p) = b0 + design + tier`` with a
    normal random intercept per row, fitted by :func:`~sclero_analysis.pool_proportions`
    (``method="glmm"``). Rows of one source in several tiers are treated as independent. A
    higher odds ratio of case reports than series is what selective publication of responders
    predicts; it cannot tell selection from differences between the patients described.

    Examples
    --------
    >>> from sclero_analysis.report.literature_input import load_literature
    >>> fit = source_type_regression(load_literature(None))
    >>> fit.reference, list(fit.coefficients.index)
    ('series', ['case report'])
    """
    rows = _rows(literature, registry)
    designs = list(rows["source_type"].cat.categories)
    reference = designs[0] if designs else None
    if len(designs) < 2:
        return _empty(reference, len(rows), [f"{len(designs)} source type{'s' if len(designs) != 1 else ''} "
                                             f"({', '.join(designs) or 'none'}): at least 2 are needed"])
    moderators = ["source_type"] + (["tier"] if rows["tier"].nunique() > 1 else [])
    pooled, notes = quietly(pool_proportions, rows, moderators=moderators, conf_level=conf_level)
    table = pooled.moderators
    if table is None or table.empty:
        return _empty(reference, len(rows), notes)
    terms = table[table["term"].str.startswith("source_type[")]
    coefficients = pd.DataFrame({
        "coef": terms["coef"].to_numpy(), "se": terms["se"].to_numpy(), "lower": terms["lower"].to_numpy(),
        "upper": terms["upper"].to_numpy(), "p": terms["p"].to_numpy()},
        index=pd.Index(terms["term"].str.slice(len("source_type["), -1), name="source_type"))
    coefficients = coefficients.assign(odds_ratio=np.exp(coefficients["coef"]),
                                       or_lower=np.exp(coefficients["lower"]),
                                       or_upper=np.exp(coefficients["upper"]))
    penalised = [n for n in notes if "meta-regression" in n and "at infinity" in n]
    return SourceTypeRegression(coefficients, reference, len(rows), float(table["tau2"].iloc[0]),
                                tuple(penalised))


def relapse_after_response(literature: Literature, registry: CaseSeries) -> pd.DataFrame:
    """Time from response to relapse: the published cases' responding lines beside the registry's.

    Returns
    -------
    pandas.DataFrame
        :func:`~sclero_analysis.evidence.case_relapse_frame` with ``origin="response"``
        (``evidence``: registry, literature) and ``cluster_id``: the publication for a
        published case, the patient for a registry line (the two may share identifiers).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> from sclero_analysis.report.literature_input import load_literature
    >>> frame = relapse_after_response(load_literature(None), sa.load_example())
    >>> sorted(frame["evidence"].unique())
    ['literature', 'registry']
    """
    frame, _ = quietly(case_relapse_frame, literature, registry, origin="response")
    published = frame["evidence"] == "literature"
    cluster = np.where(published, "source " + frame["source_id"].astype(str),
                       "patient " + frame["patient_id"].astype(str))
    return frame.assign(cluster_id=cluster)
