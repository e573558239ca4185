"""The unit Table 1 describes: patients (once each), lines of therapy, or a frame's rows as given.

A case series or a frame with ``patient_id`` is described per patient by default: each patient
once, with the group of the first line of therapy (the tier at the start of treatment). A
line-level table counts a patient once per line; it is there when asked for, and labelled so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from sclero_analysis.cohort import COVARIATES, relapse_frame

Unit = Literal["patient", "line"]
#: Patient-level characteristics described when none are named (site aside).
PATIENT_VARIABLES = tuple(c for c in COVARIATES if c != "site")
#: Line-level ones added in a per-line table.
LINE_VARIABLES = ("line", "adjunct_ecp")
UNIT_WORDS = {"patient": "patients", "line": "lines of therapy", "row": "rows"}


@dataclass(frozen=True)
class Described:
    """The frame Table 1 describes, its unit (``patient``, ``line`` or ``row``) and what to say of it."""

    frame: pd.DataFrame
    unit: str
    notes: tuple[str, ...] = ()
    rows: pd.DataFrame | None = None  # per patient from a frame: its rows, to check (check_constant)

    @property
    def word(self) -> str:
        """The unit in words, plural (``patients``, ``lines of therapy``, ``rows``)."""
        return UNIT_WORDS[self.unit]

    def default_variables(self) -> list[str]:
        """Characteristics described when none are named."""
        names = PATIENT_VARIABLES + (LINE_VARIABLES if self.unit != "patient" else ())
        return [c for c in names if c in self.frame.columns]


def _is_case_series(data) -> bool:
    return hasattr(data, "lines") and hasattr(data, "patients")


def _case_series_patients(cs) -> pd.DataFrame:
    """Every accepted patient once, with the tier of the first line (missing when untreated)."""
    first = cs.lines.sort_values(["patient_id", "line"], kind="stable").drop_duplicates("patient_id")
    tier = cs.patients["patient_id"].map(first.set_index("patient_id")["tier"])
    return cs.patients.assign(tier=tier.astype(cs.lines["tier"].dtype))


def _first_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Each patient's first row (by ``line`` when there is one), in order of first appearance."""
    order = df.sort_values(["patient_id", "line"], kind="stable") if "line" in df.columns else df
    return order.drop_duplicates("patient_id").sort_index()


def _differs(df: pd.DataFrame, name: str) -> bool:
    """Whether ``name`` takes two values (missing counting as one) in some patient's rows."""
    if df["patient_id"].is_unique:
        return False
    values = df[name].astype(object).where(df[name].notna(), "\0missing")
    return bool((values.groupby(df["patient_id"], sort=False).nunique() > 1).any())


def check_constant(df: pd.DataFrame, variables: list[str]) -> None:
    """Refuse a patient-level table of a characteristic that differs between a patient's rows."""
    for name in variables:
        if _differs(df, name):
            raise ValueError(f"table_one: {name!r} differs between rows of a patient, so it cannot be "
                             "described once per patient; pass unit='line' for a per-line table")


def described(data, unit: Unit | None, by: str | None) -> Described:
    """Return the frame to describe and its unit (see the module docstring).

    Parameters
    ----------
    data : CaseSeries or pandas.DataFrame
    unit : {"patient", "line"} or None
        None: ``patient`` for a case series or a frame with ``patient_id``, else each row.
    by : str or None
        The grouping column (in a patient-level table: its value at the first line).

    Returns
    -------
    Described
        A patient-level frame keeps each patient's first row (by ``line``); the caller checks
        that the characteristics it describes are the same in every row of a patient
        (:func:`check_constant` on ``rows``).
    """
    if unit not in (None, "patient", "line"):
        raise ValueError(f"unit must be 'patient', 'line' or None, not {unit!r}")
    if not isinstance(data, pd.DataFrame) and not _is_case_series(data):
        raise TypeError("table_one takes a CaseSeries or a DataFrame")
    if unit == "line":
        return Described(relapse_frame(data) if _is_case_series(data) else data, "line",
                         ("A patient is counted once per line.",))
    if _is_case_series(data):
        frame, first_line = _case_series_patients(data), by == "tier"
    elif "patient_id" in data.columns:
        first_line = by is not None and by in data.columns and _differs(data, by)
        frame = data if data["patient_id"].is_unique else _first_rows(data)
    elif unit == "patient":
        raise KeyError("table_one: unit='patient' needs a patient_id column (or a CaseSeries)")
    else:
        return Described(data, "row")
    notes = (f"{by}: at the patient's first line of therapy.",) if first_line else ()
    return Described(frame, "patient", notes, data if isinstance(data, pd.DataFrame) else None)
