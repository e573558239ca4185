"""Write tests/reference/data/table_lines.csv: the shipped registry's lines for tables.R.

Run from the repository root:  .venv/bin/python tests/reference/make_table_data.py
"""

from pathlib import Path

import sclero_analysis as sa

COLUMNS = ["tier", "age_at_diagnosis_years", "mrss", "sex", "paraprotein", "neuro"]

if __name__ == "__main__":
    df = sa.relapse_frame(sa.load_example())[COLUMNS]
    df.assign(neuro=df["neuro"].astype(int)).to_csv(
        Path(__file__).parent / "data" / "table_lines.csv", index=False, float_format="%.10g")
