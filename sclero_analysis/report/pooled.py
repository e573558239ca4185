"""Notebook 07's numbers: the literature's pooled response beside the registry's and the truth.

* :func:`pool_response` — per tier and definition of response (``CR+PR``, ``CR``), the
  literature's pooled proportion (binomial-normal GLMM, one study per publication), the
  registry's own proportion (exact interval) and, for simulated data, the generator's true
  response probability.
* :func:`source_type_regression` — the meta-regression of response on the source's design (case
  report, series, registry), adjusted for tier: the first look at publication selection.
* :func:`relapse_after_response` — published cases' and registry lines' time from response to
  relapse, for Kaplan–Meier curves side by side.

Every pooling caveat (a penalised fit where every source responded, a single source) is kept as
a sentence in ``notes`` instead of a warning, so the notebook shows it where it matters.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.evidence import (
    Literature,
    PooledProportions,
    pool_proportions,
    response_table,
)
from sclero_analysis.evidence.pooling import clopper_pearson
from sclero_analysis.evidence.responses import ASSESSED, RESPONDED
from sclero_analysis.exceptions import ScleroWarning
from sclero_analysis.therapy import TIERS

#: Definitions of response pooled, the headline first.
DEFINITIONS = ("CR+PR", "CR")
EVIDENCE = ("literature", "registry", "truth")
COLUMNS = ["response_definition", "tier", "evidence", "k", "n", "events", "proportion", "lower",
           "upper", "penalised"]


def quietly(function, *args, **kwargs):
    """Call ``function``; return its result and the messages of the package's warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ScleroWarning)
        result = function(*args, **kwargs)
    return result, [str(w.message) for w in caught if issubclass(w.category, ScleroWarning)]


def _one_row_per_source(table: pd.DataFrame, study: str = "study") -> pd.DataFrame:
    """Sum a source's rows of one group (its cases and its aggregate rows)."""
    keys = [study, "source_id", "source_type", "response_definition", "tier"]
    summed = table.groupby(keys, observed=True, sort=False)[["events", "n"]].sum().reset_index()
    return summed[summed["n"] > 0].reset_index(drop=True)


def literature_table(literature: Literature) -> tuple[pd.DataFrame, list[str]]:
    """Responders / patients per publication, tier and definition (``CR+PR``, ``CR``).

    Parameters
    ----------
    literature : Literature

    Returns
    -------
    (pandas.DataFrame, list of str)
        :func:`~sclero_analysis.response_table` with ``cases="source"`` (a publication's cases
        summed; a case report is a study of one patient), one row per source, tier and
        definition; and the rows it left out, as sentences.

    Examples
    --------
    >>> from sclero_analysis.report.literature_input import load_literature
    >>> table, notes = literature_table(load_literature(None))
    >>> sorted(table["response_definition"].unique()), notes
    (['CR', 'CR+PR'], [])
    """
    table, notes = quietly(response_table, literature, by="tier", response_definition=list(DEFINITIONS),
                            cases="source")
    return _one_row_per_source(table), notes


def registry_response(registry: CaseSeries, conf_level: float = 0.95) -> pd.DataFrame:
    """Compute the registry's own response proportion per tier and definition, with an exact interval.

    A patient counts once per tier, on their first line in it, when its best response was
    assessed (CR, PR, SD or PD), as :func:`~sclero_analysis.response_table` counts a registry.

    Returns
    -------
    pandas.DataFrame
        The columns of :attr:`PooledResponse.table` (``evidence = "registry"``, ``k = 1``).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> rows = registry_response(sa.load_example()).set_index(["response_definition", "tier"])
    >>> rows.loc[("CR+PR", "ivig"), ["events", "n"]].tolist()
    [189, 295]
    """
    lines = registry.lines.sort_values(["patient_id", "line"]).drop_duplicates(["patient_id", "tier"])
    lines = lines[lines["best_response"].isin(ASSESSED)]
    rows = []
    for definition in DEFINITIONS:
        responded = lines["best_response"].isin(RESPONDED[definition])
        counts = responded.groupby(lines["tier"].astype(str)).agg(["sum", "size"])
        for tier, (events, n) in counts.iterrows():
            rows.append((definition, tier, int(events), int(n)))
    frame = pd.DataFrame(rows, columns=["response_definition", "tier", "events", "n"])
    lower, upper = clopper_pearson(frame["events"].to_numpy(), frame["n"].to_numpy(), conf_level)
    return frame.assign(evidence="registry", k=1, proportion=frame["events"] / frame["n"], lower=lower,
                        upper=upper, penalised=False)[COLUMNS]


def truth_response(truth: Mapping) -> pd.DataFrame:
    """Return the generator's true response probability per tier (``response_<tier>`` of its design).

    Returns
    -------
    pandas.DataFrame
        The columns of :attr:`PooledResponse.table` (``evidence = "truth"``); empty without a
        truth (real data).

    Examples
    --------
    >>> truth = truth_response({"design": {"response_ivig": [0.4, 0.4, 0.12, 0.08]}})
    >>> truth[["tier", "proportion"]].values.tolist()
    [['ivig', 0.8], ['ivig', 0.4]]
    """
    design = truth.get("design", {}) if truth else {}
    rows = []
    for definition in DEFINITIONS:
        for tier in TIERS:
            probabilities = design.get(f"response_{tier}")
            if probabilities is not None:
                value = sum(probabilities[:2]) if definition == "CR+PR" else probabilities[0]
                rows.append((definition, tier, float(value)))
    frame = pd.DataFrame(rows, columns=["response_definition", "tier", "proportion"])
    return frame.assign(evidence="truth", k=np.nan, n=np.nan, events=np.nan, lower=np.nan,
                        upper=np.nan, penalised=False)[COLUMNS]


def _pooled_rows(pooled: PooledProportions) -> pd.DataFrame:
    summary = pooled.summary
    return summary.assign(evidence="literature")[COLUMNS]


@dataclass(frozen=True, eq=False)
class PooledResponse:
    """Response per tier: the literature pooled, the registry's own, the truth.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per definition, tier and evidence (``literature``, ``registry``, ``truth``):
        ``k`` (sources), ``n``, ``events``, ``proportion`` with its interval ``lower, upper``
        (the literature's: GLMM confidence interval; the registry's: Clopper-Pearson; the
        truth: none) and ``penalised`` (the GLMM had no finite maximum likelihood).
    pooled : PooledProportions or None
        The literature's pooling (``by = response_definition, tier``): forest plot, sources.
    notes : tuple of str
        Caveats of the pooling and rows left out, as sentences.
    conf_level : float
    """

    table: pd.DataFrame
    pooled: PooledProportions | None
    notes: tuple[str, ...] = ()
    conf_level: float = 0.95

    @property
    def summary(self) -> pd.DataFrame:
        """:attr:`table`, indexed by definition, tier and evidence."""
        return self.table.set_index(["response_definition", "tier", "evidence"])

    def comparison(self, definition: str = "CR+PR") -> pd.DataFrame:
        """Literature vs registry per tier: both proportions, intervals, difference and verdict.

        Returns
        -------
        pandas.DataFrame
            Indexed by tier (tiers holding both): ``literature, literature_lower,
            literature_upper, registry, registry_lower, registry_upper, truth, k_sources,
            n_literature, n_registry, difference_pp`` (literature minus registry, percentage
            points), ``penalised`` and ``verdict``: ``higher`` when the literature's interval
            lies above the registry's, ``lower`` when below, ``overlapping`` otherwise.
        """
        rows = self.table[self.table["response_definition"] == definition]
        wide = {e: rows[rows["evidence"] == e].set_index("tier") for e in EVIDENCE}
        tiers = [t for t in TIERS if t in wide["literature"].index and t in wide["registry"].index]
        lit, reg = wide["literature"].reindex(tiers), wide["registry"].reindex(tiers)
        frame = pd.DataFrame({
            "literature": lit["proportion"], "literature_lower": lit["lower"],
            "literature_upper": lit["upper"], "registry": reg["proportion"],
            "registry_lower": reg["lower"], "registry_upper": reg["upper"],
            "truth": wide["truth"]["proportion"].reindex(tiers),
            "k_sources": lit["k"], "n_literature": lit["n"], "n_registry": reg["n"],
            "difference_pp": 100 * (lit["proportion"] - reg["proportion"]),
            "penalised": lit["penalised"].astype(bool)}, index=pd.Index(tiers, name="tier"))
        above = frame["literature_lower"] > frame["registry_upper"]
        below = frame["literature_upper"] < frame["registry_lower"]
        frame["verdict"] = np.select([above, below], ["higher", "lower"], "overlapping")
        return frame

    def plot(self, definition: str = "CR+PR", ax: Axes | None = None) -> Axes:
        """Draw each tier's proportion and interval: literature, registry and truth side by side.

        Returns
        -------
        matplotlib.axes.Axes
            Drawn on a new figure unless ``ax`` is given.
        """
        from sclero_analysis.report.pooled_plot import draw_response  # drawing kept apart

        return draw_response(self.table[self.table["response_definition"] == definition], definition,
                             self.conf_level, ax)

    def forest(self, definition: str = "CR+PR") -> PooledProportions | None:
        """Return the literature's pooling of one definition, by tier (``.plot()`` draws its forest plot).

        None when the literature has no source of this definition.
        """
        if self.pooled is None:
            return None
        keep = self.pooled.summary["response_definition"] == definition
        if not keep.any():
            return None
        studies = self.pooled.studies[self.pooled.studies["response_definition"] == definition]
        return replace(self.pooled, summary=self.pooled.summary[keep].reset_index(drop=True),
                       studies=studies.reset_index(drop=True), by=("tier",))


def pool_response(literature: Literature | None, registry: CaseSeries, truth: Mapping | None = None,
                  conf_level: float = 0.95) -> PooledResponse:
    """Pool the literature's response per tier and put it beside the registry's and the truth.

    Parameters
    ----------
    literature : Literature or None
        Published evidence; None: the registry (and truth) alone.
    registry : CaseSeries
        The registry.
    truth : mapping, optional
        The generator's truth (``cs.truth``): its design's ``response_<tier>`` probabilities.
    conf_level : float
        Level of every interval.

    Returns
    -------
    PooledResponse

    Notes
    -----
    The literature is pooled per definition and tier by the binomial-normal GLMM of
    :func:`~sclero_analysis.pool_proportions` (one study per publication, a case report being a
    study of one patient). Where every source reports every patient responding its maximum
    likelihood is at infinity: the penalised estimate is used and said in ``notes``.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> from sclero_analysis.report.literature_input import load_literature
    >>> cs = sa.load_example()
    >>> result = pool_response(load_literature(None), cs, cs.truth)
    >>> [round(float(v), 3) for v in result.comparison().loc["ivig", ["registry", "truth"]]]
    [0.641, 0.8]
    """
    parts, notes, pooled = [registry_response(registry, conf_level), truth_response(truth or {})], [], None
    if literature is not None:
        table, notes = literature_table(literature)
        if len(table):
            pooled, caveats = quietly(pool_proportions, table, by=["response_definition", "tier"],
                                       conf_level=conf_level)
            notes += caveats
            parts.insert(0, _pooled_rows(pooled))
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True)
    order = {t: i for i, t in enumerate(TIERS)}
    frame = frame.sort_values(["response_definition", "tier", "evidence"], key=lambda s: s.map(
        order | {d: i for i, d in enumerate(DEFINITIONS)} | {e: i for i, e in enumerate(EVIDENCE)}))
    return PooledResponse(frame.reset_index(drop=True), pooled, tuple(notes), conf_level)
