"""Rules across rows and tables of a case series (DESIGN §3), on parsed frames.

Each rule looks at frames indexed by file row, with missing values where a cell could not be
read (those cells are already reported, so comparisons with them never fire), and returns the
problems it finds. Per-column rules (types, ranges, required values, unique patient ids) live in
the pandera models of :mod:`sclero_analysis.caseseries.schema`.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from sclero_analysis.caseseries.problems import ERROR, WARNING, Problem, problems_at

Frames = dict[str, pd.DataFrame]


def _iso(value: object) -> str:
    return "?" if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _flag(
    table: str,
    frame: pd.DataFrame,
    mask: pd.Series,
    column: str,
    severity: str,
    rule: str,
    message: Callable[[pd.Series], str],
) -> list[Problem]:
    hits = frame[mask.fillna(False).astype(bool)]
    return problems_at(
        table, hits.index, column, hits[column], severity=severity, rule=rule,
        message=[message(record) for _, record in hits.iterrows()],
    )


def _with_patient(frame: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Join each row's patient dates (only patients whose id is unique)."""
    unique = patients.drop_duplicates("patient_id", keep=False).dropna(subset=["patient_id"])
    dates = unique.set_index("patient_id")[["diagnosis_date", "last_followup_date", "death_date"]]
    return frame.join(dates, on="patient_id")


def patient_rules(frames: Frames) -> list[Problem]:
    """Follow-up after diagnosis; death date iff dead, within follow-up; cause only if dead."""
    p = frames["patients"]
    dead, alive = p["vital_status"] == "dead", p["vital_status"] == "alive"
    return [
        *_flag("patients", p, p["last_followup_date"] < p["diagnosis_date"], "last_followup_date",
               ERROR, "followup_before_diagnosis",
               lambda r: f"last follow-up {_iso(r.last_followup_date)} is before diagnosis "
                         f"{_iso(r.diagnosis_date)}"),
        *_flag("patients", p, dead & p["death_date"].isna(), "death_date", ERROR,
               "death_date_required", lambda r: "vital_status is dead but death_date is empty"),
        *_flag("patients", p, alive & p["death_date"].notna(), "death_date", ERROR,
               "death_without_dead_status",
               lambda r: f"death_date {_iso(r.death_date)} given but vital_status is alive"),
        *_flag("patients", p, (p["death_date"] > p["last_followup_date"])
               | (p["death_date"] < p["diagnosis_date"]), "death_date", ERROR,
               "death_outside_followup",
               lambda r: f"death {_iso(r.death_date)} is outside follow-up "
                         f"{_iso(r.diagnosis_date)} to {_iso(r.last_followup_date)}"),
        *_flag("patients", p, alive & p["death_cause"].notna(), "death_cause", WARNING,
               "death_cause_alive", lambda r: "death_cause given for a patient who is alive"),
    ]


def _line_sequence(lines: pd.DataFrame) -> list[Problem]:
    """Check line numbers are unique and consecutive per patient, and start in that order."""
    usable = lines.dropna(subset=["patient_id", "line"])
    duplicated = usable.duplicated(["patient_id", "line"], keep=False)
    problems = _flag("lines", usable, duplicated, "line", ERROR, "duplicate_line",
                     lambda r: f"patient {r.patient_id} has line {r.line} more than once")
    ordered = usable[~duplicated].sort_values(["patient_id", "line"], kind="stable")
    previous = ordered.groupby("patient_id")["line"].shift(fill_value=0)
    problems += _flag(
        "lines", ordered, ordered["line"] != previous + 1, "line", ERROR, "non_consecutive_lines",
        lambda r: f"patient {r.patient_id}: line {r.line} follows line "
                  f"{int(previous[r.name])} (lines are numbered 1, 2, 3 … without gaps)",
    )
    previous_start = ordered.groupby("patient_id")["start_date"].shift()
    problems += _flag(
        "lines", ordered, ordered["start_date"] < previous_start, "start_date", ERROR,
        "lines_out_of_order",
        lambda r: f"line {r.line} starts {_iso(r.start_date)}, before line {r.line - 1} "
                  f"({_iso(previous_start[r.name])})",
    )
    return problems


def line_rules(frames: Frames) -> list[Problem]:
    """Line dates in order and within follow-up; response date for CR/PR, after the start."""
    lines = _with_patient(frames["lines"], frames["patients"])
    responded = lines["best_response"].isin(["CR", "PR"])
    return [
        *_line_sequence(lines),
        *_flag("lines", lines, lines["start_date"] < lines["diagnosis_date"], "start_date",
               ERROR, "line_before_diagnosis",
               lambda r: f"line starts {_iso(r.start_date)}, before diagnosis "
                         f"{_iso(r.diagnosis_date)}"),
        *_flag("lines", lines, lines["start_date"] > lines["last_followup_date"], "start_date",
               ERROR, "line_after_followup",
               lambda r: f"line starts {_iso(r.start_date)}, after last follow-up "
                         f"{_iso(r.last_followup_date)}"),
        *_flag("lines", lines, lines["start_date"] > lines["death_date"], "start_date", ERROR,
               "line_after_death",
               lambda r: f"line starts {_iso(r.start_date)}, after death {_iso(r.death_date)}"),
        *_flag("lines", lines, lines["end_date"] < lines["start_date"], "end_date", ERROR,
               "end_before_start",
               lambda r: f"line ends {_iso(r.end_date)}, before it starts {_iso(r.start_date)}"),
        *_flag("lines", lines, lines["end_date"] > lines["last_followup_date"], "end_date",
               WARNING, "end_after_followup",
               lambda r: f"line ends {_iso(r.end_date)}, after last follow-up "
                         f"{_iso(r.last_followup_date)}"),
        *_flag("lines", lines, responded & lines["response_date"].isna(), "response_date",
               ERROR, "response_date_required",
               lambda r: f"best_response {r.best_response} needs a response_date"),
        *_flag("lines", lines, lines["response_date"] < lines["start_date"], "response_date",
               ERROR, "response_before_start",
               lambda r: f"response {_iso(r.response_date)} is before the line starts "
                         f"{_iso(r.start_date)}"),
        *_flag("lines", lines, lines["response_date"] > lines["last_followup_date"],
               "response_date", ERROR, "response_after_followup",
               lambda r: f"response {_iso(r.response_date)} is after last follow-up "
                         f"{_iso(r.last_followup_date)}"),
        *_flag("lines", lines, ~responded & lines["best_response"].notna()
               & lines["response_date"].notna(), "response_date", WARNING,
               "response_date_without_response",
               lambda r: f"response_date given but best_response is {r.best_response}"),
    ]


def _responded_before(events: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    """For each event, whether the patient had a CR/PR response on or before its date."""
    responses = lines[lines["best_response"].isin(["CR", "PR"])]
    first = responses.groupby("patient_id")["response_date"].min()
    return events["date"] >= events["patient_id"].map(first).astype("datetime64[ns]")


def event_rules(frames: Frames) -> list[Problem]:
    """Events within follow-up; relapses after a response; no repeated events."""
    events = _with_patient(frames["events"], frames["patients"])
    outside = (events["date"] < events["diagnosis_date"]) | (
        events["date"] > events["last_followup_date"])
    relapse = events["kind"] == "relapse"
    repeated = events.dropna(subset=["patient_id", "date", "kind"]).duplicated(
        ["patient_id", "date", "kind"]).reindex(events.index, fill_value=False)
    return [
        *_flag("events", events, outside, "date", ERROR, "event_outside_followup",
               lambda r: f"event on {_iso(r.date)} is outside follow-up "
                         f"{_iso(r.diagnosis_date)} to {_iso(r.last_followup_date)}"),
        *_flag("events", events, events["date"] > events["death_date"], "date", ERROR,
               "event_after_death",
               lambda r: f"event on {_iso(r.date)} is after death {_iso(r.death_date)}"),
        *_flag("events", events, relapse & ~_responded_before(events, frames["lines"]), "kind",
               WARNING, "relapse_without_response",
               lambda r: f"relapse on {_iso(r.date)} without an earlier CR/PR; should it be "
                         "'progression'?"),
        *_flag("events", events, repeated, "date", WARNING, "duplicate_event",
               lambda r: f"the same {r.kind} on {_iso(r.date)} is listed twice"),
    ]


def foreign_key_rules(frames: Frames, rejected_patients: set[int]) -> list[Problem]:
    """Lines and events must belong to a patient that exists and was accepted."""
    patients = frames["patients"]
    known = set(patients["patient_id"].dropna())
    rows = sorted(rejected_patients & set(patients.index))
    rejected_ids = set(patients.loc[rows, "patient_id"].dropna())
    problems = []
    for table in ("lines", "events"):
        frame = frames[table]
        ids = frame["patient_id"]
        problems += _flag(table, frame, ids.notna() & ~ids.isin(known), "patient_id", ERROR,
                          "unknown_patient",
                          lambda r: f"patient '{r.patient_id}' is not in the patients table")
        problems += _flag(table, frame, ids.isin(rejected_ids), "patient_id", ERROR,
                          "patient_rejected",
                          lambda r: f"patient '{r.patient_id}' was rejected (see the patients "
                                    "table's errors), so this row cannot be analysed")
    return problems


CROSS_ROW_RULES = (patient_rules, line_rules, event_rules)
