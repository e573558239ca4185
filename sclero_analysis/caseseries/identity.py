"""Which patient each row belongs to, and ids that name no patient or the same one twice.

Patient ids are compared as integer keys shared by the three tables (one factorisation of all
ids), so that joins and groupings of large registries stay fast. Ids equal up to letter case or
to look-alike letters (a Cyrillic ``Р`` for a Latin ``P``) are probable duplicates when two
patients carry them, and the likely intended patient when a line or event names one that does
not exist; the report says which, since such ids look identical on screen.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sclero_analysis.caseseries.normalise import foreign_letters, look_alike
from sclero_analysis.caseseries.problems import ERROR, Problem, problems_at
from sclero_analysis.caseseries.schema import TABLES

Frames = Mapping[str, pd.DataFrame]
Keys = dict[str, np.ndarray]
PATIENT_DATES = ("diagnosis_date", "last_followup_date", "death_date")


def _ids(frame: pd.DataFrame) -> np.ndarray:
    return frame["patient_id"].to_numpy(dtype=object, na_value=None)


def patient_keys(frames: Frames) -> Keys:
    """Return an integer key per row of each table: equal ids, equal keys; -1 for no id.

    Examples
    --------
    >>> frames = {t: pd.DataFrame({"patient_id": pd.array(ids, dtype="string")})
    ...           for t, ids in [("patients", ["A", "B"]), ("lines", ["B", None]), ("events", [])]}
    >>> {t: k.tolist() for t, k in patient_keys(frames).items()}
    {'patients': [0, 1], 'lines': [1, -1], 'events': []}
    """
    ids = [_ids(frames[table]) for table in TABLES]
    codes, _ = pd.factorize(np.concatenate(ids) if ids else np.array([], dtype=object))
    bounds = np.cumsum([0] + [len(i) for i in ids])
    return {t: codes[bounds[i]:bounds[i + 1]] for i, t in enumerate(TABLES)}


def with_patient_dates(frame: pd.DataFrame, table: str, frames: Frames, keys: Keys) -> pd.DataFrame:
    """Join each row's patient dates (of patients whose id is on one row only).

    Returns the frame's columns other than text and flags, plus the three patient dates.
    """
    patients, own = frames["patients"], keys["patients"]
    unique = (own >= 0) & ~pd.Series(own).duplicated(keep=False).to_numpy()
    size = int(max((k.max(initial=-1) for k in keys.values()), default=-1)) + 2
    joined = {}
    for column in PATIENT_DATES:
        by_key = np.full(size, np.datetime64("NaT"), dtype="datetime64[ns]")
        by_key[own[unique]] = patients[column].to_numpy(dtype="datetime64[ns]")[unique]
        joined[column] = by_key[keys[table]]  # a key of -1 reads the last slot: NaT
    kept = {c: frame[c] for c in frame.columns if c not in ("site", "agents", "adjunct_ecp")}
    return pd.DataFrame({**kept, **joined}, index=frame.index)


def _fold(value: str) -> str:
    """Fold an id for comparison: letter case and look-alike letters ignored."""
    return value.casefold() if value.isascii() else look_alike(value).casefold()


def _resembling(ids: np.ndarray) -> np.ndarray:
    """Rows whose id, folded, equals the folded id of a row with a different id."""
    exact, distinct = pd.factorize(ids)
    folded, _ = pd.factorize(np.array([_fold(i) for i in distinct], dtype=object))
    shared = np.bincount(folded, minlength=1) > 1  # distinct ids per folded id
    return (exact >= 0) & np.append(shared[folded], False)[exact]


def duplicate_id_rules(frames: Frames, keys: Keys) -> list[Problem]:
    """Patients whose ids differ only in letter case or look-alike letters (errors).

    Such ids look the same on screen and in print; two patients carrying them are most likely
    one patient entered twice, and lines or events cannot be told apart, so both rows are
    rejected until the ids are made equal or clearly different.
    """
    patients = frames["patients"]
    ids = _ids(patients)
    hits = _resembling(ids)
    if not hits.any():
        return []
    rows = patients.index[hits]
    groups: dict[str, list[tuple[int, str]]] = {}
    for row, value in zip(rows, ids[hits], strict=True):
        groups.setdefault(_fold(value), []).append((int(row), value))
    messages = []
    for value in ids[hits]:
        group = groups[_fold(value)]
        others = [f"'{o}' (row {r})" for r, o in group if o != value]
        how = "letter case" if all(value.casefold() == o.casefold() for _, o in group) else (
            "look-alike letters" + _letters(value))
        messages.append(f"patient_id '{value}' differs from {', '.join(others)} only in {how}: "
                        "probably one patient entered twice; give both rows one id, or clearly "
                        "different ids")
    return problems_at("patients", rows, "patient_id", ids[hits], severity=ERROR,
                       rule="probable_duplicate_id", message=messages)


def _letters(value: str) -> str:
    letters = foreign_letters(value)
    return f" ({', '.join(letters)})" if letters else ""


def foreign_key_rules(frames: Frames, rejected_patients: set[int], keys: Keys | None = None
                      ) -> list[Problem]:
    """Lines and events must belong to a patient that exists and was accepted."""
    keys = keys if keys is not None else patient_keys(frames)
    patients = frames["patients"]
    own = keys["patients"]
    rejected_rows = np.isin(patients.index.to_numpy(), sorted(rejected_patients))
    problems = []
    for table in ("lines", "events"):
        frame, key = frames[table], keys[table]
        unknown = (key >= 0) & ~np.isin(key, own)
        rejected = (key >= 0) & np.isin(key, own[rejected_rows & (own >= 0)])
        ids = _ids(frame)
        hint = _hints(_ids(patients), ids[unknown])
        problems += problems_at(
            table, frame.index[unknown], "patient_id", ids[unknown], severity=ERROR,
            rule="unknown_patient",
            message=[f"patient '{i}' is not in the patients table{hint(i)}" for i in ids[unknown]])
        problems += problems_at(
            table, frame.index[rejected], "patient_id", ids[rejected], severity=ERROR,
            rule="patient_rejected",
            message=[f"patient '{i}' was rejected (see the patients table's errors), so this row "
                     "cannot be analysed" for i in ids[rejected]])
    return problems


def _hints(known: np.ndarray, unknown: np.ndarray):
    """Explain an unknown id that resembles a known one (letter case, look-alike letters)."""
    if not len(unknown):
        return lambda value: ""
    by_case = {i.casefold(): i for i in known if i is not None}
    by_look = {_fold(i): i for i in known if i is not None}
    by_number = {i.lstrip("0"): i for i in known if i is not None and i.isdigit()}

    def hint(value: str) -> str:
        if value.isdigit() and value.lstrip("0") in by_number:
            return (f"; '{by_number[value.lstrip('0')]}' is: the same number with other leading "
                    "zeros (a spreadsheet drops them from ids stored as numbers)")
        if value.casefold() in by_case:
            return f"; '{by_case[value.casefold()]}' is, and differs only in letter case"
        if _fold(value) in by_look:
            return (f"; '{by_look[_fold(value)]}' is, and looks the same but is written with "
                    f"other letters{_letters(value)}")
        return _letters(value)

    return hint
