"""Write tests/reference/data/causal_lines.csv: the shipped registry's lines for causal.R.

Run from the repository root:  .venv/bin/python tests/reference/make_causal_data.py
(the lines of the shipped synthetic registry with a recorded mRSS, the columns causal.R uses).
"""

from pathlib import Path

import sclero_analysis as sa

COLUMNS = ["patient_id", "line", "tier", "time_months", "event", "age_at_diagnosis_years", "mrss",
           "neuro", "cardiac"]

if __name__ == "__main__":
    df = sa.relapse_frame(sa.load_example()).dropna(subset=["mrss"])[COLUMNS]
    df = df.assign(neuro=df["neuro"].astype(int), cardiac=df["cardiac"].astype(int))
    df.to_csv(Path(__file__).parent / "data" / "causal_lines.csv", index=False, float_format="%.10g")
