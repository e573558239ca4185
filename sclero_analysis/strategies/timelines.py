"""Each patient's timeline from time zero (the first line's start), as the strategies read it.

One row per patient with at least one line of therapy: the outcome (first relapse or
progression, death without it, or censoring at the last follow-up, in months from time zero),
the first start of each tier above IVIG, the first response (PR or better, or what a strategy
counts as response), whether the line in course responded, month by month, and the baseline
covariates the censoring weights use. Computed once per analysis; the bootstrap resamples
these rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.cohort import months_between
from sclero_analysis.conventions import CENSORED, DEATH, RELAPSE

#: Tiers whose first start each timeline records (``other`` is outside the ladder).
ESCALATION_TIERS = ("immunosuppression", "cytoreduction", "other")


@dataclass(frozen=True)
class Timelines:
    """Per-patient arrays (one row per patient with a line of therapy), months from time zero."""

    patients: pd.DataFrame  # the patients table's rows, in this order (for severity rules)
    time: np.ndarray  # outcome time
    status: np.ndarray  # 1 relapse or progression, 2 death without it, 0 censored
    first_start: dict[str, np.ndarray]  # tier → first start (inf: never)
    lines: pd.DataFrame  # row (patient index), start_month, best_response, response_month, by start
    covariates: np.ndarray  # (n, q) baseline covariates of the weight models, standardised
    covariate_names: tuple[str, ...]
    unrecorded: tuple[str, ...] = ()  # covariates asked for but never recorded: left out

    def __len__(self) -> int:
        return len(self.time)

    def response_month(self, responses: Sequence[str]) -> np.ndarray:
        """First month with one of ``responses`` recorded (inf: none)."""
        lines = self.lines[self.lines["best_response"].isin(list(responses))]
        first = np.full(len(self), np.inf)
        np.minimum.at(first, lines["row"].to_numpy(), lines["response_month"].fillna(np.inf).to_numpy())
        return first

    def line_responded(self, responses: Sequence[str], months: int) -> np.ndarray:
        """Whether the line in course at each whole month 0 … ``months`` − 1 had responded by then.

        (n, months) booleans: at month m, the line started last by m (the latest start, then
        the last in line order) has one of ``responses`` recorded by m months. Clinicians judge
        the therapy in course: a patient who responded to a first line and then changed agents
        within the tier is, at month m, a non-responder on the new line until it responds.
        """
        row = self.lines["row"].to_numpy()
        start = self.lines["start_month"].to_numpy()
        answered = self.lines["best_response"].isin(list(responses)).to_numpy()
        response = np.where(answered, self.lines["response_month"].fillna(np.inf).to_numpy(), np.inf)
        position = np.arange(len(row))
        out = np.zeros((len(self), months), bool)
        for m in range(months):
            current = np.full(len(self), -1)
            started = start <= m
            np.maximum.at(current, row[started], position[started])  # lines are in start order
            seen = current >= 0
            out[seen, m] = response[current[seen]] <= m
        return out

    def take(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Return the arrays of ``rows`` (a bootstrap sample, with repeats)."""
        return {
            "time": self.time[rows],
            "status": self.status[rows],
            "covariates": self.covariates[rows],
            **{f"first_{tier}": self.first_start[tier][rows] for tier in ESCALATION_TIERS},
        }


def _outcome(patients: pd.DataFrame, zero: pd.Series, events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    after = events.merge(zero.rename("zero"), left_on="patient_id", right_index=True)
    after = after[after["date"] >= after["zero"]]
    first = after.groupby("patient_id", observed=True)["date"].min()
    relapse = months_between(zero, first.reindex(zero.index)).to_numpy()
    death = months_between(zero, patients["death_date"]).to_numpy()
    last = months_between(zero, patients["last_followup_date"]).to_numpy()
    relapse, death = np.nan_to_num(relapse, nan=np.inf), np.nan_to_num(death, nan=np.inf)
    time = np.minimum(np.minimum(relapse, death), last)
    status = np.where(relapse <= np.minimum(death, last), RELAPSE, np.where(death <= last, DEATH, CENSORED))
    return np.maximum(time, 0.0), status


def _covariates(patients: pd.DataFrame, names: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Baseline covariates, standardised; a missing value is the mean plus a missing indicator."""
    columns, labels = [], []
    for name in names:
        values = pd.to_numeric(patients[name], errors="coerce").astype(float).to_numpy()
        missing = np.isnan(values)
        if missing.all():
            continue  # never recorded (e.g. a centre without mRSS): nothing to adjust for
        columns.append(np.where(missing, np.nanmean(values), values))
        labels.append(name)
        if missing.any():
            columns.append(missing.astype(float))
            labels.append(f"{name} missing")
    if not columns:
        return np.empty((len(patients), 0)), ()
    x = np.column_stack(columns)
    spread = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return x, tuple(labels)


def timelines(cs: CaseSeries, covariates: Sequence[str]) -> Timelines:
    """Build the timelines of every patient with a line of therapy (see the module docstring)."""
    lines = cs.lines.sort_values(["patient_id", "start_date", "line"], kind="stable")
    zero = lines.groupby("patient_id", observed=True)["start_date"].min()
    patients = cs.patients.set_index("patient_id").loc[zero.index]
    time, status = _outcome(patients, zero, cs.events)
    row = pd.Series(np.arange(len(zero)), index=zero.index)
    line_rows = row.loc[lines["patient_id"]].to_numpy()
    start = months_between(
        zero.loc[lines["patient_id"]].reset_index(drop=True), lines["start_date"].reset_index(drop=True)
    ).to_numpy()
    tier = lines["tier"].astype(str).to_numpy()
    first_start = {}
    for name in ESCALATION_TIERS:
        first = np.full(len(zero), np.inf)
        np.minimum.at(first, line_rows[tier == name], start[tier == name])
        first_start[name] = first
    response = months_between(
        zero.loc[lines["patient_id"]].reset_index(drop=True), lines["response_date"].reset_index(drop=True)
    ).to_numpy()
    table = pd.DataFrame(
        {
            "row": line_rows,
            "start_month": start,
            "best_response": lines["best_response"].astype(str).to_numpy(),
            "response_month": response,
        }
    )
    x, names = _covariates(patients, covariates)
    unrecorded = tuple(c for c in covariates if c not in names)
    return Timelines(patients.reset_index(), time, status, first_start, table, x, names, unrecorded)
