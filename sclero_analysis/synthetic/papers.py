"""What the papers print: published cases as sources, aggregate series rows and per-patient cases.

:func:`~sclero_analysis.synthetic.publication.publish_case_reports` decides which patients are
written up and in which reference (``site``: ``REF-0001 (n=2)``). This module turns that into
the literature's tables: one ``sources`` row per reference; for references of at least
``aggregate_from`` patients, the aggregate ``series`` rows such a paper would print (per
treatment of the reported line: patients evaluable, responders, relapsed, died, median
follow-up); for smaller references, the per-patient cases. A patient is in one shape only, so
the two are never counted twice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.conventions import DAYS_PER_MONTH
from sclero_analysis.synthetic.publication import PublicationDesign, reported_lines

#: Columns of the literature's ``sources`` and ``series`` tables (the contract of
#: :mod:`sclero_analysis.evidence.contract`, which a test keeps equal).
SOURCE_COLUMNS = ("source_id", "citation", "doi", "pmid", "year", "design", "country",
                  "response_definition", "notes")
SERIES_COLUMNS = ("source_id", "agents", "tier", "adjunct_ecp", "n", "responders", "relapsed",
                  "died", "median_followup_months", "severity", "response_definition", "notes")
#: How the synthetic papers count a response.
RESPONSE_DEFINITION = "CR+PR"
ASSESSED = ("CR", "PR", "SD", "PD")


def source_ids(site: pd.Series) -> pd.Series:
    """Return the reference of each published patient: ``REF-0001 (n=2)`` → ``REF-0001``.

    Examples
    --------
    >>> source_ids(pd.Series(["REF-0001 (n=2)", "Smith 2010"])).tolist()
    ['REF-0001', 'Smith 2010']
    """
    return site.astype(str).str.replace(r"\s*\(n=\d+\)$", "", regex=True)


def _sources(patients: pd.DataFrame) -> pd.DataFrame:
    grouped = patients.groupby("source_id", sort=True)
    size = grouped.size()
    year = grouped["last_followup_date"].max().dt.year
    design = np.where(size == 1, "case report", "series")
    citation = [f"Synthetic {d} {s} ({n} patient{'s' if n > 1 else ''}); simulated by "
                "sclero_analysis, not a real publication"
                for s, d, n in zip(size.index, design, size, strict=True)]
    frame = pd.DataFrame({"source_id": size.index, "citation": citation, "doi": None, "pmid": None,
                          "year": year.to_numpy(), "design": design, "country": None,
                          "response_definition": RESPONSE_DEFINITION, "notes": None})
    return frame[list(SOURCE_COLUMNS)]


def _relapsed_after_response(told: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """Per reported line: a relapse after its response date (within the published follow-up)."""
    relapses = events[events["kind"] == "relapse"]
    joined = told[["patient_id", "response_date"]].reset_index().merge(relapses, on="patient_id")
    hit = joined[joined["date"] > joined["response_date"]]["index"].unique()
    return pd.Series(told.index.isin(hit), index=told.index)


def _series(told: pd.DataFrame, published: CaseSeries) -> pd.DataFrame:
    told = told[told["best_response"].isin(ASSESSED)].copy()
    patients = published.patients.set_index("patient_id")
    told["responded"] = told["best_response"].isin(["CR", "PR"])
    told["relapsed"] = told["responded"] & _relapsed_after_response(told, published.events)
    told["died"] = told["patient_id"].map(patients["vital_status"]).astype(object) == "dead"
    told["followup"] = ((told["patient_id"].map(patients["last_followup_date"]) - told["start_date"])
                        .dt.days / DAYS_PER_MONTH)
    rows = told.groupby(["source_id", "agents"], sort=True).agg(
        tier=("tier", "first"), adjunct_ecp=("adjunct_ecp", "first"), n=("patient_id", "size"),
        responders=("responded", "sum"), relapsed=("relapsed", "sum"), died=("died", "sum"),
        median_followup_months=("followup", "median")).reset_index()
    rows["median_followup_months"] = rows["median_followup_months"].round(1)
    rows = rows.assign(severity=None, response_definition=RESPONSE_DEFINITION, notes=None)
    return rows[list(SERIES_COLUMNS)]


def literature_tables(published: CaseSeries, aggregate_from: int | None = None) -> dict[str, pd.DataFrame]:
    """Return the tables of the literature that printed the published cases.

    Parameters
    ----------
    published : CaseSeries
        Published cases from :func:`~sclero_analysis.publish_case_reports` (``site`` names the
        reference; follow-up already ends when the report was written).
    aggregate_from : int, optional
        References of at least this many patients print aggregate rows only (default:
        :attr:`PublicationDesign.aggregate_from`); smaller ones print each case.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``sources`` (one per reference: design ``case report`` for one patient, else
        ``series``; year = the last follow-up the reference shows; response definition
        ``CR+PR``), ``series`` (per aggregate reference and treatment of the reported line —
        first CR, else first PR, else the last line —: ``n`` patients with an assessed
        response, ``responders`` CR or PR, ``relapsed`` responders with a relapse after the
        response, ``died``, ``median_followup_months`` from the line's start), and
        ``patients``, ``lines``, ``events`` of the smaller references with ``site`` = the
        ``source_id``.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> published = sa.publish_case_reports(sa.load_example(), seed=1)
    >>> tables = literature_tables(published)
    >>> sorted(tables)
    ['events', 'lines', 'patients', 'series', 'sources']
    >>> int(tables["series"]["n"].sum() + len(tables["patients"])) <= len(published.patients)
    True
    """
    threshold = PublicationDesign().aggregate_from if aggregate_from is None else aggregate_from
    patients = published.patients.assign(source_id=source_ids(published.patients["site"]))
    size = patients["source_id"].map(patients["source_id"].value_counts())
    aggregate = set(patients.loc[size >= threshold, "patient_id"])
    told = reported_lines(published.lines)
    told = told[told["patient_id"].isin(aggregate)].assign(
        source_id=lambda t: t["patient_id"].map(patients.set_index("patient_id")["source_id"]))
    cases = patients[~patients["patient_id"].isin(aggregate)]
    keep = published.lines["patient_id"].isin(cases["patient_id"])
    series = _series(told, published)
    sources = _sources(patients)  # a reference whose every response is unseen prints nothing
    sources = sources[sources["source_id"].isin(set(series["source_id"]) | set(cases["source_id"]))]
    return {
        "sources": sources.reset_index(drop=True),
        "series": series,
        "patients": cases.assign(site=cases["source_id"]).drop(columns="source_id")
                         .reset_index(drop=True),
        "lines": published.lines[keep].reset_index(drop=True),
        "events": published.events[published.events["patient_id"].isin(cases["patient_id"])]
                  .reset_index(drop=True),
    }
