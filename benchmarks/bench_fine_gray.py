"""Benchmark: ``fit_fine_gray`` against ``cmprsk::crr`` on the same data, timed in one run.

Run: .venv/bin/python benchmarks/bench_fine_gray.py [--quick]

Prints, for n = 1,000 and 5,000 subjects (three covariates, times in whole days so that there
are ties, about 40% cause 1, 25% competing, 35% censored):

1. ``fit_fine_gray`` seconds (best of several runs, the whole call: formula, checks, fit and
   crr's sandwich variance), ``crr``'s seconds timed inside R by ``bench_fine_gray.R``
   (best of several runs; start-up and package loading excluded), the ratio ours / crr
   (target <= 0.5) and the largest coefficient and SE differences. Skipped, with a message,
   when ``Rscript`` or cmprsk is absent.
2. n = 20,000 in a fresh process: seconds of one call and the process's peak resident memory
   (``resource.getrusage``), targets < 2 s and < 400 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sclero_analysis.survival.fine_gray import fit_fine_gray

R_SCRIPT = Path(__file__).with_name("bench_fine_gray.R")
FORMULA = "a + b + c"
TARGET_RATIO, TARGET_SECONDS, TARGET_MB = 0.5, 2.0, 400


def registry(n: int, seed: int = 1) -> pd.DataFrame:
    """Return n subjects: a binary, a normal and a uniform covariate; times in days, as months."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.integers(0, 2, n).astype(float), rng.normal(size=n), rng.uniform(size=n)
    time_months = np.ceil(rng.exponential(20, n) * np.exp(-0.4 * a + 0.2 * b) * 30.4375) / 30.4375
    event = rng.choice([0, 1, 2], size=n, p=[0.35, 0.40, 0.25])
    return pd.DataFrame({"time_months": time_months, "event": event, "a": a, "b": b, "c": c})


def best_seconds(work, runs: int) -> float:
    """Best wall time of ``runs`` calls (the machine is shared: the best is the least disturbed)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def crr(df: pd.DataFrame, runs: int) -> dict | None:
    """Return crr's best seconds, coefficients and SEs from ``bench_fine_gray.R`` (None without R)."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        data, out = Path(folder) / "data.csv", Path(folder) / "out.json"
        df.to_csv(data, index=False, float_format="%.17g")
        run = subprocess.run(["Rscript", str(R_SCRIPT), str(data), str(runs), str(out)],
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            print(f"   crr failed: {run.stderr.strip()[-200:]}")
            return None
        return json.loads(out.read_text())


def bench_against_crr(quick: bool) -> None:
    """Print our time, crr's and the ratio at n = 1,000 and 5,000."""
    print("1. fit_fine_gray vs cmprsk::crr (best of several runs each; the same data)")
    print(f"{'n':>6} {'ours s':>9} {'crr s':>9} {'ours/crr':>9} {'target':>7} {'|coef diff|':>12} "
          f"{'|se diff|':>10}")
    fit_fine_gray(registry(50), FORMULA)  # warm up imports
    for n in (1000, 5000):
        df = registry(n)
        fit = fit_fine_gray(df, FORMULA)
        ours = best_seconds(lambda df=df: fit_fine_gray(df, FORMULA), 3 if quick else (7 if n < 5000 else 5))
        ref = crr(df, 1 if quick else (5 if n < 5000 else 2))
        if ref is None:
            print(f"{n:>6} {ours:>9.4f}   crr: Rscript or cmprsk not available")
            continue
        ratio = ours / ref["seconds"]
        coef_diff = np.max(np.abs(fit.summary["coef"].to_numpy() - ref["coef"]))
        se_diff = np.max(np.abs(fit.summary["se"].to_numpy() - ref["se"]))
        print(f"{n:>6} {ours:>9.4f} {ref['seconds']:>9.4f} {ratio:>9.3f} "
              f"{'met' if ratio <= TARGET_RATIO else 'MISSED':>7} {coef_diff:>12.1e} {se_diff:>10.1e}")


LARGE = """
import resource, sys, time
sys.path.insert(0, {bench!r})
from bench_fine_gray import FORMULA, registry
from sclero_analysis.survival.fine_gray import fit_fine_gray
df = registry({n})
fit_fine_gray(df.head(50), FORMULA)
start = time.perf_counter()
fit_fine_gray(df, FORMULA)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_large(n: int = 20_000) -> None:
    """Print seconds and peak RSS of one fit at n = 20,000 in a fresh process."""
    print(f"\n2. n = {n:,} in a fresh process (one call after a warm-up on 50 rows)")
    script = LARGE.format(bench=str(Path(__file__).parent), n=n)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    seconds, rss_kb = out.stdout.split()[-2:]
    seconds, mb = float(seconds), int(rss_kb) / 1024
    print(f"   {seconds:.3f} s ({'met' if seconds < TARGET_SECONDS else 'MISSED'} < {TARGET_SECONDS:.0f} s), "
          f"peak RSS {mb:.0f} MB ({'met' if mb < TARGET_MB else 'MISSED'} < {TARGET_MB} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    args = parser.parse_args()
    bench_against_crr(args.quick)
    bench_large()
