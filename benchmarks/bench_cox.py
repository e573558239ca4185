"""Benchmark: ``fit_cox`` against R's ``coxph`` on the shipped registry, timed in one run.

Run: .venv/bin/python benchmarks/bench_cox.py [--calls 200]

Data: ``sa.relapse_frame(sa.load_example())``, complete cases of
``tier + age_at_diagnosis_years + mrss`` (778 lines), relapse as the event (cause 1). Two
cases: rows independent, and ``cluster="patient_id"`` (robust, clustered SE).

Each side is timed per call inside its own language (R: ``bench::mark`` in
``bench_cox.R``, start-up and package loading excluded; Python: ``time.perf_counter`` around
each call), the median of ``--calls`` calls after a warm-up, and the CPU time per call over a
loop of as many calls (immune to waiting for a shared core). The Python calls run before and
after R's and are pooled over both rounds, so a change of machine load in between hurts
neither side. Target: median ratio Python / R at most 1 (min and CPU ratios printed beside).
The coefficients and SEs of the two sides are compared as a check. Without ``Rscript`` the R
side is skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import sclero_analysis as sa

FORMULA = "tier + age_at_diagnosis_years + mrss"
CASES = {"no_cluster": {"cluster": False}, "cluster": {"cluster": "patient_id"}}
R_SCRIPT = Path(__file__).with_name("bench_cox.R")


def registry_lines() -> pd.DataFrame:
    """Return the shipped registry's lines with complete tier, age and mRSS."""
    df = sa.relapse_frame(sa.load_example())
    return df.dropna(subset=["tier", "age_at_diagnosis_years", "mrss"]).reset_index(drop=True)


def python_times(df: pd.DataFrame, calls: int) -> dict[str, tuple[list[float], float]]:
    """Per case: each ``fit_cox`` call's wall seconds and CPU seconds per call (after a warm-up)."""
    out = {}
    for case, options in CASES.items():
        for _ in range(20):
            sa.fit_cox(df, FORMULA, **options)
        times = []
        cpu = time.process_time()
        for _ in range(calls):
            start = time.perf_counter()
            sa.fit_cox(df, FORMULA, **options)
            times.append(time.perf_counter() - start)
        out[case] = times, (time.process_time() - cpu) / calls
    return out


def timing_row(label: str, first, second, r: dict | None) -> str:
    """One printed row: median, min and CPU per call of both sides (ms) and their ratios."""
    wall = first[0] + second[0]
    python = {"median_ms": np.median(wall) * 1e3, "min_ms": np.min(wall) * 1e3,
              "cpu_ms": (first[1] + second[1]) / 2 * 1e3}
    cells = []
    for key in ("median_ms", "min_ms", "cpu_ms"):
        if r is None:
            cells.append(f"{python[key]:8.2f}{'-':>8}{'-':>7}")
        else:
            cells.append(f"{python[key]:8.2f}{r[key]:8.2f}{python[key] / r[key]:7.2f}")
    verdict = "" if r is None else ("met" if python["median_ms"] <= r["median_ms"] else "NOT met")
    return f"{label:<12}" + " |".join(cells) + f" | {verdict}"


def r_results(df: pd.DataFrame, calls: int) -> dict | None:
    """R's medians (ms), coefficients and SEs, or None when Rscript is not installed."""
    if shutil.which("Rscript") is None:
        print("R side skipped: Rscript is not installed")
        return None
    with tempfile.TemporaryDirectory() as folder:
        data, result = Path(folder) / "lines.csv", Path(folder) / "r.json"
        columns = ["patient_id", "time_months", "event", "tier", "age_at_diagnosis_years", "mrss"]
        df[columns].to_csv(data, index=False)
        run = subprocess.run(["Rscript", str(R_SCRIPT), str(data), str(result), str(calls)],
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            print(f"R side skipped: {run.stderr.strip()[-300:]}")
            return None
        return json.loads(result.read_text())


def main() -> None:
    """Time both sides and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="timed calls per case and side")
    calls = parser.parse_args().calls
    df = registry_lines()
    first = python_times(df, calls)
    r = r_results(df, calls)
    second = python_times(df, calls)
    print(f"fit_cox('{FORMULA}') on {len(df)} lines of the shipped registry: wall time per call "
          f"(median and min of {2 * calls} Python and {calls} R calls) and CPU time per call, ms")
    print(f"{'case':<12}{'median: python':>16}{'R':>6}{'ratio':>8} |{'min: python':>12}{'R':>6}"
          f"{'ratio':>7} |{'CPU: python':>12}{'R':>6}{'ratio':>7} | target median ratio <= 1")
    for case in CASES:
        print(timing_row(case, first[case], second[case], None if r is None else r[case]))
    if r is not None:
        for case, options in CASES.items():
            fit = sa.fit_cox(df, FORMULA, **options)
            coef_diff = np.max(np.abs(fit.summary["coef"].to_numpy() - r[case]["coef"]))
            se_diff = np.max(np.abs(fit.summary["se"].to_numpy() - r[case]["se"]))
            print(f"{case}: max |coef - R| {coef_diff:.1e}, max |se - R| {se_diff:.1e}")
        print(f"R timer: {r['no_cluster']['timer']}; {r['versions']['R']}, "
              f"survival {r['versions']['survival']}")

if __name__ == "__main__":
    main()
