"""Write a case-report-heavy synthetic literature (events/n per study) for the pooling references.

60 single-patient case reports (a responder is published more often), 10 series of 5-33 patients
with study-level heterogeneity (logit-normal), two of them with every patient responding. Run once;
the CSV is committed and read by ``pooling.R``.
"""

from pathlib import Path

import numpy as np

rng = np.random.default_rng(20261201)
rows = []
for i in range(60):
    rows.append((f"case{i + 1:02d}", "case report", 1, int(rng.random() < 0.88)))
sizes = [5, 8, 10, 12, 15, 19, 22, 26, 30, 33]
for i, n in enumerate(sizes):
    p = 1 / (1 + np.exp(-(np.log(0.65 / 0.35) + 0.6 * rng.standard_normal())))
    x = n if i in (0, 3) else int(rng.binomial(n, p))
    rows.append((f"series{i + 1:02d}", "series", n, x))
out = Path(__file__).parent / "data" / "literature_props.csv"
with out.open("w") as f:
    f.write("study,source_type,n,events\n")
    for study, kind, n, x in rows:
        f.write(f"{study},{kind},{n},{x}\n")
print(f"wrote {out}")
