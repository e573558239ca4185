"""Rules across rows and tables of a case series (docs/data_contract.md §3), on parsed frames.

Each rule looks at frames indexed by file row, with missing values where a cell could not be
read (those cells are already reported, so comparisons with them never fire), and the integer
patient keys of :func:`~sclero_analysis.caseseries.identity.patient_keys`, and returns the
problems it finds. Per-column rules (types, ranges, required values, unique patient ids) live in
the pandera models of :mod:`sclero_analysis.caseseries.schema`.

Two rules are warnings by design: lines of one patient that overlap in time (the analysis
censors a line at the next line's start, so the overlap changes no number, but the dates may
be wrong), and an age at diagnosis under 16 (scleromyxedema is a disease of adults; a child's
case is possible but rare, and 0 is a common placeholder). An age above 110 at the last
follow-up (age at diagnosis plus follow-up) is an error: one of the dates or the age is wrong.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sclero_analysis.caseseries.identity import (
    Keys,
    duplicate_id_rules,
    foreign_key_rules,
    with_patient_dates,
)
from sclero_analysis.caseseries.problems import ERROR, WARNING, Problem, problems_at

__all__ = ["CROSS_ROW_RULES", "event_rules", "foreign_key_rules", "line_rules", "patient_rules"]

Frames = dict[str, pd.DataFrame]
#: Oldest plausible age at the last follow-up, and youngest age at diagnosis without a warning.
MAX_AGE_YEARS = 110
YOUNGEST_USUAL_AGE = 16


def _iso(value: object) -> str:
    return "?" if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _flag(
    table: str,
    frame: pd.DataFrame,
    mask: pd.Series | np.ndarray,
    column: str,
    severity: str,
    rule: str,
    message: Callable[[pd.Series], str],
    **context: np.ndarray,
) -> list[Problem]:
    """Report the rows where ``mask`` holds; ``context`` adds per-row values for the message."""
    if isinstance(mask, pd.Series):
        mask = mask.fillna(False).to_numpy(dtype=bool)
    if not mask.any():
        return []
    hits = frame[mask].assign(**{name: values[mask] for name, values in context.items()})
    return problems_at(
        table, hits.index, column, hits[column], severity=severity, rule=rule,
        message=[message(record) for _, record in hits.iterrows()],
    )


def _age_rules(p: pd.DataFrame) -> list[Problem]:
    followed = (p["last_followup_date"] - p["diagnosis_date"]).dt.days / 365.25
    age = p["age_at_diagnosis_years"]
    age_at_end = age + followed
    in_range = (age >= 0) & (age <= MAX_AGE_YEARS)  # outside it, the age is an error already
    return [
        *_flag("patients", p, in_range & (age_at_end > MAX_AGE_YEARS), "age_at_diagnosis_years",
               ERROR, "implausible_age",
               lambda r: f"age {r.age_at_diagnosis_years:g} at diagnosis "
                         f"({_iso(r.diagnosis_date)}) makes the patient {r.age_at_end:.0f} at the "
                         f"last follow-up ({_iso(r.last_followup_date)}): the age or a date is "
                         "wrong", age_at_end=age_at_end.to_numpy()),
        *_flag("patients", p, in_range & (age < YOUNGEST_USUAL_AGE),
               "age_at_diagnosis_years", WARNING, "implausible_age",
               lambda r: f"age at diagnosis {r.age_at_diagnosis_years:g}: scleromyxedema is a "
                         "disease of adults (0 is often a placeholder); check it"),
    ]


def patient_rules(frames: Frames, keys: Keys) -> list[Problem]:
    """Follow-up after diagnosis; death date iff dead, within follow-up; cause only if dead.

    Also: ages that cannot be (see the module notes) and ids equal up to letter case.
    """
    p = frames["patients"]
    dead, alive = p["vital_status"] == "dead", p["vital_status"] == "alive"
    return [
        *_age_rules(p),
        *duplicate_id_rules(frames, keys),
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


def _neighbours(values: np.ndarray, seq: np.ndarray, step: int, fill) -> np.ndarray:
    """Return, for rows in patient-and-line order ``seq``, the value ``step`` rows away.

    ``step`` is -1 (previous line) or +1 (next line); the first (or last) row of ``seq`` gets
    ``fill``, and rows outside ``seq`` too. Callers mask where the patient changes.
    """
    out = np.full(len(values), fill, dtype=values.dtype)
    if not len(seq):
        return out
    shifted = np.roll(values[seq], -step)
    edge = 0 if step < 0 else -1
    shifted[edge] = fill
    out[seq] = shifted
    return out


def _line_sequence(lines: pd.DataFrame, key: np.ndarray) -> list[Problem]:
    """Check line numbers are unique and consecutive per patient, and start in that order.

    Lines that overlap in time are warned about (see the module notes).
    """
    number = lines["line"].to_numpy(dtype=float, na_value=np.nan)
    usable = np.flatnonzero((key >= 0) & ~np.isnan(number))
    order = usable[np.lexsort((number[usable], key[usable]))]
    same = (key[order][1:] == key[order][:-1]) & (number[order][1:] == number[order][:-1])
    repeated = np.zeros(len(order), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    duplicated = np.zeros(len(lines), dtype=bool)
    duplicated[order[repeated]] = True
    problems = _flag("lines", lines, duplicated, "line", ERROR, "duplicate_line",
                     lambda r: f"patient {r.patient_id} has line {r.line} more than once")
    seq = order[~repeated]  # one patient after the other, lines in order, duplicates aside
    patient = np.where(np.isin(np.arange(len(lines)), seq), key, -1)
    first = patient != _neighbours(patient, seq, -1, -2)
    last = patient != _neighbours(patient, seq, +1, -2)
    start = lines["start_date"].to_numpy(dtype="datetime64[ns]")
    nat = np.datetime64("NaT")
    context = {
        "previous_line": np.where(first, 0, _neighbours(number, seq, -1, 0.0)),
        "previous_start": np.where(first, nat, _neighbours(start, seq, -1, nat)),
        "next_line": np.where(last, np.nan, _neighbours(number, seq, +1, np.nan)),
        "next_start": np.where(last, nat, _neighbours(start, seq, +1, nat)),
    }
    in_sequence = patient >= 0
    problems += _flag(
        "lines", lines, in_sequence & (number != context["previous_line"] + 1), "line", ERROR,
        "non_consecutive_lines",
        lambda r: f"patient {r.patient_id}: line {r.line} follows line {int(r.previous_line)} "
                  "(lines are numbered 1, 2, 3 … without gaps)", **context)
    problems += _flag(
        "lines", lines, in_sequence & (start < context["previous_start"]), "start_date", ERROR,
        "lines_out_of_order",
        lambda r: f"line {r.line} starts {_iso(r.start_date)}, before line {r.line - 1} "
                  f"({_iso(r.previous_start)})", **context)
    return problems + _overlaps(lines, in_sequence, context)


def _overlaps(lines: pd.DataFrame, in_sequence: np.ndarray, context: dict) -> list[Problem]:
    """Warn where a line ends after the next line starts, or both start the same day."""
    next_start = context["next_start"]
    ends_late = in_sequence & (lines["end_date"].to_numpy(dtype="datetime64[ns]") > next_start)
    same_day = in_sequence & (lines["start_date"].to_numpy(dtype="datetime64[ns]") == next_start)
    return [
        *_flag("lines", lines, ends_late, "end_date", WARNING, "overlapping_lines",
               lambda r: f"line {r.line} ends {_iso(r.end_date)}, after line {r.next_line:.0f} "
                         f"starts ({_iso(r.next_start)}): the lines overlap. Line {r.line} is "
                         f"followed only until line {r.next_line:.0f} starts; check the dates",
               **context),
        *_flag("lines", lines, same_day & ~ends_late, "start_date", WARNING, "overlapping_lines",
               lambda r: f"lines {r.line} and {r.next_line:.0f} both start "
                         f"{_iso(r.start_date)}: line {r.line} has no time of its own (one "
                         "combined line?)", **context),
    ]


def line_rules(frames: Frames, keys: Keys) -> list[Problem]:
    """Line dates in order and within follow-up; response date for CR/PR, after the start."""
    lines = with_patient_dates(frames["lines"], "lines", frames, keys)
    responded = lines["best_response"].isin(["CR", "PR"])
    return [
        *_line_sequence(lines, keys["lines"]),
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


def _responded_before(events: pd.DataFrame, lines: pd.DataFrame, keys: Keys) -> pd.Series:
    """For each event, whether the patient had a CR/PR response on or before its date."""
    responded = lines["best_response"].isin(["CR", "PR"]).to_numpy() & (keys["lines"] >= 0)
    first = pd.Series(lines["response_date"].to_numpy()[responded]).groupby(
        keys["lines"][responded]).min()
    size = int(max((k.max(initial=-1) for k in keys.values()), default=-1)) + 2
    by_key = np.full(size, np.datetime64("NaT"), dtype="datetime64[ns]")
    by_key[first.index.to_numpy()] = first.to_numpy(dtype="datetime64[ns]")
    return events["date"] >= by_key[keys["events"]]


def event_rules(frames: Frames, keys: Keys) -> list[Problem]:
    """Events within follow-up; relapses after a response; no repeated events."""
    events = with_patient_dates(frames["events"], "events", frames, keys)
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
        *_flag("events", events, relapse & ~_responded_before(events, frames["lines"], keys), "kind",
               WARNING, "relapse_without_response",
               lambda r: f"relapse on {_iso(r.date)} without an earlier CR/PR; should it be "
                         "'progression'?"),
        *_flag("events", events, repeated, "date", WARNING, "duplicate_event",
               lambda r: f"the same {r.kind} on {_iso(r.date)} is listed twice"),
    ]


CROSS_ROW_RULES = (patient_rules, line_rules, event_rules)
