"""Analysis frames: time-to-event data derived from a validated case series.

* :func:`relapse_frame` — line level: one row per line of therapy, origin at the line's start
  (or at its response date), first relapse or progression on the line = event 1, death without
  it = event 2, otherwise censored at the next line's start or the last follow-up.
* :func:`survival_frame` — patient level from diagnosis: overall survival, or time to first
  relapse/progression with death as the competing event.
* :func:`tier_history` — counting-process (start, stop] rows from diagnosis with the tier in
  force, split at every relapse/progression.

Only accepted rows of the :class:`~sclero_analysis.caseseries.CaseSeries` enter. Rows that
cannot be analysed (zero follow-up) are left out, listed by :func:`exclusions` and
announced with an :class:`~sclero_analysis.exceptions.ExcludedRowsWarning`.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from sclero_analysis.caseseries import CaseSeries
from sclero_analysis.caseseries.schema import INVOLVEMENT
from sclero_analysis.conventions import CENSORED, DAYS_PER_MONTH, DEATH, RELAPSE
from sclero_analysis.exceptions import ExcludedRowsWarning
from sclero_analysis.therapy import TIERS

#: Patient covariates joined to every frame.
COVARIATES = ("site", "age_at_diagnosis_years", "sex", "mrss", "paraprotein", *INVOLVEMENT)
EXCLUSION_COLUMNS = ("patient_id", "line", "reason")
#: The identifier column every frame names in ``frame.attrs["cluster"]``: rows of one patient
#: (a patient's lines, or intervals) are correlated, and estimators are told to cluster on it.
CLUSTER = "patient_id"
#: The frames' tier: the categories in their order (``ivig`` first, the reference) but not an
#: ordered categorical, since ``other`` has no place in the order of intensity (a trend test
#: across tiers needs explicit scores).
TIER_LEVELS = pd.CategoricalDtype(list(TIERS), ordered=False)
#: What the event codes of the relapse frames mean, in words (``frame.attrs["event_labels"]``,
#: with ``frame.attrs["time_origin"]``: figures title their axes with them).
RELAPSE_EVENTS = {RELAPSE: "relapse", DEATH: "death"}


def months_between(start: pd.Series, stop: pd.Series) -> pd.Series:
    """Return ``stop - start`` in months (days / 30.4375).

    Examples
    --------
    >>> months_between(pd.Series(pd.to_datetime(["2020-01-01"])),
    ...                pd.Series(pd.to_datetime(["2021-01-01"]))).round(4).tolist()
    [12.0246]
    """
    return (stop - start).dt.days / DAYS_PER_MONTH


def _first_event_in_window(windows: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """First relapse/progression with origin < date <= window end, per window row."""
    joined = windows.reset_index(names="_row").merge(events, on="patient_id")
    inside = joined[(joined["date"] > joined["origin"]) & (joined["date"] <= joined["window_end"])]
    first = inside.sort_values(["_row", "date"]).drop_duplicates("_row")
    return first.set_index("_row")[["date", "kind"]].reindex(windows.index)


def _outcome(windows: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Event code, event date and type for windows with origin, window_end and death_date."""
    first = _first_event_in_window(windows, events)
    died = (windows["death_date"] > windows["origin"]) & (
        windows["death_date"] <= windows["window_end"])
    relapsed = first["date"].notna()
    event = np.select([relapsed, died], [RELAPSE, DEATH], CENSORED)
    stop = first["date"].where(relapsed, windows["death_date"].where(died, windows["window_end"]))
    kind = first["kind"].astype(object).where(relapsed, np.where(died, "death", "censored"))
    return pd.DataFrame(
        {"event": event.astype("int64"), "event_date": stop,
         "event_type": pd.Categorical(kind, ["relapse", "progression", "death", "censored"])},
        index=windows.index,
    )


def _exclude(frame: pd.DataFrame, mask: pd.Series, reason: str, where: str,
             endpoint: tuple[str, dict[int, str]]) -> pd.DataFrame:
    """Drop rows that cannot be analysed; list them in attrs and warn once."""
    excluded = frame.loc[mask, ["patient_id"]].assign(
        line=frame.loc[mask, "line"] if "line" in frame else pd.NA, reason=reason)
    kept = frame.loc[~mask].reset_index(drop=True)
    # plain records, not a DataFrame: pandas compares attrs with == when concatenating frames
    kept.attrs["exclusions"] = excluded[list(EXCLUSION_COLUMNS)].to_dict("records")
    _conventions(kept, *endpoint)
    if len(excluded):
        examples = ", ".join(f"{p} line {ln}" for p, ln in excluded[["patient_id", "line"]].head(3).values)
        warnings.warn(
            f"{len(excluded)} {where} left out ({reason}): {examples}"
            f"{' …' if len(excluded) > 3 else ''}; see sa.exclusions(frame)",
            ExcludedRowsWarning, stacklevel=3,
        )
    return kept


def _conventions(frame: pd.DataFrame, time_origin: str, event_labels: dict[int, str]) -> None:
    """Name the cluster column, time origin and events in attrs; make the tier unordered, in place."""
    frame.attrs["cluster"] = CLUSTER
    frame.attrs["time_origin"] = time_origin
    frame.attrs["event_labels"] = dict(event_labels)
    if "tier" in frame.columns:
        frame["tier"] = frame["tier"].astype(TIER_LEVELS)


def exclusions(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the rows an analysis frame left out, with the reason.

    Parameters
    ----------
    frame : pandas.DataFrame
        A frame from :func:`relapse_frame`, :func:`survival_frame` or :func:`tier_history`.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id, line, reason`` (empty when nothing was left out).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> exclusions(sa.relapse_frame(sa.read_case_series("tests/data/good"))).empty
    True
    """
    return pd.DataFrame(frame.attrs.get("exclusions", []), columns=list(EXCLUSION_COLUMNS))


def _patients(cs: CaseSeries) -> pd.DataFrame:
    return cs.patients.set_index("patient_id")


def relapse_frame(
    cs: CaseSeries, origin: Literal["line_start", "response"] = "line_start"
) -> pd.DataFrame:
    """Line-level time to relapse: one row per line of therapy.

    Parameters
    ----------
    cs : CaseSeries
        A validated case series (only accepted rows are used).
    origin : {"line_start", "response"}
        ``line_start``: every line, time from its start. ``response``: only lines with CR or
        PR, time from the response date (relapse after response).

    Returns
    -------
    pandas.DataFrame
        One row per analysable line, sorted by patient and line, with columns
        ``patient_id, line, tier, agents, adjunct_ecp, best_response, origin_date,
        window_end_date, event_date, time_months, event, event_type`` and the covariates
        ``site, age_at_diagnosis_years, sex, mrss, paraprotein, neuro, cardiac, pulmonary,
        renal, musculoskeletal, gastrointestinal``. ``event`` is 1 for the first relapse or
        progression after the origin and up to the window end, 2 for death without it, 0 for
        censored at the next line's start or the last follow-up. :func:`exclusions` lists the
        lines left out (zero follow-up). ``frame.attrs["cluster"]`` is ``"patient_id"``: a
        patient's lines are correlated, and the estimators warn unless told ``cluster=``.
        ``attrs["time_origin"]`` ("start of line" or "response") and ``attrs["event_labels"]``
        (``{1: "relapse", 2: "death"}``) say what the times and codes mean (figures title their
        axes with them). ``tier`` is an unordered categorical (``other`` has no place in the
        order).

    Warns
    -----
    ExcludedRowsWarning
        When lines have zero follow-up (the next line starts on the origin day, or follow-up
        ends then); they cannot enter a time-to-event analysis.

    Notes
    -----
    An event on the origin day belongs to the previous line (it led to the switch); one on the
    next line's start day belongs to this line. ``time_months`` is days / 30.4375.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> df = sa.relapse_frame(sa.read_case_series("tests/data/good"))
    >>> df[["patient_id", "line", "tier", "time_months", "event"]].head(2)
      patient_id  line               tier  time_months  event
    0       P001     1               ivig    31.474333      1
    1       P001     2  immunosuppression    53.618070      0
    """
    if origin not in ("line_start", "response"):
        raise ValueError(f"origin must be 'line_start' or 'response', not {origin!r}")
    patients = _patients(cs)
    lines = cs.lines.sort_values(["patient_id", "line"]).reset_index(drop=True)
    next_start = lines.groupby("patient_id")["start_date"].shift(-1)
    windows = lines[["patient_id", "line"]].assign(
        origin=lines["start_date"] if origin == "line_start" else lines["response_date"],
        window_end=next_start.fillna(lines["patient_id"].map(patients["last_followup_date"])),
        death_date=lines["patient_id"].map(patients["death_date"]),
    )
    outcome = _outcome(windows, cs.events)
    frame = pd.concat([
        lines[["patient_id", "line", "tier", "agents", "adjunct_ecp", "best_response"]],
        windows[["origin", "window_end"]].rename(columns=lambda c: f"{c}_date"),
        outcome[["event_date"]],
        months_between(windows["origin"], outcome["event_date"]).rename("time_months"),
        outcome[["event", "event_type"]],
        patients.loc[lines["patient_id"], list(COVARIATES)].reset_index(drop=True),
    ], axis=1)
    if origin == "response":
        frame = frame[lines["best_response"].isin(["CR", "PR"])].reset_index(drop=True)
    endpoint = ("start of line" if origin == "line_start" else "response", RELAPSE_EVENTS)
    return _exclude(frame, frame["time_months"] <= 0, "zero follow-up", "lines", endpoint)


def survival_frame(
    cs: CaseSeries, endpoint: Literal["overall", "relapse"] = "overall"
) -> pd.DataFrame:
    """Patient-level time from diagnosis: overall survival or first relapse.

    Parameters
    ----------
    cs : CaseSeries
        A validated case series.
    endpoint : {"overall", "relapse"}
        ``overall``: event 1 = death from any cause. ``relapse``: event 1 = first relapse or
        progression, 2 = death without it.

    Returns
    -------
    pandas.DataFrame
        One row per patient: ``patient_id, tier`` (tier of the first line, the comparison at
        diagnosis; missing for untreated patients), ``n_lines, event_date, time_months, event,
        event_type`` and the covariates. ``exclusions(frame)`` lists patients with zero
        follow-up. ``attrs["time_origin"]`` is "diagnosis"; ``attrs["event_labels"]`` names
        the codes (``{1: "death"}`` or ``{1: "relapse", 2: "death"}``).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> os_df = sa.survival_frame(sa.read_case_series("tests/data/good"))
    >>> int(os_df["event"].sum())  # two deaths
    2
    """
    if endpoint not in ("overall", "relapse"):
        raise ValueError(f"endpoint must be 'overall' or 'relapse', not {endpoint!r}")
    patients = cs.patients.reset_index(drop=True)
    windows = patients[["patient_id"]].assign(
        origin=patients["diagnosis_date"], window_end=patients["last_followup_date"],
        death_date=patients["death_date"],
    )
    no_events = cs.events.iloc[:0] if endpoint == "overall" else cs.events
    outcome = _outcome(windows, no_events)
    if endpoint == "overall":
        outcome["event"] = outcome["event"].replace({DEATH: RELAPSE})
    first_lines = cs.lines.sort_values("line").drop_duplicates("patient_id").set_index("patient_id")
    frame = pd.concat([
        patients[["patient_id"]],
        patients["patient_id"].map(first_lines["tier"]).astype(cs.lines["tier"].dtype).rename("tier"),
        patients["patient_id"].map(cs.lines["patient_id"].value_counts()).fillna(0).astype("int64")
        .rename("n_lines"),
        outcome[["event_date"]],
        months_between(windows["origin"], outcome["event_date"]).rename("time_months"),
        outcome[["event", "event_type"]],
        patients[list(COVARIATES)],
    ], axis=1)
    events = {RELAPSE: "death"} if endpoint == "overall" else RELAPSE_EVENTS
    return _exclude(frame, frame["time_months"] <= 0, "zero follow-up", "patients",
                    ("diagnosis", events))


def tier_history(cs: CaseSeries) -> pd.DataFrame:
    """Counting-process rows: the tier in force over (start, stop] months from diagnosis.

    Each line contributes the interval from its start to the next line's start (or the last
    follow-up), split at every relapse or progression inside it, so a patient's rows chain
    without gaps from the first line's start (delayed entry) to the end of follow-up.

    Parameters
    ----------
    cs : CaseSeries
        A validated case series.

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id, line, tier, start_months, stop_months, event`` (1 relapse or
        progression at ``stop_months``, 2 death there, 0 otherwise), ``prior_events`` (events
        before this row: keep ``prior_events == 0`` for time to first event) and the
        covariates. Zero-length intervals are left out and listed by ``exclusions(frame)``.

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> th = sa.tier_history(sa.read_case_series("tests/data/good"))
    >>> th.loc[th["patient_id"] == "P001", ["line", "start_months", "stop_months", "event"]]
       line  start_months  stop_months  event
    0     1      0.591376    32.065708      1
    1     1     32.065708    33.905544      0
    2     2     33.905544    87.523614      0
    """
    patients = _patients(cs)
    lines = cs.lines.sort_values(["patient_id", "line"]).reset_index(drop=True)
    end = lines.groupby("patient_id")["start_date"].shift(-1).fillna(
        lines["patient_id"].map(patients["last_followup_date"]))
    cuts = lines[["patient_id", "line", "start_date"]].assign(end=end).merge(
        cs.events[["patient_id", "date"]], on="patient_id", how="left")
    cuts = cuts[(cuts["date"] > cuts["start_date"]) & (cuts["date"] < cuts["end"])]
    # a zero-length line keeps its (start, start] row so that it is excluded visibly below
    bounds = pd.concat([
        lines[["patient_id", "line"]].assign(cut=lines["start_date"]),
        lines[["patient_id", "line"]].assign(cut=end),
        cuts[["patient_id", "line"]].assign(cut=cuts["date"]).drop_duplicates(),
    ]).sort_values(["patient_id", "line", "cut"], kind="stable")
    bounds["next"] = bounds.groupby(["patient_id", "line"])["cut"].shift(-1)
    rows = bounds.dropna(subset=["next"]).rename(columns={"cut": "start_date", "next": "stop_date"})
    rows = rows.merge(lines[["patient_id", "line", "tier"]], on=["patient_id", "line"])
    event_days = cs.events.groupby("patient_id")["date"].agg(set)
    has_event = [d in event_days.get(p, ())
                 for p, d in zip(rows["patient_id"], rows["stop_date"], strict=True)]
    died = rows["stop_date"].eq(rows["patient_id"].map(patients["death_date"]))
    diagnosis = rows["patient_id"].map(patients["diagnosis_date"])
    frame = pd.concat([
        rows[["patient_id", "line", "tier"]].reset_index(drop=True),
        pd.DataFrame({
            "start_months": months_between(diagnosis, rows["start_date"]).to_numpy(),
            "stop_months": months_between(diagnosis, rows["stop_date"]).to_numpy(),
            "event": np.select([np.array(has_event), died.to_numpy()], [RELAPSE, DEATH], CENSORED),
        }),
    ], axis=1)
    frame["prior_events"] = frame.groupby("patient_id")["event"].transform(
        lambda e: (e == RELAPSE).cumsum().shift(fill_value=0)).astype("int64")
    frame = frame.join(patients[list(COVARIATES)], on="patient_id")
    return _exclude(frame, frame["stop_months"] <= frame["start_months"], "zero-length interval",
                    "intervals", ("diagnosis", RELAPSE_EVENTS))


def cohort_flow(cs: CaseSeries, frame: pd.DataFrame | None = None,
                covariates: tuple[str, ...] = ()) -> pd.DataFrame:
    """Cohort flow: patients → lines → analysable lines, with what was left out and why.

    Parameters
    ----------
    cs : CaseSeries
    frame : pandas.DataFrame, optional
        The analysis frame (default ``relapse_frame(cs)``).
    covariates : tuple of str
        Adjustment covariates: a last step counts the lines with all of them recorded.

    Returns
    -------
    pandas.DataFrame
        One row per step: ``step, n, left_out, reasons`` (``reasons``: the rules broken or
        the exclusion reasons, with counts).

    Examples
    --------
    >>> import sclero_analysis as sa
    >>> flow = cohort_flow(sa.load_example())
    >>> list(flow["step"])[:2]
    ['patients read', 'patients accepted']
    """
    if frame is None:
        frame = relapse_frame(cs)
    errors = cs.errors

    def rules(table: str) -> str:
        counts = errors.loc[errors["table"] == table, "rule"].value_counts()
        return "; ".join(f"{rule} ({n})" for rule, n in counts.items())

    read = {t: int(cs.counts.loc[t, "read"]) for t in ("patients", "lines")}
    rows = [
        ("patients read", read["patients"], 0, ""),
        ("patients accepted", len(cs.patients), read["patients"] - len(cs.patients), rules("patients")),
        ("lines read", read["lines"], 0, ""),
        ("lines accepted", len(cs.lines), read["lines"] - len(cs.lines), rules("lines")),
    ]
    excluded = exclusions(frame)
    reasons = "; ".join(f"{r} ({n})" for r, n in excluded["reason"].value_counts().items())
    rows.append(("analysable lines", len(frame), len(excluded), reasons))
    if covariates:
        missing = frame[list(covariates)].isna()
        complete = int((~missing.any(axis=1)).sum())
        detail = "; ".join(f"{c} missing ({int(n)})" for c, n in missing.sum().items() if n)
        rows.append(("lines with complete covariates", complete, len(frame) - complete, detail))
    return pd.DataFrame(rows, columns=["step", "n", "left_out", "reasons"])
