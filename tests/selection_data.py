"""Case series with given numbers of responders and non-responders (for the selection tests)."""

from __future__ import annotations

from functools import cache

import pandas as pd

import sclero_analysis as sa
from sclero_analysis.caseseries.load import validate_tables

AGENTS = {"ivig": "IVIG", "immunosuppression": "IVIG; lenalidomide", "cytoreduction": "melphalan",
          "other": "methotrexate"}


@cache
def _prototype() -> sa.CaseSeries:
    """One validated patient per tier and response (CR or SD), one line each, no events."""
    template = sa.load_example().patients.iloc[0]
    patients, lines = [], []
    for tier, agents in AGENTS.items():
        for response in ("CR", "SD"):
            pid = f"{tier}-{response}"
            row = template.copy()
            row["patient_id"], row["site"], row["mrss"] = pid, "A", None
            row["diagnosis_date"] = pd.Timestamp("2015-01-01")
            row["last_followup_date"] = pd.Timestamp("2018-01-01")
            row["vital_status"], row["death_date"], row["death_cause"] = "alive", pd.NaT, None
            patients.append(row)
            lines.append({"patient_id": pid, "line": 1, "start_date": pd.Timestamp("2015-02-01"),
                          "end_date": pd.NaT, "agents": agents, "best_response": response,
                          "response_date": pd.Timestamp("2015-06-01") if response == "CR" else pd.NaT})
    events = pd.DataFrame({"patient_id": pd.Series(dtype=str), "date": pd.Series(dtype="datetime64[ns]"),
                           "kind": pd.Series(dtype=str)})
    return validate_tables({"patients": pd.DataFrame(patients).reset_index(drop=True),
                            "lines": pd.DataFrame(lines), "events": events}, source="counts")


def counts_series(cells: dict[str, tuple[int, int]], prefix: str = "P", mrss=None) -> sa.CaseSeries:
    """One line per patient: per tier, ``(responders, non-responders)`` (CR vs SD).

    ``mrss``: optional list of baseline scores, one per patient in order.
    """
    proto = _prototype()
    keys = [f"{tier}-{response}" for tier, (yes, no) in cells.items()
            for response, count in (("CR", yes), ("SD", no)) for _ in range(count)]
    ids = pd.Series([f"{prefix}{k + 1:04d}" for k in range(len(keys))],
                    dtype=proto.patients["patient_id"].dtype)
    patients = proto.patients.set_index("patient_id").loc[keys].reset_index(drop=True)
    patients.insert(0, "patient_id", ids)
    if mrss is not None:
        patients["mrss"] = pd.Series(mrss, dtype=float)
    lines = proto.lines.set_index("patient_id").loc[keys].reset_index(drop=True)
    lines.insert(0, "patient_id", ids)
    return sa.CaseSeries(patients[proto.patients.columns], lines[proto.lines.columns], proto.events,
                         source="counts")
