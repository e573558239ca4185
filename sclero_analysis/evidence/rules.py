"""Rules across rows and tables of a literature: provenance, counts and response definitions.

Each rule returns :class:`~sclero_analysis.caseseries.problems.Problem` rows naming the cell.
Errors (the row is rejected): a row whose ``source_id`` is unknown or whose source was rejected,
counts that contradict each other (responders above n, relapsed above responders, deaths above
n), a publication year in the future, a series row whose response definition differs from its
source's. Warnings (the row is kept): a malformed DOI or PMID, a source with no data, a case
report with more than one patient, a source with both cases and aggregate rows (counted twice
by :func:`~sclero_analysis.response_table` when the rows summarise the cases), the same
treatment listed twice for a source, a case followed up after its source's publication year.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from sclero_analysis.caseseries.problems import ERROR, WARNING, Problem, problems_at

DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?10\.\d{4,9}/\S+$", re.IGNORECASE)
PMID = re.compile(r"^\d{1,9}$")


def flag(table: str, frame: pd.DataFrame, mask: pd.Series, column: str, severity: str, rule: str,
         message: Callable[[pd.Series], str]) -> list[Problem]:
    """Return one problem per row of ``frame`` where ``mask`` holds (missing counts as False)."""
    hits = frame[mask.fillna(False).astype(bool)]
    return problems_at(table, hits.index, column, hits[column], severity=severity, rule=rule,
                       message=[message(row) for _, row in hits.iterrows()])


def source_rules(sources: pd.DataFrame, today: datetime.date | None = None) -> list[Problem]:
    """Check a publication year is not in the future and a DOI or PMID looks like one."""
    year = (today or datetime.date.today()).year
    doi, pmid = sources["doi"], sources["pmid"]
    return [
        *flag("sources", sources, sources["year"] > year, "year", ERROR, "year_in_future",
              lambda r: f"year {r.year} is after this year ({year})"),
        *flag("sources", sources, doi.notna() & ~doi.fillna("").str.match(DOI), "doi", WARNING,
              "invalid_doi", lambda r: f"'{r.doi}' is not a DOI (10.NNNN/suffix)"),
        *flag("sources", sources, pmid.notna() & ~pmid.fillna("").str.match(PMID), "pmid",
              WARNING, "invalid_pmid", lambda r: f"'{r.pmid}' is not a PubMed id (digits)"),
    ]


def provenance(table: str, frame: pd.DataFrame, column: str, sources: pd.DataFrame,
               rejected_sources: set[str]) -> list[Problem]:
    """Check rows name a source of the sources table that was accepted."""
    ids = frame[column]
    known = set(sources["source_id"].dropna())
    return [
        *flag(table, frame, ids.notna() & ~ids.isin(known), column, ERROR, "unknown_source",
              lambda r: f"source '{r[column]}' is not a source_id of the sources table"),
        *flag(table, frame, ids.isin(rejected_sources), column, ERROR, "source_rejected",
              lambda r: f"source '{r[column]}' was rejected (see the sources table's errors), so "
                        "this row cannot be analysed"),
    ]


def _source_value(frame: pd.DataFrame, sources: pd.DataFrame, column: str) -> pd.Series:
    unique = sources.dropna(subset=["source_id"]).drop_duplicates("source_id", keep=False)
    return frame["source_id"].map(unique.set_index("source_id")[column].astype(object))


def fill_response_definition(series: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """Return ``series`` with empty ``response_definition`` cells set to the source's."""
    filled = series["response_definition"].astype(object).fillna(
        _source_value(series, sources, "response_definition"))
    return series.assign(response_definition=pd.Categorical(
        filled, dtype=series["response_definition"].dtype))


def count_rules(series: pd.DataFrame) -> list[Problem]:
    """Check counts of a series row agree: responders, deaths ≤ n; relapsed ≤ responders ≤ n."""
    n = series["n"].where(series["n"] >= 1)  # an impossible n is reported as out of range
    responders, relapsed = series["responders"], series["relapsed"]
    return [
        *flag("series", series, responders > n, "responders", ERROR, "responders_exceed_n",
              lambda r: f"{r.responders} responders among n = {r.n} patients"),
        *flag("series", series, relapsed > responders, "relapsed", ERROR,
              "relapsed_exceed_responders",
              lambda r: f"{r.relapsed} relapsed but only {r.responders} responded"),
        *flag("series", series, responders.isna() & (relapsed > n), "relapsed", ERROR,
              "relapsed_exceed_n", lambda r: f"{r.relapsed} relapsed among n = {r.n} patients"),
        *flag("series", series, series["died"] > n, "died", ERROR, "died_exceed_n",
              lambda r: f"{r.died} died among n = {r.n} patients"),
    ]


def definition_rules(series: pd.DataFrame, sources: pd.DataFrame) -> list[Problem]:
    """Check a series row's response definition is its source's (one per source)."""
    own = _source_value(series, sources, "response_definition")
    given = series["response_definition"].astype(object)
    differs = given.notna() & own.notna() & (given != own)
    return flag("series", series, differs, "response_definition", ERROR,
                "mixed_response_definition",
                lambda r: f"response definition '{r.response_definition}' differs from its "
                          f"source's '{own[r.name]}': a source counts responses one way (enter "
                          "the other definition's counts as a separate source)")


def series_shape_rules(series: pd.DataFrame, sources: pd.DataFrame,
                       case_sources: set[str]) -> list[Problem]:
    """Warn of a treatment listed twice, a case report of several patients, cases and series."""
    design = _source_value(series, sources, "design")
    strata = series[["source_id", "agents", "severity"]].astype(object).fillna("")
    twice = series["source_id"].notna() & strata.duplicated(keep=False)
    return [
        *flag("series", series, twice, "agents", WARNING, "duplicate_series_row",
              lambda r: f"source '{r.source_id}' lists '{r.agents}' on more than one row "
                        "(same severity stratum); both are counted"),
        *flag("series", series, (design == "case report") & (series["n"] > 1), "n", WARNING,
              "case_report_size", lambda r: f"a case report with n = {r.n}: is the source's "
                                            "design 'series'?"),
        *flag("series", series, series["source_id"].isin(case_sources), "source_id", WARNING,
              "cases_and_series",
              lambda r: f"source '{r.source_id}' has per-patient cases too; if this row "
                        "summarises them, keep one or the other (both are counted)"),
    ]


def unused_sources(sources: pd.DataFrame, used: set[str]) -> list[Problem]:
    """Report a source with no series row, score row or case (nothing to analyse)."""
    ids = sources["source_id"]
    return flag("sources", sources, ids.notna() & ~ids.isin(used), "source_id", WARNING,
                "source_without_data",
                lambda r: f"source '{r.source_id}' has no series, scores or cases rows")


def followup_rules(patients: pd.DataFrame, sources: pd.DataFrame) -> list[Problem]:
    """Warn of a case followed up after its source's publication year."""
    year = pd.to_numeric(_source_value(patients, sources, "year"), errors="coerce")
    after = patients["last_followup_date"].dt.year.to_numpy(float) > year.to_numpy(float)
    return flag("patients", patients, pd.Series(np.asarray(after), index=patients.index),
                "last_followup_date", WARNING, "followup_after_publication",
                lambda r: f"last follow-up {r.last_followup_date.date().isoformat()} is after "
                          f"the source's publication year {int(year[r.name])}")
