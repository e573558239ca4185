"""The case-series data contract (docs/data_contract.md §3) as pandera models, one class per table.

Each field carries its description, its dtype after loading, its value checks, and in
``metadata`` how a cell is read from a file (``kind``) and whether the column is derived (never
typed by hand). Everything else in :mod:`sclero_analysis.caseseries` reads the contract from
here, so a column is added or changed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from sclero_analysis.therapy import TIERS

SEX = ("F", "M")
PARAPROTEINS = ("IgG-lambda", "IgG-kappa", "IgA-lambda", "IgA-kappa", "IgM", "other", "none")
VITAL_STATUS = ("alive", "dead")
DEATH_CAUSES = ("disease", "treatment", "malignancy", "other", "unknown")
RESPONSES = ("CR", "PR", "SD", "PD", "NE")
EVENT_KINDS = ("relapse", "progression")
INVOLVEMENT = ("neuro", "cardiac", "pulmonary", "renal", "musculoskeletal", "gastrointestinal")

TABLES = ("patients", "lines", "events")


def _category(values: tuple[str, ...], *, ordered: bool = False) -> dict:
    return {"categories": list(values), "ordered": ordered}


def _meta(kind: str, *, derived: bool = False) -> dict:
    return {"kind": kind, "derived": derived}


def _flag(organ: str):
    return pa.Field(description=f"{organ} involvement at diagnosis", metadata=_meta("bool"))


class _ContractModel(pa.DataFrameModel):
    """Base of the three tables: exactly the contract's columns, in its order."""

    class Config:
        """Column order and set are the contract's."""

        strict = True
        ordered = True


class PatientsSchema(_ContractModel):
    """``patients``: one row per patient."""

    patient_id: Series[pd.StringDtype] = pa.Field(
        unique=True, str_length={"min_value": 1},
        description="pseudonymous patient identifier, unique", metadata=_meta("id"),
    )
    site: Series[pd.StringDtype] = pa.Field(
        description="centre or source (journal reference for literature cases)",
        metadata=_meta("str"),
    )
    sex: Series[pd.CategoricalDtype] = pa.Field(
        dtype_kwargs=_category(SEX), description="F or M", metadata=_meta("category"),
    )
    age_at_diagnosis_years: Series[float] = pa.Field(
        ge=0, le=110, description="age at diagnosis, years (0-110)", metadata=_meta("float"),
    )
    diagnosis_date: Series[pd.Timestamp] = pa.Field(
        description="date of diagnosis", metadata=_meta("date"),
    )
    paraprotein: Series[pd.CategoricalDtype] = pa.Field(
        dtype_kwargs=_category(PARAPROTEINS),
        description="monoclonal protein isotype, or none", metadata=_meta("category"),
    )
    neuro: Series[bool] = _flag("neurological")
    cardiac: Series[bool] = _flag("cardiac")
    pulmonary: Series[bool] = _flag("pulmonary")
    renal: Series[bool] = _flag("renal")
    musculoskeletal: Series[bool] = _flag("musculoskeletal")
    gastrointestinal: Series[bool] = _flag("gastrointestinal")
    mrss: Series[float] = pa.Field(
        ge=0, le=51, nullable=True,
        description="baseline modified Rodnan skin score, 0-51", metadata=_meta("float"),
    )
    last_followup_date: Series[pd.Timestamp] = pa.Field(
        description="date of last follow-up (death date for the dead)", metadata=_meta("date"),
    )
    vital_status: Series[pd.CategoricalDtype] = pa.Field(
        dtype_kwargs=_category(VITAL_STATUS), description="alive or dead at last follow-up",
        metadata=_meta("category"),
    )
    death_date: Series[pd.Timestamp] = pa.Field(
        nullable=True, description="date of death; required iff dead", metadata=_meta("date"),
    )
    death_cause: Series[pd.CategoricalDtype] = pa.Field(
        nullable=True, dtype_kwargs=_category(DEATH_CAUSES),
        description="disease, treatment, malignancy, other or unknown",
        metadata=_meta("category"),
    )


class LinesSchema(_ContractModel):
    """``lines``: one row per line of therapy."""

    patient_id: Series[pd.StringDtype] = pa.Field(
        str_length={"min_value": 1}, description="patient of the line", metadata=_meta("id"),
    )
    line: Series[int] = pa.Field(
        ge=1, description="line number, 1, 2, … consecutive per patient",
        metadata=_meta("int"),
    )
    start_date: Series[pd.Timestamp] = pa.Field(
        description="start of the line", metadata=_meta("date"),
    )
    end_date: Series[pd.Timestamp] = pa.Field(
        nullable=True, description="end of the line; empty while ongoing", metadata=_meta("date"),
    )
    agents: Series[pd.StringDtype] = pa.Field(
        str_length={"min_value": 1},
        description="canonical agent names separated by '; ' (unknown names kept as written)",
        metadata=_meta("agents"),
    )
    tier: Series[pd.CategoricalDtype] = pa.Field(
        dtype_kwargs=_category(TIERS, ordered=True),
        description="therapy tier derived from the agents", metadata=_meta("category", derived=True),
    )
    adjunct_ecp: Series[bool] = pa.Field(
        description="extracorporeal photopheresis on the line (derived)",
        metadata=_meta("bool", derived=True),
    )
    best_response: Series[pd.CategoricalDtype] = pa.Field(
        dtype_kwargs=_category(RESPONSES),
        description="best response: CR, PR, SD, PD or NE (not evaluable)",
        metadata=_meta("category"),
    )
    response_date: Series[pd.Timestamp] = pa.Field(
        nullable=True, description="date of response; required for CR and PR",
        metadata=_meta("date"),
    )


class EventsSchema(_ContractModel):
    """``events``: one row per relapse or progression."""

    patient_id: Series[pd.StringDtype] = pa.Field(
        str_length={"min_value": 1}, description="patient of the event", metadata=_meta("id"),
    )
    date: Series[pd.Timestamp] = pa.Field(description="date of the event", metadata=_meta("date"))
    kind: Series[pd.CategoricalDtype] = pa.Field(
        dtype_kwargs=_category(EVENT_KINDS),
        description="relapse (after CR/PR) or progression (without response)",
        metadata=_meta("category"),
    )


SCHEMAS: dict[str, type[pa.DataFrameModel]] = {
    "patients": PatientsSchema,
    "lines": LinesSchema,
    "events": EventsSchema,
}


@dataclass(frozen=True)
class ColumnSpec:
    """What the loader needs to know about one column of the contract."""

    name: str
    kind: str
    dtype: object
    nullable: bool
    derived: bool
    categories: tuple[str, ...] = ()


@cache
def column_specs(table: str) -> dict[str, ColumnSpec]:
    """Return the contract's columns of ``table``, in order, read from its pandera model.

    Parameters
    ----------
    table : str
        ``patients``, ``lines`` or ``events``.

    Returns
    -------
    dict of str to ColumnSpec
        Column name → how to read and type it (cached: do not modify).

    Examples
    --------
    >>> column_specs("events")["kind"].categories
    ('relapse', 'progression')
    """
    specs = {}
    for name, column in SCHEMAS[table].to_schema().columns.items():
        dtype = column.dtype.type
        categories = tuple(dtype.categories) if isinstance(dtype, pd.CategoricalDtype) else ()
        specs[name] = ColumnSpec(
            name=name,
            kind=column.metadata["kind"],
            dtype=dtype,
            nullable=column.nullable,
            derived=column.metadata["derived"],
            categories=categories,
        )
    return specs
