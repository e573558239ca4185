"""The literature data contract as pandera models: ``sources``, ``series`` and ``scores``.

Published evidence comes in three shapes, each row carrying its provenance (``source_id``):

* ``sources``: one row per publication (citation, DOI/PMID, year, design, country, and the
  definition of response the publication uses);
* ``series``: aggregate rows per source and treatment, as a paper prints them (patients
  treated, responders under the source's definition, relapsed, died, median follow-up);
* ``scores`` (optional): skin-score changes per source and treatment (n, mean and SD before and
  after);
* per-patient cases (case reports, per-patient tables of series) in the registry's own
  ``patients``, ``lines`` and ``events`` contract, whose ``site`` names the ``source_id``.

Like the registry's contract, each field carries its description, its dtype after loading, its
value checks and, in ``metadata``, how a cell is read (``kind``) and whether it is derived.
"""

from __future__ import annotations

import re
from functools import cache

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from sclero_analysis.caseseries.schema import TABLES as CASE_TABLES
from sclero_analysis.caseseries.schema import ColumnSpec
from sclero_analysis.therapy import TIERS

#: Study designs of a source.
DESIGNS = ("case report", "series", "registry", "trial")
#: How a source defines response: complete response only, complete or partial response, a
#: change of a skin score, or another definition.
RESPONSE_DEFINITIONS = ("CR", "CR+PR", "score change", "other")
#: Tables of the literature, in the order the report lists them.
LITERATURE_TABLES = ("sources", "series", "scores")
TABLES = (*LITERATURE_TABLES, *CASE_TABLES)
#: Tables a literature may leave out (cases come as all three tables or none).
OPTIONAL_TABLES = ("series", "scores", *CASE_TABLES)
#: Earliest plausible publication year (the disease was described as lichen myxedematosus
#: early in the 20th century).
FIRST_YEAR = 1900

#: Accepted spellings of category values, matched ignoring case and separators.
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "design": {
        "case report": ("case", "single case", "case-report", "report"),
        "series": ("case series", "retrospective series", "cohort", "retrospective cohort",
                   "retrospective study", "observational"),
        "registry": ("register", "registry study"),
        "trial": ("clinical trial", "prospective trial", "RCT", "randomised trial",
                  "randomized trial", "prospective study"),
    },
    "response_definition": {
        "CR": ("complete response", "complete remission", "CR only"),
        "CR+PR": ("CR or PR", "ORR", "overall response", "any response", "objective response"),
        "score change": ("score", "mRSS change", "skin score change", "change in score"),
        "other": ("not stated", "unclear"),
    },
}


def _meta(kind: str, *, derived: bool = False, unit: str = "") -> dict:
    return {"kind": kind, "derived": derived, "unit": unit}


def _category(values: tuple[str, ...], *, ordered: bool = False) -> dict:
    return {"categories": list(values), "ordered": ordered}


def _source_id(description: str) -> pa.Field:
    return pa.Field(str_length={"min_value": 1}, description=description, metadata=_meta("id"))


def _count(description: str, *, nullable: bool = True, minimum: int = 0) -> pa.Field:
    return pa.Field(ge=minimum, nullable=nullable, description=description,
                    metadata=_meta("int", unit="patients"))


def _notes() -> pa.Field:
    return pa.Field(nullable=True, description="free-text remarks", metadata=_meta("str"))


class _ContractModel(pa.DataFrameModel):
    """Base of the literature tables: exactly the contract's columns, in its order."""

    class Config:
        """Column order and set are the contract's."""

        strict = True
        ordered = True


class SourcesSchema(_ContractModel):
    """``sources``: one row per publication."""

    source_id: Series[pd.StringDtype] = pa.Field(
        unique=True, str_length={"min_value": 1},
        description="short unique key of the publication, e.g. 'Rongioletti 2013'",
        metadata=_meta("id"),
    )
    citation: Series[pd.StringDtype] = pa.Field(
        str_length={"min_value": 1}, description="authors, title, journal, year, pages",
        metadata=_meta("str"),
    )
    doi: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="digital object identifier, e.g. 10.1016/j.jaad.2012.05.005",
        metadata=_meta("str"),
    )
    pmid: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="PubMed identifier (digits)", metadata=_meta("str"),
    )
    year: Series[int] = pa.Field(
        ge=FIRST_YEAR, le=2100, description="year of publication",
        metadata=_meta("int", unit="year"),
    )
    design: Series[pd.CategoricalDtype] = pa.Field(
        dtype_kwargs=_category(DESIGNS),
        description="case report, series, registry or trial", metadata=_meta("category"),
    )
    country: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="country (or countries) of the patients", metadata=_meta("str"),
    )
    response_definition: Series[pd.CategoricalDtype] = pa.Field(
        dtype_kwargs=_category(RESPONSE_DEFINITIONS),
        description="what the source counts as a response: CR, CR+PR, score change or other",
        metadata=_meta("category"),
    )
    notes: Series[pd.StringDtype] = _notes()


class SeriesSchema(_ContractModel):
    """``series``: aggregate rows per source and treatment, as the publication prints them."""

    source_id: Series[pd.StringDtype] = _source_id("publication (a source_id of sources)")
    agents: Series[pd.StringDtype] = pa.Field(
        str_length={"min_value": 1},
        description="the treatment: canonical agent names separated by '; '",
        metadata=_meta("agents"),
    )
    tier: Series[pd.CategoricalDtype] = pa.Field(
        dtype_kwargs=_category(TIERS, ordered=True),
        description="therapy tier derived from the agents", metadata=_meta("category", derived=True),
    )
    adjunct_ecp: Series[bool] = pa.Field(
        description="extracorporeal photopheresis with the treatment (derived)",
        metadata=_meta("bool", derived=True),
    )
    n: Series[int] = _count("patients treated and evaluable for response", nullable=False,
                            minimum=1)
    responders: Series[pd.Int64Dtype] = _count(
        "patients who responded, under the source's response definition")
    relapsed: Series[pd.Int64Dtype] = _count("responders who relapsed during follow-up")
    died: Series[pd.Int64Dtype] = _count("patients who died during follow-up")
    median_followup_months: Series[float] = pa.Field(
        ge=0, nullable=True, description="median follow-up, months",
        metadata=_meta("float", unit="months"),
    )
    severity: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="severity stratum as reported (e.g. 'extracutaneous')",
        metadata=_meta("str"),
    )
    response_definition: Series[pd.CategoricalDtype] = pa.Field(
        dtype_kwargs=_category(RESPONSE_DEFINITIONS), nullable=True,
        description="the source's response definition (filled in from sources when empty)",
        metadata=_meta("category"),
    )
    notes: Series[pd.StringDtype] = _notes()


class ScoresSchema(_ContractModel):
    """``scores``: change of a skin score per source and treatment (optional table)."""

    source_id: Series[pd.StringDtype] = _source_id("publication (a source_id of sources)")
    agents: Series[pd.StringDtype] = pa.Field(
        str_length={"min_value": 1},
        description="the treatment: canonical agent names separated by '; '",
        metadata=_meta("agents"),
    )
    tier: Series[pd.CategoricalDtype] = pa.Field(
        dtype_kwargs=_category(TIERS, ordered=True),
        description="therapy tier derived from the agents", metadata=_meta("category", derived=True),
    )
    adjunct_ecp: Series[bool] = pa.Field(
        description="extracorporeal photopheresis with the treatment (derived)",
        metadata=_meta("bool", derived=True),
    )
    score: Series[pd.StringDtype] = pa.Field(
        str_length={"min_value": 1}, description="the score, e.g. 'mRSS'", metadata=_meta("str"),
    )
    n: Series[int] = _count("patients with both scores", nullable=False, minimum=1)
    mean_before: Series[float] = pa.Field(
        description="mean score before treatment, score points", metadata=_meta("float", unit="points"),
    )
    sd_before: Series[float] = pa.Field(
        ge=0, nullable=True, description="standard deviation before, score points",
        metadata=_meta("float", unit="points"),
    )
    mean_after: Series[float] = pa.Field(
        description="mean score after treatment, score points", metadata=_meta("float", unit="points"),
    )
    sd_after: Series[float] = pa.Field(
        ge=0, nullable=True, description="standard deviation after, score points",
        metadata=_meta("float", unit="points"),
    )
    followup_months: Series[float] = pa.Field(
        ge=0, nullable=True, description="time from before to after, months",
        metadata=_meta("float", unit="months"),
    )
    notes: Series[pd.StringDtype] = _notes()


SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "sources": SourcesSchema,
    "series": SeriesSchema,
    "scores": ScoresSchema,
}


@cache
def column_specs(table: str) -> dict[str, ColumnSpec]:
    """Return the columns of a literature table, in order, read from its pandera model.

    Parameters
    ----------
    table : str
        ``sources``, ``series`` or ``scores``.

    Returns
    -------
    dict of str to ColumnSpec
        Column name → how to read and type it (cached: do not modify).

    Examples
    --------
    >>> column_specs("sources")["design"].categories
    ('case report', 'series', 'registry', 'trial')
    """
    specs = {}
    for name, column in SCHEMAS[table].to_schema().columns.items():
        dtype = column.dtype.type
        categories = tuple(dtype.categories) if isinstance(dtype, pd.CategoricalDtype) else ()
        specs[name] = ColumnSpec(name=name, kind=column.metadata["kind"], dtype=dtype,
                                 nullable=column.nullable, derived=column.metadata["derived"],
                                 categories=categories)
    return specs


def column_notes(table: str) -> dict[str, tuple[str, str]]:
    """Return each column's description and unit (for the extraction workbook's header notes).

    Examples
    --------
    >>> column_notes("series")["median_followup_months"]
    ('median follow-up, months', 'months')
    """
    columns = SCHEMAS[table].to_schema().columns
    return {name: (c.description or "", c.metadata.get("unit", "")) for name, c in columns.items()}


def category_key(text: object) -> str:
    """Return the matching key of a category value: lower-case letters and digits only.

    Examples
    --------
    >>> category_key(" Case-Report "), category_key("CR / PR")
    ('casereport', 'crpr')
    """
    return re.sub(r"[^0-9a-z]", "", str(text).casefold())


@cache
def synonym_lookup(column: str) -> dict[str, str]:
    """Return key → canonical value for a categorical column with synonyms (empty otherwise).

    Examples
    --------
    >>> synonym_lookup("design")["rct"]
    'trial'
    """
    lookup = {}
    for canonical, synonyms in SYNONYMS.get(column, {}).items():
        lookup.update({category_key(s): canonical for s in (canonical, *synonyms)})
    return lookup
