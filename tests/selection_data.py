"""Case series with given numbers of responders and non-responders (for the selection tests)."""

from __future__ import annotations

import pandas as pd

import sclero_analysis as sa
from sclero_analysis.caseseries.load import validate_tables


def counts_series(cells: dict[str, tuple[int, int]], prefix: str = "P", mrss=None) -> sa.CaseSeries:
    """One line per patient: per tier, ``(responders, non-responders)`` (CR vs SD).

    ``mrss``: optional list of baseline scores, one per patient in order.
    """
    agents = {"ivig": "IVIG", "immunosuppression": "IVIG; lenalidomide", "cytoreduction": "melphalan",
              "other": "methotrexate"}
    template = sa.load_example().patients.iloc[0]
    patients, lines = [], []
    number = 0
    for tier, (responders, others) in cells.items():
        for k in range(responders + others):
            number += 1
            pid = f"{prefix}{number:04d}"
            row = template.copy()
            row["patient_id"], row["site"] = pid, "A"
            row["diagnosis_date"] = pd.Timestamp("2015-01-01")
            row["last_followup_date"] = pd.Timestamp("2018-01-01")
            row["vital_status"], row["death_date"], row["death_cause"] = "alive", pd.NaT, None
            row["mrss"] = None if mrss is None else mrss[number - 1]
            patients.append(row)
            responded = k < responders
            lines.append({"patient_id": pid, "line": 1, "start_date": pd.Timestamp("2015-02-01"),
                          "end_date": pd.NaT, "agents": agents[tier],
                          "best_response": "CR" if responded else "SD",
                          "response_date": pd.Timestamp("2015-06-01") if responded else pd.NaT})
    events = pd.DataFrame({"patient_id": pd.Series(dtype=str), "date": pd.Series(dtype="datetime64[ns]"),
                           "kind": pd.Series(dtype=str)})
    return validate_tables({"patients": pd.DataFrame(patients).reset_index(drop=True),
                            "lines": pd.DataFrame(lines), "events": events}, source="counts")
