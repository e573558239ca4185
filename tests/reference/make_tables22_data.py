"""Write tests/reference/data/shipped_relapse.csv: the shipped registry's relapse frame for tables22.R.

Run from the repository root:  .venv/bin/python tests/reference/make_tables22_data.py
(every line of ``sa.relapse_frame(sa.load_example())`` with the columns tables22.R and
tests/test_summaries.py use; times written with 17 significant digits, so that R reads the
same doubles).
"""

from pathlib import Path

import sclero_analysis as sa

COLUMNS = ["patient_id", "line", "tier", "time_months", "event", "sex", "age_at_diagnosis_years",
           "mrss", "neuro"]

if __name__ == "__main__":
    df = sa.relapse_frame(sa.load_example())[COLUMNS]
    df = df.assign(neuro=df["neuro"].astype(int))
    df.to_csv(Path(__file__).parent / "data" / "shipped_relapse.csv", index=False,
              float_format="%.17g")
