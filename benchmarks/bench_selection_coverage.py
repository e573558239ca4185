"""Benchmark: coverage of the 95% interval for λ (sa.publication_odds) over simulated literatures.

Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_selection_coverage.py [n_reps]

For each true λ = L, every replicate draws a 2,000-patient registry, publishes its cases with
``PublicationDesign(odds_cr=L, odds_pr=L, dramatic_factor=1)`` (base probability 0.9 / L; L = 1:
``no_selection(0.3)``), draws an independent unselected 400-patient registry and estimates one λ
for all tiers (logistic model, profile-likelihood interval; Firth where a cell is empty).
Patients are drawn with replacement from two simulated pools (40,000 and 20,000 patients,
separate seeds) and publication is the filter's own draw on each reported line
(``selection.coverage.pooled_replicates``; tests/test_selection_simulation.py checks that this
gives the 2x2 table of the full publish-and-read pipeline, whose few-replicate version is the
slow test). Targets (issue 19): coverage 95% ± 3 points, mean log λ within 0.1 of log L; with no
selection the interval covers 1.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from sclero_analysis.selection.coverage import coverage_summary, pooled_replicates, reported_pool

ODDS = (1.0, 4.0, 8.0, 16.0)
SEED = 20261201


def main(n_reps: int = 1000) -> pd.DataFrame:
    """Run ``n_reps`` replicates per true λ; return coverage and bias per λ with their targets."""
    start = time.perf_counter()
    source_pool = reported_pool(40_000, seed=SEED)
    registry_pool = reported_pool(20_000, seed=SEED + 1)
    print(f"pools simulated in {time.perf_counter() - start:.0f} s", flush=True)
    rows = []
    for k, odds in enumerate(ODDS):
        start = time.perf_counter()
        reps = pooled_replicates(odds, n_reps, source_pool, registry_pool, seed=SEED + 10 + k)
        summary = coverage_summary(reps)
        summary["median_published_non_responders"] = reps["published_non_responders"].median()
        summary["seconds"] = time.perf_counter() - start
        rows.append(summary)
        print(summary.round(4).to_dict(), flush=True)
    table = pd.DataFrame(rows).set_index("odds_true")
    table["coverage_ok"] = (table["coverage"] - 0.95).abs() <= 0.03
    table["bias_ok"] = table["bias_log_odds"].abs() <= 0.1
    return table


if __name__ == "__main__":
    result = main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(result.round(4))
    print("all targets met" if bool(result[["coverage_ok", "bias_ok"]].all().all()) else
          "some target missed", f"(log L: {np.log(result.index.to_numpy()).round(3).tolist()})")
